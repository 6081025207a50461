/* SPDX-License-Identifier: MIT */
/*
** warm.c - the memory cache filled from the cache file (see warm.h).
*/
#include "warm.h"

#include <pthread.h>
#include <stdlib.h>

#include "emd.h"

struct emd_warm {
  emd_cachefile *cf; /* borrowed */
  emd_cache *cache;  /* borrowed */
  uint64_t taken;    /* the cache file's records taken when last looked */
  pthread_t thread;
  int started; /* the thread was started (the caller's thread only) */
  int stop;    /* emd_warm_free asks the thread to end (atomic) */
};

emd_warm *emd_warm_new(emd_cachefile *cf, emd_cache *c) {
  emd_warm *w = calloc(1, sizeof(*w));
  emd_cachefile_stats fs;
  if (!w) return NULL;
  w->cf = cf;
  w->cache = c;
  emd_cachefile_get_stats(cf, &fs);
  w->taken = fs.hits;
  return w;
}

static int put_one(void *ctx, const emd_fkey *key, const emd_ident *id,
                   const void *rec, size_t n) {
  emd_warm *w = ctx;
  return __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) ||
         emd_cache_warm(w->cache, key, id, rec, n) == EMD_WARM_FULL;
}

static void *warm_main(void *arg) {
  emd_warm *w = arg;
  int64_t after = 0;
  while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) &&
         emd_cachefile_each(w->cf, &after, EMD_WARM_BATCH, put_one, w) ==
             SQLITE_ROW) {
  }
  return NULL;
}

void emd_warm_statement_done(emd_warm *w) {
  emd_cachefile_stats fs;
  if (!w || w->started) return;
  emd_cachefile_get_stats(w->cf, &fs);
  if (fs.hits - w->taken < EMD_WARM_AFTER) {
    w->taken = fs.hits;
    return;
  }
  w->started = pthread_create(&w->thread, NULL, warm_main, w) == 0;
}

void emd_warm_free(emd_warm *w) {
  if (!w) return;
  __atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
  if (w->started) pthread_join(w->thread, NULL);
  free(w);
}
