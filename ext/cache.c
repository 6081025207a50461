/*
** cache.c - the parsed-file cache (see cache.h): a hash table of entries
** plus a doubly linked list in least-recently-used order.
*/
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emd.h"
#include "text.h"

struct emd_cache {
  pthread_mutex_t mu; /* read-ahead workers share the cache */
  emd_parsed **slots; /* hash chains */
  size_t nslots;      /* power of two */
  size_t count;       /* entries */
  size_t bytes;       /* sum of entries' bytes */
  size_t limit;       /* bound on bytes; 0 = off */
  emd_parsed *head;   /* most recently used */
  emd_parsed *tail;   /* least recently used */
};

static int64_t ns(const struct timespec *t) {
  return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

emd_parsed *emd_parsed_new(const emd_rec *rec, const struct stat *st,
                           off_t size, const char *key, size_t keylen) {
  size_t at = (sizeof(emd_parsed) + keylen + 7) & ~(size_t)7;
  emd_parsed *p = malloc(at + rec->size);
  if (!p) return NULL;
  memset(p, 0, sizeof(*p));
  p->key = (char *)(p + 1);
  memcpy(p->key, key, keylen);
  p->keylen = keylen;
  memcpy((char *)p + at, rec, rec->size);
  p->rec = (const emd_rec *)(void *)((char *)p + at);
  p->dev = st->st_dev;
  p->ino = st->st_ino;
  p->size = size;
  p->mtime_ns = ns(&st->st_mtim);
  p->ctime_ns = ns(&st->st_ctim);
  p->refs = 1;
  return p;
}

emd_parsed *emd_parsed_ref(emd_parsed *p) {
  if (p) __atomic_fetch_add(&p->refs, 1, __ATOMIC_RELAXED);
  return p;
}

void emd_parsed_release(emd_parsed *p) {
  if (p && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0) free(p);
}

#define RACY_NS ((int64_t)2000000000)

int emd_stat_racy(const struct stat *st) {
  struct timespec now;
  int64_t limit;
  clock_gettime(CLOCK_REALTIME, &now);
  limit = ns(&now) - RACY_NS;
  return ns(&st->st_mtim) > limit || ns(&st->st_ctim) > limit;
}

int emd_parsed_matches(const emd_parsed *p, const struct stat *st) {
  return p->dev == st->st_dev && p->ino == st->st_ino &&
         p->size == st->st_size && p->mtime_ns == ns(&st->st_mtim) &&
         p->ctime_ns == ns(&st->st_ctim);
}

emd_cache *emd_cache_new(size_t limit) {
  emd_cache *c = emd_malloc(sizeof(*c));
  if (!c) return NULL;
  memset(c, 0, sizeof(*c));
  c->limit = limit;
  pthread_mutex_init(&c->mu, NULL);
  return c;
}

static void lru_unlink(emd_cache *c, emd_parsed *p) {
  if (p->prev)
    p->prev->next = p->next;
  else
    c->head = p->next;
  if (p->next)
    p->next->prev = p->prev;
  else
    c->tail = p->prev;
  p->prev = p->next = NULL;
}

static void lru_push_front(emd_cache *c, emd_parsed *p) {
  p->prev = NULL;
  p->next = c->head;
  if (c->head)
    c->head->prev = p;
  else
    c->tail = p; /* the list was empty */
  c->head = p;
}

/* Take p out of the cache and drop the cache's reference. */
static void evict(emd_cache *c, emd_parsed *p) {
  emd_parsed **pp = &c->slots[p->hash & (c->nslots - 1)];
  while (*pp && *pp != p) pp = &(*pp)->hnext;
  if (*pp) *pp = p->hnext;
  p->hnext = NULL;
  lru_unlink(c, p);
  /* count, bytes and limit are read without the lock (stats, the quick
  ** empty check): every write is atomic too. */
  __atomic_sub_fetch(&c->count, 1, __ATOMIC_RELAXED);
  __atomic_sub_fetch(&c->bytes, p->bytes, __ATOMIC_RELAXED);
  p->cached = 0;
  emd_parsed_release(p);
}

static void shrink_to(emd_cache *c, size_t limit) {
  while (c->bytes > limit) {
    emd_parsed *victim = c->tail;
    if (!victim) break;
    evict(c, victim);
    if (c->tail == victim) break; /* cannot happen: evict unlinks it */
  }
}

void emd_cache_free(emd_cache *c) {
  if (!c) return;
  shrink_to(c, 0);
  emd_free(c->slots);
  pthread_mutex_destroy(&c->mu);
  emd_free(c);
}

void emd_cache_set_limit(emd_cache *c, size_t limit) {
  pthread_mutex_lock(&c->mu);
  __atomic_store_n(&c->limit, limit, __ATOMIC_RELAXED);
  shrink_to(c, limit);
  pthread_mutex_unlock(&c->mu);
}

size_t emd_cache_limit(emd_cache *c) {
  return __atomic_load_n(&c->limit, __ATOMIC_RELAXED);
}
size_t emd_cache_bytes(emd_cache *c) {
  return __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
}
size_t emd_cache_count(emd_cache *c) {
  return __atomic_load_n(&c->count, __ATOMIC_RELAXED);
}

static emd_parsed *find(emd_cache *c, const char *key, size_t keylen,
                        uint64_t h) {
  emd_parsed *p;
  if (!c->nslots) return NULL;
  for (p = c->slots[h & (c->nslots - 1)]; p; p = p->hnext)
    if (p->hash == h && p->keylen == keylen && !memcmp(p->key, key, keylen))
      return p;
  return NULL;
}

/* The entry under key, made most recently used, as a new reference; when
** st is given, an entry of another version is dropped instead. */
static emd_parsed *lookup(emd_cache *c, const char *key, size_t keylen,
                          const struct stat *st) {
  uint64_t h = emd_hash64(key, keylen);
  emd_parsed *p;
  pthread_mutex_lock(&c->mu);
  p = find(c, key, keylen, h);
  if (p && st && !emd_parsed_matches(p, st)) {
    evict(c, p);
    p = NULL;
  }
  if (p) {
    lru_unlink(c, p);
    lru_push_front(c, p);
    emd_parsed_ref(p);
  }
  pthread_mutex_unlock(&c->mu);
  return p;
}

emd_parsed *emd_cache_get(emd_cache *c, const char *key, size_t keylen,
                          const struct stat *st) {
  return lookup(c, key, keylen, st);
}

emd_parsed *emd_cache_peek(emd_cache *c, const char *key, size_t keylen) {
  if (!__atomic_load_n(&c->count, __ATOMIC_RELAXED)) return NULL;
  return lookup(c, key, keylen, NULL);
}

/* Double the hash table when it is more than full. */
static void grow(emd_cache *c) {
  size_t n = c->nslots ? c->nslots * 2 : 1024, i;
  emd_parsed **slots = emd_malloc(n * sizeof(*slots));
  if (!slots) return; /* keep the old table: chains just get longer */
  memset(slots, 0, n * sizeof(*slots));
  for (i = 0; i < c->nslots; i++) {
    emd_parsed *p = c->slots[i];
    while (p) {
      emd_parsed *nx = p->hnext;
      p->hnext = slots[p->hash & (n - 1)];
      slots[p->hash & (n - 1)] = p;
      p = nx;
    }
  }
  emd_free(c->slots);
  c->slots = slots;
  c->nslots = n;
}

static void put_locked(emd_cache *c, const char *key, size_t keylen,
                       emd_parsed *p) {
  uint64_t h;
  emd_parsed *old;
  size_t bytes;
  if (!c->limit || p->cached) return;
  bytes = p->rec->size + sizeof(*p) + keylen;
  if (bytes > c->limit) return;
  if (c->count >= c->nslots) grow(c);
  if (!c->nslots) return;
  (void)key;
  keylen = p->keylen;
  h = emd_hash64(p->key, keylen);
  old = find(c, p->key, keylen, h);
  if (old) evict(c, old);
  p->hash = h;
  p->bytes = bytes;
  p->hnext = c->slots[h & (c->nslots - 1)];
  c->slots[h & (c->nslots - 1)] = p;
  lru_push_front(c, p);
  p->cached = 1;
  __atomic_add_fetch(&c->count, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&c->bytes, bytes, __ATOMIC_RELAXED);
  emd_parsed_ref(p);
  shrink_to(c, c->limit);
}

void emd_cache_put(emd_cache *c, const char *key, size_t keylen,
                   emd_parsed *p) {
  pthread_mutex_lock(&c->mu);
  put_locked(c, key, keylen, p);
  pthread_mutex_unlock(&c->mu);
}
