/* SPDX-License-Identifier: MIT */
/*
** cache.c - the parsed-file cache (see cache.h): a hash table of entries,
** a doubly linked list in the order a CLOCK hand visits them (oldest at the
** tail), and a count-min sketch of how often each file was asked for, which
** decides admission.
*/
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emd.h"
#include "text.h"

struct emd_centry {
  emd_centry *hnext;     /* hash chain */
  emd_centry *prev;      /* LRU list: more recently used */
  emd_centry *next;      /* LRU list: less recently used */
  uint64_t hash;         /* of the key */
  uint64_t fdev, fino;   /* key: the folder */
  emd_ident id;          /* the version parsed */
  uint64_t checked_at;   /* watch moment of the last check against disk */
  uint64_t content_hash; /* hash of the bytes parsed (racy entries) */
  const emd_rec *rec;    /* the record, stored after the name */
  size_t bytes;          /* what the entry counts against the bound */
  int refs;              /* holders: the cache and cursors (atomic) */
  int racy;              /* trusted again only once its bytes match */
  int multilink;         /* had other names when checked: a write through
                             one in another folder is not seen by this
                             folder's watch, so the watch never vouches */
  int cached;            /* in the cache now */
  int referenced;        /* asked for since it last came round (CLOCK) */
  uint32_t namelen;      /* key: the name's length */
  char name[];           /* key: the name, then the record (8-aligned) */
};

/* Counters are updated under the lock and read without it: atomics. */
#define BUMP(c, f) __atomic_fetch_add(&(c)->st.f, 1, __ATOMIC_RELAXED)

/* The frequency sketch: one-byte counters, DEPTH per file, in blocks. */
#define DEPTH 4
#define BLOCK 64        /* bytes: a cache line */
#define SKETCH_MIN 4096 /* counters, at least */
#define AGE_AFTER 10    /* halve every counter after width/DEPTH*10 asks */

struct emd_cache {
  pthread_mutex_t mu; /* the connection's thread and its workers */
  emd_centry **slots; /* hash chains */
  size_t nslots;      /* power of two */
  emd_centry *head;   /* newest (or most recently given a second chance) */
  emd_centry *tail;   /* oldest: where the CLOCK hand looks first */
  size_t limit;       /* bound on bytes; 0 = off */
  uint8_t *sketch;    /* `width` counters, in BLOCK-byte blocks */
  size_t width;       /* power of two, at least BLOCK */
  size_t samples;     /* increments since the last halving */
  int (*hook)(void);  /* fault hook, or NULL */
  emd_cache_stats st; /* counters; entries/bytes/limit kept here too */
};

static int64_t (*clock_fn)(void);

/* ------------------------------------------------------------------------
** Time, identities.
*/
static int64_t ts_ns(const struct timespec *t) {
  return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int64_t emd_cache_now_ns(void) {
  struct timespec now;
  if (clock_fn) return clock_fn();
  clock_gettime(CLOCK_REALTIME, &now);
  return ts_ns(&now);
}

void emd_cache_set_clock(int64_t (*now_ns)(void)) {
  clock_fn = now_ns;
}

int emd_stat_racy(const struct stat *st) {
  int64_t limit = emd_cache_now_ns() - EMD_RACY_NS;
  return ts_ns(&st->st_mtim) > limit || ts_ns(&st->st_ctim) > limit;
}

void emd_ident_of(emd_ident *out, const struct stat *st) {
  out->dev = (uint64_t)st->st_dev;
  out->ino = (uint64_t)st->st_ino;
  out->size = (int64_t)st->st_size;
  out->mtime_ns = ts_ns(&st->st_mtim);
  out->ctime_ns = ts_ns(&st->st_ctim);
}

int emd_ident_eq(const emd_ident *a, const emd_ident *b) {
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

/* ------------------------------------------------------------------------
** Entries.
*/
const emd_rec *emd_centry_rec(const emd_centry *e) {
  return e->rec;
}

const emd_ident *emd_centry_ident(const emd_centry *e) {
  return &e->id;
}

emd_centry *emd_centry_ref(emd_centry *e) {
  if (e) __atomic_fetch_add(&e->refs, 1, __ATOMIC_RELAXED);
  return e;
}

void emd_centry_release(emd_centry *e) {
  if (e && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0) free(e);
}

static uint64_t key_hash(const emd_fkey *k) {
  uint64_t h;
  if (k->hash) return k->hash;
  h = emd_hash64(k->name, k->namelen);
  h ^= k->fino * 0x9E3779B97F4A7C15ULL;
  h ^= k->fdev * 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 29;
  return h;
}

static int key_eq(const emd_centry *e, const emd_fkey *k, uint64_t h) {
  return e->hash == h && e->fino == k->fino && e->fdev == k->fdev &&
         e->namelen == k->namelen && !memcmp(e->name, k->name, k->namelen);
}

/* ------------------------------------------------------------------------
** The cache.
*/
emd_cache *emd_cache_new(size_t limit, int (*hook)(void)) {
  emd_cache *c = emd_malloc(sizeof(*c));
  if (!c) return NULL;
  memset(c, 0, sizeof(*c));
  c->limit = limit;
  c->st.limit = limit;
  c->hook = hook;
  pthread_mutex_init(&c->mu, NULL);
  return c;
}

static void *cache_malloc(emd_cache *c, size_t n) {
  if (c->hook && c->hook()) return NULL;
  return malloc(n);
}

static void lru_unlink(emd_cache *c, emd_centry *e) {
  if (e->prev)
    e->prev->next = e->next;
  else
    c->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    c->tail = e->prev;
  e->prev = e->next = NULL;
}

static void lru_push_front(emd_cache *c, emd_centry *e) {
  e->prev = NULL;
  e->next = c->head;
  if (c->head)
    c->head->prev = e;
  else
    c->tail = e;
  c->head = e;
}

/* Take e out of the cache and drop the cache's reference. */
static void drop(emd_cache *c, emd_centry *e) {
  emd_centry **pp = &c->slots[e->hash & (c->nslots - 1)];
  while (*pp != e) pp = &(*pp)->hnext;
  *pp = e->hnext;
  e->hnext = NULL;
  lru_unlink(c, e);
  __atomic_sub_fetch(&c->st.entries, 1, __ATOMIC_RELAXED);
  __atomic_sub_fetch(&c->st.bytes, e->bytes, __ATOMIC_RELAXED);
  e->cached = 0;
  emd_centry_release(e);
}

/* The next entry to evict: the oldest one not asked for since it last
** came round (CLOCK, as second chance over the list).  Hits only set a flag
** (no list surgery, which would touch two more entries' memory on every
** hit); each flag set by a hit is cleared once here, so this is O(1)
** amortised.  NULL when the cache is empty. */
static emd_centry *victim(emd_cache *c) {
  emd_centry *v;
  while ((v = c->tail) != NULL && v->referenced) {
    v->referenced = 0;
    lru_unlink(c, v);
    lru_push_front(c, v);
  }
  return v;
}

static void shrink_to(emd_cache *c, size_t limit) {
  while (c->st.bytes > limit && c->tail) {
    drop(c, victim(c));
    BUMP(c, evicted);
  }
}

void emd_cache_free(emd_cache *c) {
  if (!c) return;
  shrink_to(c, 0);
  emd_free(c->slots);
  free(c->sketch);
  pthread_mutex_destroy(&c->mu);
  emd_free(c);
}

void emd_cache_set_limit(emd_cache *c, size_t limit) {
  pthread_mutex_lock(&c->mu);
  c->limit = limit;
  __atomic_store_n(&c->st.limit, limit, __ATOMIC_RELAXED);
  shrink_to(c, limit);
  pthread_mutex_unlock(&c->mu);
}

void emd_cache_get_stats(emd_cache *c, emd_cache_stats *out) {
  out->hits = __atomic_load_n(&c->st.hits, __ATOMIC_RELAXED);
  out->misses = __atomic_load_n(&c->st.misses, __ATOMIC_RELAXED);
  out->unstated = __atomic_load_n(&c->st.unstated, __ATOMIC_RELAXED);
  out->rejected = __atomic_load_n(&c->st.rejected, __ATOMIC_RELAXED);
  out->evicted = __atomic_load_n(&c->st.evicted, __ATOMIC_RELAXED);
  out->entries = __atomic_load_n(&c->st.entries, __ATOMIC_RELAXED);
  out->bytes = __atomic_load_n(&c->st.bytes, __ATOMIC_RELAXED);
  out->limit = __atomic_load_n(&c->st.limit, __ATOMIC_RELAXED);
}

void emd_cache_reset_stats(emd_cache *c) {
  __atomic_store_n(&c->st.hits, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&c->st.misses, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&c->st.unstated, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&c->st.rejected, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&c->st.evicted, 0, __ATOMIC_RELAXED);
}

static emd_centry *find(emd_cache *c, const emd_fkey *k, uint64_t h) {
  emd_centry *e;
  if (!c->nslots) return NULL;
  for (e = c->slots[h & (c->nslots - 1)]; e; e = e->hnext)
    if (key_eq(e, k, h)) return e;
  return NULL;
}

/* ------------------------------------------------------------------------
** The frequency sketch (under the lock).
*/
/* A file's DEPTH counters all lie in one 64-byte block of the sketch (one
** cache line: one memory wait per ask, not DEPTH), each in its own quarter
** of the block, at places drawn from a second mix of the key's hash. */
static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

static size_t counter_at(const emd_cache *c, uint64_t m, int r) {
  size_t block = (size_t)m & (c->width / BLOCK - 1);
  size_t in = (size_t)r * (BLOCK / DEPTH) +
              (size_t)((m >> (32 + 4 * r)) & (BLOCK / DEPTH - 1));
  return block * BLOCK + in;
}

/* Make the sketch about sixteen counters per entry (it starts over when it
** grows: history is only a hint). */
static void sketch_fit(emd_cache *c) {
  size_t want = SKETCH_MIN;
  uint8_t *s;
  while (want < DEPTH * 4 * (size_t)c->st.entries) want *= 2;
  if (c->sketch && c->width >= want) return;
  s = cache_malloc(c, want);
  if (!s) return; /* keep the old one (or none: admit freely) */
  memset(s, 0, want);
  free(c->sketch);
  c->sketch = s;
  c->width = want;
  c->samples = 0;
}

static unsigned sketch_estimate(const emd_cache *c, uint64_t h) {
  unsigned m = 255;
  uint64_t x = mix(h);
  int r;
  if (!c->sketch) return 0;
  for (r = 0; r < DEPTH; r++) {
    unsigned v = c->sketch[counter_at(c, x, r)];
    if (v < m) m = v;
  }
  return m;
}

/* Count one ask for h (conservative update), halving everything now and
** then so that old popularity fades. */
static void sketch_touch(emd_cache *c, uint64_t h) {
  unsigned m = sketch_estimate(c, h);
  uint64_t x = mix(h);
  size_t i;
  int r;
  if (!c->sketch || m == 255) return;
  for (r = 0; r < DEPTH; r++) {
    uint8_t *v = &c->sketch[counter_at(c, x, r)];
    if (*v == m) (*v)++;
  }
  if (++c->samples >= AGE_AFTER * c->width / DEPTH) {
    for (i = 0; i < c->width; i++) c->sketch[i] >>= 1;
    c->samples = 0;
  }
}

/* ------------------------------------------------------------------------
** Asking.
*/
int emd_cache_get(emd_cache *c, const emd_check *q, emd_centry **out) {
  uint64_t h = key_hash(&q->key);
  emd_centry *e;
  int answer;
  *out = NULL;
  pthread_mutex_lock(&c->mu);
  sketch_touch(c, h);
  e = find(c, &q->key, h);
  if (!e) {
    answer = EMD_CACHE_MISS;
  } else if (!q->st) {
    /* Without a stat: only the watch can vouch, and never for a version
    ** read within the timestamps' grain. */
    answer =
        !e->racy && !e->multilink && emd_watch_unchanged(q->wdir, e->checked_at)
            ? EMD_CACHE_HIT
            : EMD_CACHE_STAT;
    if (answer == EMD_CACHE_HIT) BUMP(c, unstated);
  } else {
    emd_ident now;
    emd_ident_of(&now, q->st);
    if (!emd_ident_eq(&now, &e->id)) {
      drop(c, e); /* another version */
      answer = EMD_CACHE_MISS;
    } else if (e->racy && !q->bytes) {
      answer = EMD_CACHE_BYTES;
    } else if (e->racy && emd_hash64(q->bytes, q->len) != e->content_hash) {
      drop(c, e); /* same times, other bytes */
      answer = EMD_CACHE_MISS;
    } else {
      /* Atomic: emd_centry_watchable() reads them without the lock. */
      if (e->racy && !emd_stat_racy(q->st))
        __atomic_store_n(&e->racy, 0, __ATOMIC_RELAXED);
      __atomic_store_n(&e->multilink, q->st->st_nlink > 1, __ATOMIC_RELAXED);
      e->checked_at = q->moment;
      answer = EMD_CACHE_HIT;
    }
  }
  if (answer == EMD_CACHE_HIT) {
    e->referenced = 1;
    *out = emd_centry_ref(e);
    BUMP(c, hits);
  } else if (answer == EMD_CACHE_MISS) {
    BUMP(c, misses);
  }
  pthread_mutex_unlock(&c->mu);
  return answer;
}

int emd_centry_watchable(const emd_centry *e) {
  return !__atomic_load_n(&e->racy, __ATOMIC_RELAXED) &&
         !__atomic_load_n(&e->multilink, __ATOMIC_RELAXED);
}

int emd_cache_vouches(emd_cache *c, const emd_check *q) {
  uint64_t h = key_hash(&q->key);
  emd_centry *e;
  int yes;
  if (!q->wdir) return 0;
  pthread_mutex_lock(&c->mu);
  e = find(c, &q->key, h);
  yes = e && !e->racy && !e->multilink &&
        emd_watch_unchanged(q->wdir, e->checked_at);
  pthread_mutex_unlock(&c->mu);
  return yes;
}

int emd_cache_get_vouched(emd_cache *c, const emd_check *q, emd_centry **out) {
  uint64_t h = key_hash(&q->key);
  emd_centry *e;
  *out = NULL;
  if (q->st || !q->wdir) return EMD_CACHE_STAT;
  pthread_mutex_lock(&c->mu);
  e = find(c, &q->key, h);
  if (!e || e->racy || e->multilink ||
      !emd_watch_unchanged(q->wdir, e->checked_at)) {
    pthread_mutex_unlock(&c->mu);
    return EMD_CACHE_STAT;
  }
  sketch_touch(c, h);
  e->referenced = 1;
  *out = emd_centry_ref(e);
  BUMP(c, unstated);
  BUMP(c, hits);
  pthread_mutex_unlock(&c->mu);
  return EMD_CACHE_HIT;
}

void emd_cache_prefetch(emd_cache *c, emd_fkey *keys, size_t n) {
  uint64_t h[EMD_PREFETCH_MAX];
  size_t i;
  if (n > EMD_PREFETCH_MAX) n = EMD_PREFETCH_MAX;
  for (i = 0; i < n; i++) h[i] = keys[i].hash = key_hash(&keys[i]);
  pthread_mutex_lock(&c->mu);
  if (c->nslots) {
    /* The chains' heads first, all of them; by the time the second pass
    ** reads the first head, it has arrived. */
    for (i = 0; i < n; i++)
      __builtin_prefetch(&c->slots[h[i] & (c->nslots - 1)]);
    for (i = 0; i < n; i++) {
      const emd_centry *e = c->slots[h[i] & (c->nslots - 1)];
      if (!e) continue;
      __builtin_prefetch(e);
      __builtin_prefetch((const char *)e + 64);
      __builtin_prefetch((const char *)e + 128);
      __builtin_prefetch((const char *)e + 192); /* the name's end */
      if (c->sketch) {
        uint64_t m = mix(h[i]);
        __builtin_prefetch(&c->sketch[counter_at(c, m, 0)]);
      }
    }
  }
  pthread_mutex_unlock(&c->mu);
}

/* Double the hash table when it is more than full. */
static void grow(emd_cache *c) {
  size_t n = c->nslots ? c->nslots * 2 : 1024, i;
  emd_centry **slots =
      c->hook && c->hook() ? NULL : emd_malloc(n * sizeof(*slots));
  if (!slots) return; /* keep the old table: chains just get longer */
  memset(slots, 0, n * sizeof(*slots));
  for (i = 0; i < c->nslots; i++) {
    emd_centry *e = c->slots[i];
    while (e) {
      emd_centry *nx = e->hnext;
      e->hnext = slots[e->hash & (n - 1)];
      slots[e->hash & (n - 1)] = e;
      e = nx;
    }
  }
  emd_free(c->slots);
  c->slots = slots;
  c->nslots = n;
}

/* Make room for `bytes` more, evicting only entries asked for less often
** than the newcomer h.  1 when there is room.
**
** The newcomer's count already holds the ask that brought it here, and the
** victim, the oldest entry not asked for lately, is typically one this
** round of asks has not reached yet: in a looping scan both are asked once a round,
** yet the newcomer would lead by one and evict, each time, an entry about
** to be asked for.  So it must lead by more than one: a loop keeps a stable
** resident part, and a file asked for again and again still gets in. */
static int admit(emd_cache *c, uint64_t h, size_t bytes) {
  unsigned f = sketch_estimate(c, h);
  while (c->st.bytes + bytes > c->limit) {
    emd_centry *v = victim(c);
    if (!v || f <= sketch_estimate(c, v->hash) + 1) return 0;
    drop(c, v);
    BUMP(c, evicted);
  }
  return 1;
}

/* Where an entry's record starts: after the name, 8-aligned. */
static size_t record_at(uint32_t namelen) {
  return (sizeof(emd_centry) + namelen + 7) & ~(size_t)7;
}

/* A new entry (one reference, not cached) for version id of file key, with
** room for a record of n bytes after the name; NULL when out of memory. */
static emd_centry *entry_new(emd_cache *c, const emd_fkey *key,
                             const emd_ident *id, size_t n, char **room) {
  size_t at = record_at(key->namelen);
  emd_centry *e = cache_malloc(c, at + n);
  if (!e) return NULL;
  memset(e, 0, sizeof(*e));
  e->hash = key_hash(key);
  e->fdev = key->fdev;
  e->fino = key->fino;
  e->namelen = key->namelen;
  memcpy(e->name, key->name, key->namelen);
  *room = (char *)e + at;
  e->rec = (const emd_rec *)(const void *)*room;
  e->id = *id;
  e->bytes = at + n;
  e->refs = 1;
  return e;
}

/* Was version id changed within the timestamps' grain of now? */
static int ident_racy(const emd_ident *id) {
  struct stat st;
  memset(&st, 0, sizeof(st));
  st.st_mtim.tv_sec = (time_t)(id->mtime_ns / 1000000000);
  st.st_mtim.tv_nsec = (long)(id->mtime_ns % 1000000000);
  st.st_ctim.tv_sec = (time_t)(id->ctime_ns / 1000000000);
  st.st_ctim.tv_nsec = (long)(id->ctime_ns % 1000000000);
  return emd_stat_racy(&st);
}

/* Put e (not cached, room made) into the cache, which takes a reference.
** 0 when the table of slots could not be made. */
static int link_in(emd_cache *c, emd_centry *e) {
  if (c->st.entries >= c->nslots) grow(c);
  if (!c->nslots) return 0;
  e->hnext = c->slots[e->hash & (c->nslots - 1)];
  c->slots[e->hash & (c->nslots - 1)] = e;
  lru_push_front(c, e);
  e->cached = 1;
  emd_centry_ref(e);
  __atomic_add_fetch(&c->st.entries, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&c->st.bytes, e->bytes, __ATOMIC_RELAXED);
  sketch_fit(c);
  return 1;
}

emd_centry *emd_cache_entry(emd_cache *c, const emd_check *q,
                            const emd_ident *id, const emd_rec *rec) {
  char *room;
  emd_centry *e = entry_new(c, &q->key, id, rec->size, &room);
  if (!e) return NULL;
  memcpy(room, rec, rec->size);
  e->checked_at = q->moment;
  e->multilink = !q->st || q->st->st_nlink > 1;
  return e;
}

emd_centry *emd_cache_put(emd_cache *c, const emd_check *q, const emd_ident *id,
                          const emd_rec *rec) {
  emd_centry *e = emd_cache_entry(c, q, id, rec), *old;
  if (!e) return NULL;
  if (ident_racy(id)) {
    e->racy = 1;
    e->content_hash = q->bytes ? emd_hash64(q->bytes, q->len) : 0;
    if (!q->bytes) return e; /* nothing to compare with later: not cached */
  }
  pthread_mutex_lock(&c->mu);
  if (e->bytes > c->limit) {
    BUMP(c, rejected);
    pthread_mutex_unlock(&c->mu);
    return e;
  }
  old = find(c, &q->key, e->hash);
  if (old) drop(c, old);
  if (!admit(c, e->hash, e->bytes)) {
    BUMP(c, rejected);
    pthread_mutex_unlock(&c->mu);
    return e;
  }
  link_in(c, e);
  pthread_mutex_unlock(&c->mu);
  return e;
}

int emd_cache_warm(emd_cache *c, const emd_fkey *key, const emd_ident *id,
                   const void *rec, size_t n) {
  char *room;
  emd_centry *e;
  uint64_t h = key_hash(key);
  int ans;
  if (ident_racy(id)) return EMD_WARM_SKIPPED;
  pthread_mutex_lock(&c->mu);
  ans = find(c, key, h) ? EMD_WARM_SKIPPED
        : c->st.bytes + record_at(key->namelen) + n > c->limit
            ? EMD_WARM_FULL
            : EMD_WARM_CACHED;
  pthread_mutex_unlock(&c->mu);
  if (ans != EMD_WARM_CACHED) return ans;
  /* Copied once, into the entry, and checked there (aligned). */
  e = entry_new(c, key, id, n, &room);
  if (!e) return EMD_WARM_FULL;
  memcpy(room, rec, n);
  if (!emd_rec_check(room, n)) {
    emd_centry_release(e);
    return EMD_WARM_SKIPPED;
  }
  e->multilink = 1; /* never vouched for before a stat() checked it */
  pthread_mutex_lock(&c->mu);
  if (find(c, key, h)) {
    ans = EMD_WARM_SKIPPED; /* a scan put it meanwhile */
  } else if (c->st.bytes + e->bytes > c->limit) {
    ans = EMD_WARM_FULL;
  } else if (!link_in(c, e)) {
    ans = EMD_WARM_FULL;
  }
  pthread_mutex_unlock(&c->mu);
  emd_centry_release(e); /* ours; the cache's remains when linked in */
  return ans;
}
