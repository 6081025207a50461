/* SPDX-License-Identifier: MIT */
/*
** cache.h - the parsed-file cache the four tables of a connection share,
** and the one place that decides whether a cached parse is still the file.
**
** An entry holds one version of one file in compact form (record.h): only
** what the tables show.  Key: the file's folder (device and inode) and its
** name, so every root that reaches a folder shares its entries.  An entry
** is the file while its identity (device, inode, size, modification and
** change time in ns, emd_ident) is what the file's stat() says; when the
** folder's watch (watch.h) says nothing changed since the entry was last
** checked, not even the stat() is needed.
**
** Asking: the caller fills an emd_check with what it knows and calls
** emd_cache_get(), which answers
**
**   EMD_CACHE_HIT    *out is the file (a new reference)
**   EMD_CACHE_STAT   stat() the file and ask again with st
**   EMD_CACHE_BYTES  the version was read within the timestamps' grain of
**                    a change: read the file and ask again with its bytes
**   EMD_CACHE_MISS   nothing valid: read and parse it, then emd_cache_put()
**
** so a caller stats at most once, reads at most once and parses at most
** once per file.  A file changed within RACY_NS of being read (timestamps
** tick coarsely, so a second change could leave them as they are) is
** trusted again only after its bytes hash alike.
**
** Bound and policy: at most `limit` bytes (entries, names and records).
** Eviction takes the oldest entry not asked for since it last came round
** (CLOCK: a hit only sets a flag; O(1) amortised); admission is
** frequency-based (a small count-min sketch of recent asks): a new entry
** displaces the victim only when it has been asked for more often, so a
** looping scan over more files than fit keeps a stable resident part
** instead of evicting each file just before it is needed again.  limit 0
** turns caching off (emd_cache_put() still returns an entry, uncached).
**
** Entries are reference counted (atomically): a cursor keeps the entry it
** shows even after eviction.  A mutex guards the cache, which a
** connection's thread and its read-ahead workers share.  Memory: the C
** library's malloc (workers allocate in parallel; SQLite's allocator would
** serialise them), bounded by `limit`, with a fault hook for tests.
*/
#ifndef EVENTMD_CACHE_H
#define EVENTMD_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "record.h"
#include "watch.h"

/* Identity of one version of a file. */
typedef struct emd_ident {
  uint64_t dev;     /* device */
  uint64_t ino;     /* inode */
  int64_t size;     /* bytes */
  int64_t mtime_ns; /* modification time */
  int64_t ctime_ns; /* change time */
} emd_ident;

void emd_ident_of(emd_ident *out, const struct stat *st);
int emd_ident_eq(const emd_ident *a, const emd_ident *b);

/* Where a file is: its folder's identity and its name (not NUL-terminated
** necessarily). */
typedef struct emd_fkey {
  uint64_t fdev;    /* the folder's device */
  uint64_t fino;    /* the folder's inode */
  const char *name; /* the file's name in it */
  uint32_t namelen; /* its length */
  uint64_t hash;    /* the key's hash when known (emd_cache_prefetch sets
                       it), else 0 */
} emd_fkey;

/* One cached version of a file. */
typedef struct emd_centry emd_centry;

const emd_rec *emd_centry_rec(const emd_centry *e);
const emd_ident *emd_centry_ident(const emd_centry *e);
emd_centry *emd_centry_ref(emd_centry *e);
/* Can its folder's watch vouch for it (not read within the timestamps'
** grain of a change, no other names)?  What is worked out from it may be
** kept while the watch says unchanged only when this says so. */
int emd_centry_watchable(const emd_centry *e);
void emd_centry_release(emd_centry *e);

/* What the caller knows of a file when it asks. */
typedef struct emd_check {
  emd_fkey key;          /* the file */
  const emd_wdir *wdir;  /* its folder's watch, or NULL */
  uint64_t moment;       /* emd_watch_now() taken before st (or the read) */
  const struct stat *st; /* its stat(), or NULL when not taken */
  const char *bytes;     /* its bytes when read, or NULL */
  size_t len;            /* bytes read */
} emd_check;

enum { EMD_CACHE_HIT, EMD_CACHE_MISS, EMD_CACHE_STAT, EMD_CACHE_BYTES };

typedef struct emd_cache emd_cache;

/* A new cache bounded at limit bytes, or NULL.  hook, when not NULL, is
** asked before every allocation and a nonzero answer makes it fail (the
** out-of-memory test). */
emd_cache *emd_cache_new(size_t limit, int (*hook)(void));
void emd_cache_free(emd_cache *c);
void emd_cache_set_limit(emd_cache *c, size_t limit);

/* Ask for a file (see above); *out is set on EMD_CACHE_HIT only. */
int emd_cache_get(emd_cache *c, const emd_check *q, emd_centry **out);

/* The same ask, answered only when the answer needs nothing from disk: a
** hit the watch vouches for (EMD_CACHE_HIT, counted as emd_cache_get
** counts it).  Otherwise EMD_CACHE_STAT and nothing is counted: the caller
** asks again with emd_cache_get() where it does the work (a read-ahead
** worker), so each ask is counted once. */
int emd_cache_get_vouched(emd_cache *c, const emd_check *q, emd_centry **out);

/* Would emd_cache_get_vouched() answer EMD_CACHE_HIT now?  Nothing is
** counted or changed (a lookup by path asks before it reaches the file). */
int emd_cache_vouches(emd_cache *c, const emd_check *q);

/* A hint: the files keys[0..n) will be asked for next.  Brings their hash
** chains, then their entries' first lines, into the CPU's cache, so that
** the memory waits of a batch overlap instead of coming one by one.
** Changes nothing in the cache and counts nothing; sets each key's hash,
** so that the asks that follow need not work it out again. */
#define EMD_PREFETCH_MAX 64
void emd_cache_prefetch(emd_cache *c, emd_fkey *keys, size_t n);

/* The parse rec of the version id of the file q->key (read with q->bytes,
** q->len), as an entry: cached when the policy admits it, otherwise
** private to the caller.  A new reference; NULL when out of memory. */
emd_centry *emd_cache_put(emd_cache *c, const emd_check *q, const emd_ident *id,
                          const emd_rec *rec);

/* The same entry, never cached: private to the caller, freed with its last
** reference (a record asked of the cache file one by one, or one a scan
** keeps beyond the row that showed it, while warming fills the cache). */
emd_centry *emd_cache_entry(emd_cache *c, const emd_check *q,
                            const emd_ident *id, const emd_rec *rec);

/* Warming from the persistent cache (warm.c): the record of n bytes at rec
** (any alignment; copied once, then checked with emd_rec_check) of version
** id of the file key, as an entry no stat() has checked yet (the first ask
** with one does).  Cached only when the key is not there and it fits
** without evicting anything: warming never displaces what a scan put.
** EMD_WARM_CACHED, EMD_WARM_SKIPPED (there already, changed within the
** timestamps' grain, or not a valid record) or EMD_WARM_FULL (no room, or
** out of memory: stop warming). */
enum { EMD_WARM_CACHED, EMD_WARM_SKIPPED, EMD_WARM_FULL };
int emd_cache_warm(emd_cache *c, const emd_fkey *key, const emd_ident *id,
                   const void *rec, size_t n);

/* Counters. */
typedef struct emd_cache_stats {
  uint64_t hits;     /* asks answered from the cache */
  uint64_t misses;   /* asks that found nothing valid */
  uint64_t unstated; /* hits that needed no stat() (the watch vouched) */
  uint64_t rejected; /* parses the policy did not admit */
  uint64_t evicted;  /* entries evicted for room */
  uint64_t entries;  /* entries now */
  uint64_t bytes;    /* bytes now */
  uint64_t limit;    /* the bound */
} emd_cache_stats;
void emd_cache_get_stats(emd_cache *c, emd_cache_stats *out);
void emd_cache_reset_stats(emd_cache *c);

/* 1 when st's mtime or ctime is so recent that a further change could
** leave them as they are (RACY_NS). */
int emd_stat_racy(const struct stat *st);

/* The clock the racy rule reads (CLOCK_REALTIME, ns); tests set their own
** with emd_cache_set_clock() (NULL: the real one). */
int64_t emd_cache_now_ns(void);
void emd_cache_set_clock(int64_t (*now_ns)(void));

/* Timestamps tick coarsely: a version changed within this long of being
** read may change again without its times moving. */
#define EMD_RACY_NS ((int64_t)2000000000)

#endif /* EVENTMD_CACHE_H */
