/* SPDX-License-Identifier: MIT */
/*
** arena.h - the memory cmark parses into.
**
** cmark allocates a node or a buffer at a time and frees them one by one.
** eventmd instead hands cmark an arena: allocations are carved from large
** chunks and everything is released at once after the parse, which is much
** faster than the C library's malloc for cmark's pattern, and lets a parse be
** bounded: when a parse needs more than its budget (or memory runs out) the
** arena jumps back to the parse's entry point instead of returning NULL,
** which cmark cannot handle (its default allocator aborts the process).
**
** cmark's allocator callbacks carry no context, so the arena in use is a
** thread-local pointer, set only for the duration of one parse.
*/
#ifndef EVENTMD_ARENA_H
#define EVENTMD_ARENA_H

#include <cmark.h>
#include <setjmp.h>
#include <stddef.h>

#include "eventmd.h"

typedef struct emd_chunk emd_chunk;

/* Why a parse was stopped (emd_arena.failed). */
enum { EMD_ARENA_OK, EMD_ARENA_NOMEM, EMD_ARENA_OVER_BUDGET };

typedef struct emd_arena {
  const eventmd_allocator *al; /* where chunks come from */
  emd_chunk *chunks;           /* newest first */
  size_t used;                 /* bytes handed out since the last reset */
  size_t budget;               /* bound on used for one parse; 0 = none */
  jmp_buf *escape;             /* longjmp target when over budget / OOM */
  int failed;                  /* EMD_ARENA_* */
  char *last;                  /* the most recent allocation (for realloc) */
} emd_arena;

/* The cmark allocator that draws from the current thread's arena. */
extern cmark_mem emd_arena_mem;

/* Make a the current thread's arena for cmark (NULL: none). */
void emd_arena_use(emd_arena *a);

/* Release everything allocated; keep one chunk for the next parse. */
void emd_arena_reset(emd_arena *a);

/* Release all chunks. */
void emd_arena_free(emd_arena *a);

#endif /* EVENTMD_ARENA_H */
