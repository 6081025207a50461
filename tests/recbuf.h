/* SPDX-License-Identifier: MIT */
/*
** recbuf.h - a record writer (record.h) on the C library's allocator, for
** the tests and fuzz targets that build records by hand.
*/
#ifndef EVENTMD_TESTS_RECBUF_H
#define EVENTMD_TESTS_RECBUF_H

#include <stdlib.h>
#include <string.h>

#include "record.h"

static inline void *tu_rb_realloc(void *ctx, void *p, size_t n) {
  (void)ctx;
  return realloc(p, n);
}

static inline void tu_rb_free(void *ctx, void *p) {
  (void)ctx;
  free(p);
}

/* An empty writer; emd_recbuf_free() releases what it grew. */
static inline void tu_recbuf_init(emd_recbuf *b) {
  memset(b, 0, sizeof(*b));
  b->xRealloc = tu_rb_realloc;
  b->xFree = tu_rb_free;
}

#endif /* EVENTMD_TESTS_RECBUF_H */
