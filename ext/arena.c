/* SPDX-License-Identifier: MIT */
/*
** arena.c - the memory cmark parses into (see arena.h).
*/
#include "arena.h"

#include <stdint.h>
#include <string.h>

#define CHUNK_MIN ((size_t)256 << 10) /* 256 KiB */
/* Alignment of every allocation: enough for every cmark structure. */
#define ALIGN 8

struct emd_chunk {
  emd_chunk *next; /* older chunk */
  size_t size;     /* bytes of data[] */
  size_t used;     /* bytes of data[] handed out */
  /* data follows, aligned to ALIGN */
};

#define HDR ALIGN /* each allocation is preceded by its size */
#define CHUNK_HDR ((sizeof(emd_chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))
#define CHUNK_DATA(c) ((char *)(c) + CHUNK_HDR)

/* initial-exec: one pointer of static TLS, read on every cmark allocation
** without a call to __tls_get_addr. */
static _Thread_local emd_arena *current
    __attribute__((tls_model("initial-exec")));

void emd_arena_use(emd_arena *a) {
  current = a;
}

static void fail(emd_arena *a, int why) {
  a->failed = why;
  longjmp(*a->escape, 1);
}

static emd_chunk *chunk_new(emd_arena *a, size_t need) {
  size_t size = need > CHUNK_MIN ? need : CHUNK_MIN;
  emd_chunk *c = a->al->xMalloc(a->al->ctx, CHUNK_HDR + size);
  if (!c) return NULL;
  c->size = size;
  c->used = 0;
  c->next = a->chunks;
  a->chunks = c;
  return c;
}

static void *arena_alloc(emd_arena *a, size_t n) {
  emd_chunk *c = a->chunks;
  size_t need = HDR + ((n + ALIGN - 1) & ~(size_t)(ALIGN - 1));
  char *p;
  if (n > ((size_t)1 << 40)) fail(a, EMD_ARENA_NOMEM);
  if (a->budget && a->used + need > a->budget) fail(a, EMD_ARENA_OVER_BUDGET);
  if (!c || c->size - c->used < need) {
    c = chunk_new(a, need);
    if (!c) fail(a, EMD_ARENA_NOMEM);
  }
  p = CHUNK_DATA(c) + c->used;
  c->used += need;
  a->used += need;
  *(size_t *)p = n;
  a->last = p + HDR;
  return p + HDR;
}

static void *mem_calloc(size_t count, size_t size) {
  emd_arena *a = current;
  size_t n;
  void *p;
  if (size && count > ((size_t)-1) / size) fail(a, EMD_ARENA_NOMEM);
  n = count * size;
  p = arena_alloc(a, n);
  memset(p, 0, n);
  return p;
}

static void *mem_realloc(void *old, size_t n) {
  emd_arena *a = current;
  size_t oldn;
  void *p;
  if (!old) return arena_alloc(a, n);
  oldn = *(size_t *)((char *)old - HDR);
  if (n <= oldn) {
    *(size_t *)((char *)old - HDR) = n;
    return old;
  }
  /* Grow in place when old is the last allocation of the current chunk. */
  if (old == a->last) {
    emd_chunk *c = a->chunks;
    size_t had = (oldn + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    size_t want = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (c->size - c->used >= want - had) {
      if (a->budget && a->used + (want - had) > a->budget)
        fail(a, EMD_ARENA_OVER_BUDGET);
      c->used += want - had;
      a->used += want - had;
      *(size_t *)((char *)old - HDR) = n;
      return old;
    }
  }
  p = arena_alloc(a, n);
  memcpy(p, old, oldn);
  return p;
}

static void mem_free(void *p) {
  (void)p; /* released with the arena */
}

cmark_mem emd_arena_mem = {mem_calloc, mem_realloc, mem_free};

void emd_arena_reset(emd_arena *a) {
  /* Keep one chunk of the ordinary size for the next parse. */
  emd_chunk *keep = NULL, *c = a->chunks;
  while (c) {
    emd_chunk *next = c->next;
    if (!keep && c->size == CHUNK_MIN)
      keep = c;
    else
      a->al->xFree(a->al->ctx, c);
    c = next;
  }
  a->chunks = keep;
  if (keep) {
    keep->used = 0;
    keep->next = NULL;
  }
  a->used = 0;
  a->failed = EMD_ARENA_OK;
  a->last = NULL;
}

void emd_arena_free(emd_arena *a) {
  emd_arena_reset(a);
  if (a->chunks) a->al->xFree(a->al->ctx, a->chunks);
  a->chunks = NULL;
}
