/* SPDX-License-Identifier: MIT */
/*
** stats.h - per-connection counters shown by eventmd_stats().
**
** Updated from the connection's thread and from read-ahead workers, so every
** update is an atomic add.  Each connection has its own emd_stats; the
** cache keeps its own counters (cache.h).
*/
#ifndef EVENTMD_STATS_H
#define EVENTMD_STATS_H

#include <stdint.h>

typedef struct emd_stats {
  uint64_t folders_opened; /* folders listed */
  uint64_t folders_pruned; /* folders skipped by a date constraint */
  uint64_t files_stated;   /* stat() calls on event files */
  uint64_t files_read;     /* event files opened and read */
  uint64_t files_parsed;   /* files handed to the parser */
  uint64_t scans;          /* scans started (xFilter calls: a join's inner
                              table starts one per outer row) */
} emd_stats;

#define EMD_COUNT(st, field, n)                                                \
  do {                                                                         \
    if (st) __atomic_fetch_add(&(st)->field, (uint64_t)(n), __ATOMIC_RELAXED); \
  } while (0)

#endif /* EVENTMD_STATS_H */
