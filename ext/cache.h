/*
** cache.h - the parsed-file cache shared by the four tables of a connection.
**
** Key: root and root-relative path.  An entry is valid only while the file's
** device, inode, size, modification time and change time (nanoseconds) are
** what they were when it was read; every lookup passes the file's current
** stat() and a mismatch drops the entry.  The cache holds at most `limit`
** bytes (the parsed events plus bookkeeping) and evicts the least recently
** used entry first; limit 0 turns it off.
**
** Entries are reference counted (atomically): a cursor keeps the entry it is
** showing even when the cache evicts it.  A mutex guards the cache, which the
** connection's thread and its read-ahead workers share.
*/
#ifndef EVENTMD_CACHE_H
#define EVENTMD_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "record.h"

typedef struct emd_parsed {
  const emd_rec *rec; /* the parsed file (stored after the key) */
  dev_t dev;         /* identity of the version parsed */
  ino_t ino;
  off_t size; /* bytes read */
  int64_t mtime_ns;
  int64_t ctime_ns;
  int racy;              /* read within the timestamps' granularity of a
                            change: valid only if the bytes still hash alike */
  uint64_t content_hash; /* hash of the bytes read (racy entries) */
  int refs;              /* holders: the cache and cursors */
  /* cache bookkeeping */
  char *key; /* root '\0' relpath (stored after the struct) */
  size_t keylen;
  uint64_t hash;
  size_t bytes; /* what this entry counts against the limit */
  struct emd_parsed *hnext, *prev, *next;
  int cached; /* in the cache now */
} emd_parsed;

typedef struct emd_cache emd_cache;

emd_cache *emd_cache_new(size_t limit);
void emd_cache_free(emd_cache *c);
void emd_cache_set_limit(emd_cache *c, size_t limit);
size_t emd_cache_limit(emd_cache *c);
size_t emd_cache_bytes(emd_cache *c);
size_t emd_cache_count(emd_cache *c);

/* A new entry holding a copy of rec for the version described by st, stored
** under key; refs = 1.  NULL on out-of-memory.
**
** Parsed events and their entries are the parser's memory: the C library's
** malloc, not SQLite's.  Read-ahead workers make them in parallel, and
** SQLite's allocator would serialise them on its global mutex.  The
** cache's own bound (cache_bytes) limits them. */
emd_parsed *emd_parsed_new(const emd_rec *rec, const struct stat *st,
                           off_t size, const char *key, size_t keylen);
emd_parsed *emd_parsed_ref(emd_parsed *p);
void emd_parsed_release(emd_parsed *p);

/* The entry for key if its identity matches st (a new reference), else NULL
** (a stale entry is dropped). */
emd_parsed *emd_cache_get(emd_cache *c, const char *key, size_t keylen,
                          const struct stat *st);

/* The entry stored under key, whatever version it describes (a new
** reference; the caller checks it with emd_parsed_matches), or NULL.  A
** scan that gets NULL opens the file directly instead of stat()ing first. */
emd_parsed *emd_cache_peek(emd_cache *c, const char *key, size_t keylen);

/* Store p under key (the cache takes its own reference).  Out of memory or a
** zero limit just leaves p out. */
void emd_cache_put(emd_cache *c, const char *key, size_t keylen, emd_parsed *p);

/* 1 when st's mtime or ctime is so recent that a further change could
** leave them unchanged (timestamps tick coarsely).  Such a version is only
** trusted again after its bytes are compared. */
int emd_stat_racy(const struct stat *st);

/* 1 when st describes the version p was read from. */
int emd_parsed_matches(const emd_parsed *p, const struct stat *st);

#endif /* EVENTMD_CACHE_H */
