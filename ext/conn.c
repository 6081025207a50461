/*
** conn.c - the state eventmd keeps per database connection (see conn.h).
*/
#include "conn.h"

#include <string.h>
#include <unistd.h>

#include "foldersums.h"

/* The out-of-memory test's fault hook for the cache (NULL: none). */
int (*emd_cache_fault_hook)(void);

emd_conn *emd_conn_ref(emd_conn *c) {
  c->refs++;
  return c;
}

void emd_conn_release(void *p) {
  emd_conn *c = p;
  if (c && --c->refs == 0) {
    emd_cache_free(c->cache);
    emd_foldersums_free(c->sums);
    sqlite3_free(c);
  }
}

size_t emd_conn_default_cache_bytes(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  size_t share = pages > 0 && size > 0
                     ? (size_t)pages / EMD_CACHE_SHARE * (size_t)size
                     : EMD_CACHE_MIN;
  if (share < EMD_CACHE_MIN) share = EMD_CACHE_MIN;
  if (share > EMD_CACHE_MAX) share = EMD_CACHE_MAX;
  return share;
}

/* Folder listings are part of the cache: a quarter of its bound, at most
** 16 MiB; none when the cache is off. */
static size_t sums_limit(size_t cache_bytes) {
  size_t q = cache_bytes / 4;
  return q > ((size_t)16 << 20) ? (size_t)16 << 20 : q;
}

void emd_conn_set_cache_bytes(emd_conn *c, size_t bytes) {
  emd_cache_set_limit(c->cache, bytes);
  emd_foldersums_set_limit(c->sums, sums_limit(bytes));
}

/* Read-ahead threads by default: one per online CPU (at most 8). */
static int default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

emd_conn *emd_conn_new(sqlite3 *db) {
  emd_conn *c = sqlite3_malloc64(sizeof(*c));
  size_t bytes = emd_conn_default_cache_bytes();
  if (!c) return NULL;
  memset(c, 0, sizeof(*c));
  c->db = db;
  c->threads = default_threads();
  c->refs = 1;
  c->cache = emd_cache_new(bytes, emd_cache_fault_hook);
  c->sums = emd_foldersums_new();
  if (!c->cache || !c->sums) {
    emd_cache_free(c->cache);
    emd_foldersums_free(c->sums);
    sqlite3_free(c);
    return NULL;
  }
  emd_foldersums_set_limit(c->sums, sums_limit(bytes));
  return c;
}
