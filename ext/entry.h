/* SPDX-License-Identifier: MIT */
/*
** entry.h - one entry of a scan: an event file (or a folder or special file
** that gets a row with a problem), and the work of turning it into a row:
** ask the cache, stat() when it asks for that, and read and parse the file
** when it has nothing valid.  The cache alone decides whether what it holds
** is still the file (cache.h).
**
** Processing an entry touches only the entry, the caller's scratch and the
** connection's cache and counters (both thread-safe), so read-ahead workers
** process entries in parallel (readahead.c).
*/
#ifndef EVENTMD_ENTRY_H
#define EVENTMD_ENTRY_H

#include <sys/stat.h>

#include "cache.h"
#include "conn.h"
#include "eventmd.h"
#include "readfile.h"
#include "text.h"
#include "walk.h"

/* Per-thread scratch memory, reused from one entry to the next. */
typedef struct emd_scratch {
  eventmd_parser *parser; /* cmark arena and row buffers */
  emd_buf rbuf;           /* file bytes */
} emd_scratch;

void emd_scratch_free(emd_scratch *s);

/* What processing needs to know about the scan; read-only while it runs. */
typedef struct emd_scan_ctx {
  emd_conn *conn;        /* cache, counters */
  const char *root_real; /* realpath of root when following links, or NULL */
  size_t max_size;       /* files larger than this are not read */
  int follow_symlinks;   /* the table follows symbolic links */
  int want_parse;        /* the query shows parsed columns */
  int want_markdown;     /* the query shows the file's text */
  int want_stat;         /* the query shows size or mtime */
  int folder_batches;    /* records missing from memory are asked of the
                            cache file a folder at a time (a walk: most
                            files of a folder are read together) */
} emd_scan_ctx;

/* Slot states, for the read-ahead ring. */
enum { EMD_SLOT_EMPTY, EMD_SLOT_READY, EMD_SLOT_DONE };

typedef struct emd_entry {
  int kind;            /* EMD_ITEM_* */
  char *buf;           /* relpath, NUL, disp, NUL (kept between uses) */
  size_t bufcap;       /* bytes allocated for buf */
  const char *relpath; /* root-relative path as on disk, in buf */
  size_t relpath_len;  /* its length */
  const char *disp;    /* "/" + relpath, U+FFFD for bad bytes, in buf */
  int disp_len;        /* its length */
  int name_bad;        /* relpath is not valid UTF-8 */
  const char *name;    /* file name, inside relpath */
  emd_dir *dir;        /* folder holding the file (a reference) */
  uint64_t khash;      /* its cache key's hash once known, else 0 */
  int follow;          /* name is a link the table follows */
  int err;             /* errno of an EMD_ITEM_FOLDER entry */
  int have_stat;       /* st is set */
  struct stat st;      /* the file's stat() (of the version shown) */
  char path_date[EMD_DATE_BUF]; /* date of the path, or "" */
  int daypage; /* a day page: parsed for its links (folder.c) */
  char heading_date[EMD_DATE_BUF]; /* the heading's date, when shown */
  int prepared;        /* asked of the cache / read / parsed as needed */
  emd_centry *ce;      /* the parsed file (a reference), or NULL */
  const emd_rec *brec; /* or, with ce NULL, its record where the cache
                          file's folder batch holds it (e->dir keeps the
                          batch): taken without a copy */
  int read_status;     /* EMD_READ_* of the read attempt */
  int read_err;        /* errno of EMD_READ_ERROR */
  char *markdown;      /* file text, when the query shows it (owned) */
  size_t markdown_len; /* its length */
  int gone;            /* vanished since the walk: no row */
  int rc;              /* SQLite error met while processing */
  int state;           /* EMD_SLOT_* (atomic) */
} emd_entry;

/* The parsed file of e, or NULL. */
static inline const emd_rec *emd_entry_rec(const emd_entry *e) {
  return e->ce ? emd_centry_rec(e->ce) : e->brec;
}

/* e's parse as an entry of its own (a new reference: e keeps nothing of
** it), for keeping beyond e; NULL when e has none or out of memory. */
emd_centry *emd_entry_take_parse(const emd_scan_ctx *sc, emd_entry *e);

/* Set e from a path; takes a reference to dir.  day: the path's date
** ("YYYY-MM-DD", or "" for none) when the caller knows it (a walk does),
** else NULL: it is worked out from the path.  SQLITE_OK or SQLITE_NOMEM. */
int emd_entry_set(emd_entry *e, int kind, const char *relpath, size_t len,
                  size_t name_off, emd_dir *dir, int follow, int err,
                  const char *day);

/* Drop what e holds but keep its buffer for the next use. */
void emd_entry_reset(emd_entry *e);

/* Release everything. */
void emd_entry_free(emd_entry *e);

/* Do what the scan needs for e (stat, parse, text).  Sets e->gone or
** e->rc. */
void emd_entry_process(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s);

/* Did e's parse come from its folder's batch of cache file records (a scan
** of a new process)?  Then the next folder's batch is worth fetching ahead
** with emd_entry_batch_ahead(), by a thread that would otherwise wait for
** it later (nothing happens when another thread has started it, or when
** the scan does not ask the cache file a folder at a time). */
int emd_entry_used_batch(const emd_entry *e);
void emd_entry_batch_ahead(const emd_scan_ctx *sc, emd_dir *d);

/* Process e as emd_entry_process() would when that needs nothing from disk
** (a folder's row, or a parse the cache has and the watch vouches for):
** 1 when done, 0 when e needs the real thing (it is left as it was). */
int emd_entry_process_fast(const emd_scan_ctx *sc, emd_entry *e);

/* Does cache (an emd_cache) hold file name of folder as it is now, as the
** folder's watch vouches?  The walk options' known_file (walk.h). */
int emd_entry_known_file(void *cache, const emd_dir *folder, const char *name);

/* A hint that es[0..n) will be processed next: the cache brings what it
** holds for them into the CPU's cache (emd_cache_prefetch). */
void emd_entries_prefetch(const emd_scan_ctx *sc, emd_entry *const *es,
                          size_t n);

/* Parse e now (a column needs it), with its text when want_markdown.
** SQLITE_OK or an error. */
int emd_entry_prepare(const emd_scan_ctx *sc, emd_entry *e, emd_scratch *s,
                      int want_markdown);

/* Text of e's problem ("; "-joined parts) into a new sqlite3 string, or
** NULL with *nomem = 0 when clean. */
char *emd_entry_problem(const emd_entry *e, int *nomem);

#endif /* EVENTMD_ENTRY_H */
