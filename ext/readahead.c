/* SPDX-License-Identifier: MIT */
/*
** readahead.c - parallel read-ahead over the entries of a scan (see
** readahead.h).
**
** Synchronisation: `tail` is published with a release store after a slot is
** filled, and workers claim slot indexes below it by compare-and-swap on
** `claim`.  A processed slot is marked done with a sequentially consistent
** store; the consumer and the workers sleep on condition variables only when
** there is nothing to do, and each side re-checks under the mutex before
** waiting, so no wake-up is lost.
*/
#include "readahead.h"

#include <string.h>

#include "emd.h"

/* A pause instruction for spin-waiting, where there is one. */
#if defined(__x86_64__) || defined(__i386__)
#define CPU_PAUSE() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_PAUSE() __asm__ __volatile__("yield")
#else
#define CPU_PAUSE() ((void)0)
#endif

/* Slots at first: a lookup needs few. */
#define RING_FIRST 16u
/* Slots once workers run. */
#define RING_CAP 256u
/* Rows shown before workers start (when the scan needs the disk). */
#define START_AFTER 16
/* Polls before the consumer sleeps. */
#define SPIN 200
/* Folders the ring's entries keep open, at most: no plan holds a
** descriptor per folder. */
#define MAX_FOLDERS 16

static uint32_t load32(const uint32_t *p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

void emd_ahead_init(emd_ahead *a) {
  memset(a, 0, sizeof(*a));
  pthread_mutex_init(&a->mu, NULL);
  pthread_cond_init(&a->cv_work, NULL);
  pthread_cond_init(&a->cv_done, NULL);
}

emd_scratch *emd_ahead_scratch(emd_ahead *a) {
  return &a->scratch;
}

void emd_ahead_start(emd_ahead *a, const emd_scan_ctx *sc, emd_fill_fn fill,
                     void *fill_ctx, int threads) {
  a->sc = sc;
  a->fill = fill;
  a->fill_ctx = fill_ctx;
  a->head = a->tail = a->claim = 0;
  a->folders = 0;
  a->has_current = 0;
  a->source_done = 0;
  a->source_rc = SQLITE_OK;
  a->consumed = 0;
  a->slow = 0;
  a->tried_workers = 0;
  a->threads = threads < 1                 ? 1
               : threads > EMD_MAX_THREADS ? EMD_MAX_THREADS
                                           : threads;
  a->stop = 0;
}

/* Process the slot with index i (claimed by the caller) and mark it done. */
static void process(emd_ahead *a, uint32_t i, emd_scratch *s) {
  emd_entry *e = &a->ring[i & (a->cap - 1)];
  emd_entry_process(a->sc, e, s);
  /* Records from the cache file a folder at a time: fetch the next folder's
  ** while others work on this one's, so that nobody waits for it.  Before
  ** e is marked done: until then no later slot can be dropped.  Only the
  ** slots' folders are read (set when filled; processing may change a
  ** slot's other fields). */
  if (a->threads > 1 && emd_entry_used_batch(e)) {
    uint32_t j, t = load32(&a->tail);
    for (j = i + 1; j != t && j - i < a->cap; j++) {
      emd_dir *d = a->ring[j & (a->cap - 1)].dir;
      if (d != e->dir) {
        emd_entry_batch_ahead(a->sc, d);
        break;
      }
    }
  }
  __atomic_store_n(&e->state, EMD_SLOT_DONE, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&a->waiting, __ATOMIC_SEQ_CST)) {
    pthread_mutex_lock(&a->mu);
    pthread_cond_broadcast(&a->cv_done);
    pthread_mutex_unlock(&a->mu);
  }
}

/* Claim slot index i if nobody has; 1 when claimed. */
static int try_claim(emd_ahead *a, uint32_t i) {
  uint32_t want = i;
  return __atomic_compare_exchange_n(&a->claim, &want, i + 1, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static void *worker_main(void *arg) {
  emd_worker *w = arg;
  emd_ahead *a = w->a;
  int idle = 0;
  for (;;) {
    uint32_t i, t;
    if (__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) break;
    i = load32(&a->claim);
    t = load32(&a->tail);
    if (i != t) {
      if (try_claim(a, i)) process(a, i, &w->scratch);
      idle = 0;
      continue;
    }
    /* Nothing to take: the consumer is probably filling the ring right
    ** now; poll a little before sleeping (a wake-up costs more). */
    if (++idle < SPIN * 4) {
      CPU_PAUSE();
      continue;
    }
    idle = 0;
    pthread_mutex_lock(&a->mu);
    a->sleepers++;
    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE) &&
           load32(&a->claim) == load32(&a->tail))
      pthread_cond_wait(&a->cv_work, &a->mu);
    a->sleepers--;
    pthread_mutex_unlock(&a->mu);
  }
  return NULL;
}

/* Give the ring RING_CAP slots.  Only before workers start: the entries
** in flight move to their new places. */
static int ring_grow(emd_ahead *a) {
  emd_entry *ring;
  uint32_t i;
  if (a->cap >= RING_CAP) return 1;
  ring = emd_malloc(RING_CAP * sizeof(emd_entry));
  if (!ring) return 0;
  memset(ring, 0, RING_CAP * sizeof(emd_entry));
  for (i = a->head; i != a->tail; i++) {
    emd_entry *from = &a->ring[i & (a->cap - 1)];
    ring[i & (RING_CAP - 1)] = *from;
    memset(from, 0, sizeof(*from));
  }
  for (i = 0; i < a->cap; i++) emd_entry_free(&a->ring[i]); /* spare buffers */
  emd_free(a->ring);
  a->ring = ring;
  a->cap = RING_CAP;
  return 1;
}

static void start_workers(emd_ahead *a) {
  int i, n = a->threads - 1;
  if (!ring_grow(a)) return; /* fine: the consumer does the work alone */
  a->workers = emd_malloc((size_t)n * sizeof(emd_worker));
  if (!a->workers) return; /* fine: the consumer does the work alone */
  memset(a->workers, 0, (size_t)n * sizeof(emd_worker));
  for (i = 0; i < n; i++) {
    a->workers[i].a = a;
    if (pthread_create(&a->workers[i].tid, NULL, worker_main, &a->workers[i]))
      break;
    a->nworkers++;
  }
  if (a->nworkers == 0) {
    emd_free(a->workers);
    a->workers = NULL;
  }
}

/* Fill slots up to the window ahead of head. */
static void fill(emd_ahead *a) {
  uint32_t window =
      a->consumed < a->cap ? 4 + 2 * (uint32_t)a->consumed : a->cap;
  uint32_t start = a->tail, t = a->tail, i;
  if (window > a->cap) window = a->cap;
  /* Take entries from the source into the slots after tail (unpublished:
  ** no worker sees them yet). */
  while (!a->source_done && t - a->head < window && a->folders < MAX_FOLDERS) {
    emd_entry *e = &a->ring[t & (a->cap - 1)];
    int rc = a->fill(a->fill_ctx, e);
    if (rc != SQLITE_OK) {
      emd_entry_reset(e);
      a->source_done = 1;
      if (rc != SQLITE_DONE) a->source_rc = rc;
      break;
    }
    /* Each entry holds its folder open: count the folders in the ring. */
    if (t == a->head || a->ring[(t - 1) & (a->cap - 1)].dir != e->dir)
      a->folders++;
    t++;
  }
  if (t == start) return;
  /* Before workers run, what needs nothing from disk (a warm cache's
  ** vouched hits) is done here at once, so a short warm scan (a page, a
  ** lookup) never starts threads; the cache is asked to bring the batch's
  ** entries into the CPU's cache first, so their memory waits overlap.
  ** Only when every slot before is claimed: the consumer then claims these
  ** too, before publishing them, so no worker ever sees them.  Once
  ** workers run, they do even the hits: the cache's memory waits then
  ** overlap SQLite's work. */
  if (!a->nworkers) {
    emd_entry *batch[RING_CAP];
    uint32_t n = 0;
    for (i = start; i != t; i++) batch[n++] = &a->ring[i & (a->cap - 1)];
    emd_entries_prefetch(a->sc, batch, n);
  }
  for (i = start; i != t; i++) {
    emd_entry *e = &a->ring[i & (a->cap - 1)];
    if (!a->nworkers && load32(&a->claim) == i &&
        emd_entry_process_fast(a->sc, e)) {
      e->state = EMD_SLOT_DONE;
      __atomic_store_n(&a->claim, i + 1, __ATOMIC_RELEASE);
    } else {
      e->state = EMD_SLOT_READY;
      a->slow++;
    }
    __atomic_store_n(&a->tail, i + 1, __ATOMIC_RELEASE);
  }
  if (a->nworkers) {
    pthread_mutex_lock(&a->mu);
    if (a->sleepers) pthread_cond_broadcast(&a->cv_work);
    pthread_mutex_unlock(&a->mu);
  }
}

/* Make sure the head slot is processed.  While a worker has it, the
** consumer does not idle: it fills the ring and processes the next
** unclaimed slots itself, and sleeps only when there is nothing to take. */
static void settle_head(emd_ahead *a) {
  emd_entry *e = &a->ring[a->head & (a->cap - 1)];
  int spins = 0;
  while (__atomic_load_n(&e->state, __ATOMIC_SEQ_CST) != EMD_SLOT_DONE) {
    uint32_t i = load32(&a->claim);
    if (i != a->tail) {
      if (try_claim(a, i)) process(a, i, &a->scratch);
      spins = 0;
      continue;
    }
    if (!a->source_done && a->tail - a->head < a->cap) {
      fill(a);
      if (i != a->tail) continue;
    }
    if (++spins < SPIN) {
      CPU_PAUSE();
      continue;
    }
    pthread_mutex_lock(&a->mu);
    __atomic_store_n(&a->waiting, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&e->state, __ATOMIC_SEQ_CST) != EMD_SLOT_DONE)
      pthread_cond_wait(&a->cv_done, &a->mu);
    __atomic_store_n(&a->waiting, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&a->mu);
  }
}

/* Drop the head slot. */
static void pop(emd_ahead *a) {
  emd_entry *e = &a->ring[a->head & (a->cap - 1)];
  if (a->head + 1 == a->tail ||
      a->ring[(a->head + 1) & (a->cap - 1)].dir != e->dir)
    a->folders--;
  emd_entry_reset(e);
  e->state = EMD_SLOT_EMPTY;
  a->head++;
}

int emd_ahead_next(emd_ahead *a, emd_entry **out) {
  *out = NULL;
  if (!a->ring) {
    a->ring = emd_malloc(RING_FIRST * sizeof(emd_entry));
    if (!a->ring) return SQLITE_NOMEM;
    memset(a->ring, 0, RING_FIRST * sizeof(emd_entry));
    a->cap = RING_FIRST;
  }
  if (a->has_current) {
    pop(a);
    a->has_current = 0;
  }
  for (;;) {
    emd_entry *e;
    if (a->tail - a->head < a->cap / 2) fill(a);
    if (a->head == a->tail) return a->source_rc;
    settle_head(a);
    e = &a->ring[a->head & (a->cap - 1)];
    if (e->rc) return e->rc;
    if (e->gone) {
      pop(a);
      continue;
    }
    a->has_current = 1;
    a->consumed++;
    /* Workers once the scan is long enough and some of it needs the disk.
    ** A warm scan never starts them: handing vouched hits to a worker
    ** costs more than the consumer's batched, prefetched asks (make bench:
    ** warm full scans 2.3-2.4 x the native table with a worker, 2.0-2.1 x
    ** without). */
    if (a->consumed >= START_AFTER && a->slow >= START_AFTER / 4 &&
        a->threads > 1 && !a->tried_workers && !a->source_done) {
      a->tried_workers = 1;
      start_workers(a); /* may move the ring: */
    }
    *out = &a->ring[a->head & (a->cap - 1)];
    return SQLITE_OK;
  }
}

emd_entry *emd_ahead_peek(emd_ahead *a, uint32_t k) {
  emd_entry *e;
  if (!a->has_current || k >= a->tail - a->head) return NULL;
  e = &a->ring[(a->head + k) & (a->cap - 1)];
  return __atomic_load_n(&e->state, __ATOMIC_ACQUIRE) == EMD_SLOT_DONE ? e
                                                                       : NULL;
}

void emd_ahead_stop(emd_ahead *a) {
  int i;
  if (a->nworkers) {
    pthread_mutex_lock(&a->mu);
    __atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&a->cv_work);
    pthread_mutex_unlock(&a->mu);
    for (i = 0; i < a->nworkers; i++) {
      pthread_join(a->workers[i].tid, NULL);
      emd_scratch_free(&a->workers[i].scratch);
    }
    emd_free(a->workers);
    a->workers = NULL;
    a->nworkers = 0;
  }
  if (a->ring) {
    while (a->head != a->tail) pop(a);
  }
  a->has_current = 0;
  a->head = a->tail = a->claim = 0;
}

void emd_ahead_free(emd_ahead *a) {
  uint32_t i;
  emd_ahead_stop(a);
  if (a->ring) {
    for (i = 0; i < a->cap; i++) emd_entry_free(&a->ring[i]);
    emd_free(a->ring);
    a->ring = NULL;
  }
  emd_scratch_free(&a->scratch);
  pthread_mutex_destroy(&a->mu);
  pthread_cond_destroy(&a->cv_work);
  pthread_cond_destroy(&a->cv_done);
}
