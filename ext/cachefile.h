/* SPDX-License-Identifier: MIT */
/*
** cachefile.h - the persistent parse cache: a SQLite database holding the
** compact records (record.h) of parsed files and the listings of folders,
** each with the identity of the version it describes, so that a new process
** over an unchanged archive starts warm.
**
**   eventmd_config('cache_file', PATH)   or   EVENTMD_CACHE_FILE=PATH
**
** Nothing read from the file is trusted as it is: a record is checked
** (emd_rec_check) and still has to match the file's stat() (cache.h) before
** it is shown; a record of a version read within EMD_RACY_NS of a change
** carries the hash of its bytes, compared before use.
**
** The file is eventmd's own: a SQLite database whose application_id is
** EMD_CACHEFILE_APP_ID and whose user_version is the format.  A path that
** holds anything else (another database, any other file, a folder) is
** refused and never written; an empty file is taken over.  An eventmd cache
** file that is corrupt, truncated or of a newer or older format is rebuilt
** (removed with its -wal and -shm files and made again), never trusted.
**
** Several processes may share one file: WAL mode, readers never wait for a
** writer; writes are queued (emd_cachefile_put) and written by
** emd_cachefile_flush() in short transactions; a writer that finds the file
** busy gives up at once and keeps its queue (bounded) for the next flush, so
** no process waits on another's long scan.
**
** Threads: every function may be called from any thread (the connection's
** and its read-ahead workers); readers use a small pool of read-only
** connections to the file, the writer its own.  All of them are SQLite
** connections opened by eventmd itself, outside the user's database.
** Memory: the C library's for records handed out (the cache copies them).
*/
#ifndef EVENTMD_CACHEFILE_H
#define EVENTMD_CACHEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "record.h"

#define EMD_CACHEFILE_APP_ID 0x454d4443 /* "EMDC" */
#define EMD_CACHEFILE_FORMAT 3          /* user_version of this layout */
#define EMD_CACHEFILE_FLUSH_AT ((size_t)8 << 20) /* a scan flushes past this */

typedef struct emd_cachefile emd_cachefile;

/* Open path as eventmd's cache file, creating it when it does not exist.
** SQLITE_OK with *out set; otherwise an SQLite error code with *errmsg a
** message for the user (sqlite3_malloc'd) that names the path, e.g.
** "eventmd: cache file '/x' holds something else: not used". */
int emd_cachefile_open(emd_cachefile **out, const char *path, char **errmsg);

/* Write what is queued (as far as the file is not busy), then close. */
void emd_cachefile_close(emd_cachefile *cf);

/* The path as given. */
const char *emd_cachefile_path(const emd_cachefile *cf);

/* What the file holds for the file key: SQLITE_ROW with *id (the version it
** describes), *content_hash and *racy (see cache.h), and *rec (a checked
** copy, malloc'd: the caller frees it with free()), SQLITE_DONE when it
** holds nothing usable (nothing, or something that fails the check), or
** SQLITE_NOMEM. */
int emd_cachefile_get(emd_cachefile *cf, const emd_fkey *key, emd_ident *id,
                      uint64_t *content_hash, int *racy, emd_rec **rec);

/* A folder's records at once: a scan that reads the files of folder
** fdev/fino from the cache file asks for them together (one statement, one
** pass over the primary key) instead of one by one.  NULL when there are
** too many (over 16 MiB: then one by one), none usable, or no memory.
** emd_cfdir_get answers as emd_cachefile_get does, for a file of that
** folder, from what was fetched, but *rec points into the batch (checked,
** valid while the batch lives: not to be freed), and SQLITE_NOTFOUND when
** the batch cannot tell (ask emd_cachefile_get).  The batch is read-only:
** any thread. */
typedef struct emd_cfdir emd_cfdir;
emd_cfdir *emd_cachefile_folder(emd_cachefile *cf, uint64_t fdev,
                                uint64_t fino);
int emd_cfdir_get(emd_cachefile *cf, const emd_cfdir *d, const emd_fkey *key,
                  emd_ident *id, uint64_t *content_hash, int *racy,
                  const emd_rec **rec);
void emd_cfdir_free(emd_cfdir *d);

/* Warming (warm.c): the records written, in the order they were written,
** from just after position *after (0: the start), at most max of them, each
** handed to fn (rec: n bytes of SQLite's memory, any alignment, valid during
** the call; nothing is checked but its size).  fn returns nonzero to stop.
** *after moves on past each row read.  Rows of versions read within the
** timestamps' grain are left out.  SQLITE_ROW when max rows were read (more
** may follow), SQLITE_DONE at the end, when fn stopped or when the file is
** not in use; otherwise an SQLite error code.  The order is about the order
** a first scan parsed the files, so reading ahead this way keeps pace with
** the next scan's walk with one sequential read of the table. */
typedef int emd_cachefile_fn(void *ctx, const emd_fkey *key,
                             const emd_ident *id, const void *rec, size_t n);
int emd_cachefile_each(emd_cachefile *cf, int64_t *after, int max,
                       emd_cachefile_fn *fn, void *ctx);

/* Queue the record of version id of file key for writing (copied). */
void emd_cachefile_put(emd_cachefile *cf, const emd_fkey *key,
                       const emd_ident *id, uint64_t content_hash, int racy,
                       const emd_rec *rec);

/* Queue "the file key is gone / changed": its row is removed at the next
** flush (a stale row would only cost a check, but space is kept tidy). */
void emd_cachefile_forget(emd_cachefile *cf, const emd_fkey *key);

/* Folder listings: a folder's sorted listing (foldersums.h's encoding,
** opaque here) for identity dev/ino and times mtime/ctime.  get gives
** SQLITE_ROW with *listing (malloc'd), *len, *count, or SQLITE_DONE when
** nothing matches those times, or SQLITE_NOMEM. */
int emd_cachefile_get_folder(emd_cachefile *cf, uint64_t dev, uint64_t ino,
                             int64_t mtime_ns, int64_t ctime_ns, char **listing,
                             size_t *len, size_t *count);
void emd_cachefile_put_folder(emd_cachefile *cf, uint64_t dev, uint64_t ino,
                              int64_t mtime_ns, int64_t ctime_ns,
                              const char *listing, size_t len, size_t count);

/* Every folder listing the file holds, each handed to fn (listing: len
** bytes, valid during the call, unchecked; count entries); fn returns
** nonzero to stop.  SQLITE_DONE, or an SQLite error code.  A new process
** takes them in one pass instead of asking folder by folder. */
typedef int emd_cachefile_listing_fn(void *ctx, uint64_t dev, uint64_t ino,
                                     int64_t mtime_ns, int64_t ctime_ns,
                                     const void *listing, size_t len,
                                     size_t count);
int emd_cachefile_each_listing(emd_cachefile *cf, emd_cachefile_listing_fn *fn,
                               void *ctx);

/* Write what is queued, in short transactions.  Called at the end of a
** statement; never waits more than a few milliseconds for the file. */
void emd_cachefile_flush(emd_cachefile *cf);

/* Bytes queued for writing now.  The queue holds at most 64 MiB (beyond
** it puts are dropped and counted), less than one full first scan of a
** large archive queues: a long statement should flush part-way, e.g. when
** this passes 8 MiB (a flush with an empty queue costs nothing). */
size_t emd_cachefile_queued(emd_cachefile *cf);

/* Counters for eventmd_stats(). */
typedef struct emd_cachefile_stats {
  uint64_t hits;    /* records found and handed out */
  uint64_t misses;  /* asks with nothing usable */
  uint64_t written; /* records written */
  uint64_t dropped; /* queued writes given up (file busy, queue full) */
  uint64_t rebuilt; /* times the file was found unusable and made again */
  uint64_t warmed;  /* records handed to warming (emd_cachefile_each) */
} emd_cachefile_stats;
void emd_cachefile_get_stats(emd_cachefile *cf, emd_cachefile_stats *out);

#endif /* EVENTMD_CACHEFILE_H */
