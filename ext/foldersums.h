/* SPDX-License-Identifier: MIT */
/*
** foldersums.h - folder listings and summaries kept per connection.
**
** Two facts about a folder outlive a scan:
**
**   its listing    the sorted entries the walk read with getdents(): an
**                  unchanged folder is not listed again
**   date-only      a year or month folder holding nothing but date folders:
**                  a date constraint that misses its range skips it unopened
**
** A fact is valid while the folder is unchanged: its watch (watch.h) says
** so, or, without a watch, its mtime and ctime are what they were (trusted
** only when the folder had not changed within EMD_RACY_NS of the listing:
** timestamps tick coarsely).  Memory: SQLite's, bounded (a share of the
** parse cache's bound, set by the connection); at the bound everything is
** dropped and relearnt.
*/
#ifndef EVENTMD_FOLDERSUMS_H
#define EVENTMD_FOLDERSUMS_H

#include <stddef.h>
#include <stdint.h>

#include "watch.h"

/* One entry of a folder listing. */
typedef struct emd_listent {
  const char *name;   /* NUL-terminated */
  uint32_t len;       /* strlen(name), at most 255 */
  unsigned char type; /* DT_DIR, DT_REG, DT_LNK, DT_FIFO, ... */
  unsigned char bad;  /* the name is not valid UTF-8 */
} emd_listent;

/* A folder as it was when listed. */
typedef struct emd_folderid {
  uint64_t dev, ino;          /* identity */
  int64_t mtime_ns, ctime_ns; /* its times then */
  const emd_wdir *wdir;       /* its watch, or NULL */
  uint64_t moment;            /* emd_watch_now() before it was listed */
} emd_folderid;

/* What kind of date folder a folder is. */
enum { EMD_FOLDER_OTHER, EMD_FOLDER_YEAR, EMD_FOLDER_MONTH };

typedef struct emd_foldersums emd_foldersums;
struct emd_cachefile;

emd_foldersums *emd_foldersums_new(void);
void emd_foldersums_free(emd_foldersums *s);
/* Bound the listings kept (bytes); 0 keeps nothing at all. */
void emd_foldersums_set_limit(emd_foldersums *s, size_t max_bytes);
size_t emd_foldersums_bytes(const emd_foldersums *s);

/* Also keep listings in (and look them up from) the persistent cache
** (cachefile.h), so a new process need not list unchanged folders; NULL:
** none.  The cache file is the connection's (borrowed). */
void emd_foldersums_set_cachefile(emd_foldersums *s, struct emd_cachefile *cf);

/* Remember folder id's sorted listing ents[0..n).  kind EMD_FOLDER_YEAR or
** _MONTH (of `year`, `month`) also records whether it holds only date
** folders. */
void emd_foldersums_record(emd_foldersums *s, const emd_folderid *id,
                           const emd_listent *ents, size_t n, int kind,
                           int year, int month);

/* The listing kept for folder id, when it is still valid: SQLITE_ROW with
** *names and *ents set (emd_malloc, the caller frees both; ents' names
** point into names), SQLITE_DONE when there is none, or SQLITE_NOMEM. */
int emd_foldersums_listing(emd_foldersums *s, const emd_folderid *id,
                           char **names, emd_listent **ents, size_t *n);

/* Is the folder `name` in folder parent (identity pdev/pino, watch pwdir,
** open as dirfd) -- a year folder when year, else a month -- known to hold
** nothing but date folders, unchanged since it was listed?  Looking
** stat()s the folder (and a year's months) and remembers each identity on
** its parent's listing (the folders a listing names, below); _vouched
** answers from that alone, with no system call, while the watches of the
** parent, the folder and its months say nothing changed: 1, or -1 when it
** has to look (then call emd_foldersums_date_only with the parent's
** descriptor). */
int emd_foldersums_date_only_vouched(emd_foldersums *s, uint64_t pdev,
                                     uint64_t pino, const emd_wdir *pwdir,
                                     const char *name, int year);
int emd_foldersums_date_only(emd_foldersums *s, int dirfd, uint64_t pdev,
                             uint64_t pino, const emd_wdir *pwdir,
                             const char *name, int year);

/* The folders a listing names.  Entry idx (name, len bytes) of folder
** pdev/pino's kept listing is the folder dev/ino, as a stat() taken after
** watch moment `moment` found: kid_learnt remembers it, and kid answers 1
** with *dev and *ino while the folder's watch pwdir says nothing in it changed
** since (no name added, removed, renamed or changed), so that a warm walk
** reaches a folder it knows without a stat().  0: not known. */
void emd_foldersums_kid_learnt(emd_foldersums *s, uint64_t pdev, uint64_t pino,
                               const emd_wdir *pwdir, size_t idx,
                               const char *name, size_t len, uint64_t dev,
                               uint64_t ino, uint64_t moment);
int emd_foldersums_kid(emd_foldersums *s, uint64_t pdev, uint64_t pino,
                       const emd_wdir *pwdir, size_t idx, const char *name,
                       size_t len, uint64_t *dev, uint64_t *ino);
/* The same, the entry found by its name. */
int emd_foldersums_kid_named(emd_foldersums *s, uint64_t pdev, uint64_t pino,
                             const emd_wdir *pwdir, const char *name,
                             size_t len, uint64_t *dev, uint64_t *ino);
/* Should folder dev/ino go unwatched for now?  1 the first time this
** process opens a folder whose listing came from the cache file: a new
** process's first scan over an unchanged archive then adds no inotify
** watches (a tenth of its time); the next statement that opens the folder
** watches it. */
int emd_foldersums_defer_watch(emd_foldersums *s, uint64_t dev, uint64_t ino);

#endif /* EVENTMD_FOLDERSUMS_H */
