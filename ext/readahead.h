/* SPDX-License-Identifier: MIT */
/*
** readahead.h - parallel read-ahead over the entries of a scan.
**
** The connection's thread fills a ring of entries in walk order (cheap: the
** walk only lists folders); worker threads take the next unprocessed entries
** and stat, read and parse them (entry.c) while SQLite consumes rows.  Rows
** still come out in walk order: the consumer waits for the entry at the head
** of the ring, or processes it itself when no worker has taken it yet, so
** with one thread (no workers) the same code runs lazily, one entry at a
** time.  Workers start only once a scan has shown a few rows, so LIMIT 1 and
** small scans never pay for threads; they stop when the cursor is reset.
*/
#ifndef EVENTMD_READAHEAD_H
#define EVENTMD_READAHEAD_H

#include <pthread.h>
#include <stdint.h>

#include "entry.h"

#define EMD_MAX_THREADS 64

/* Fill slot with the next entry of the source: SQLITE_OK, SQLITE_DONE at the
** end, or an error. */
typedef int (*emd_fill_fn)(void *ctx, emd_entry *slot);

typedef struct emd_ahead emd_ahead;
typedef struct emd_worker {
  emd_ahead *a;        /* the read-ahead it serves */
  pthread_t tid;       /* its thread */
  emd_scratch scratch; /* its parser and buffers */
} emd_worker;

struct emd_ahead {
  const emd_scan_ctx *sc; /* what processing needs */
  emd_fill_fn fill;       /* the source */
  void *fill_ctx;
  emd_entry *ring;     /* cap slots */
  uint32_t cap;        /* a power of two */
  uint32_t head;       /* index of the next entry to show */
  uint32_t tail;       /* index of the next slot to fill (atomic) */
  uint32_t claim;      /* index of the next slot to process (atomic) */
  uint32_t folders;    /* distinct folders held by [head, tail) */
  int has_current;     /* ring[head] is the row being shown */
  int source_done;     /* the source has no more entries */
  int source_rc;       /* error from the source, if any */
  uint64_t consumed;   /* entries shown so far */
  uint64_t slow;       /* entries filled that needed real work (disk) */
  int tried_workers;   /* workers were started (or could not be) */
  int threads;         /* total threads wanted (1 = no workers) */
  emd_scratch scratch; /* the connection thread's */
  emd_worker *workers; /* running workers */
  int nworkers;
  pthread_mutex_t mu;     /* guards sleeping and waking only */
  pthread_cond_t cv_work; /* workers wait for entries */
  pthread_cond_t cv_done; /* the consumer waits for the head entry */
  int stop;               /* workers must exit (atomic) */
  int sleepers;           /* workers waiting on cv_work (under mu) */
  int waiting;            /* the consumer waits on cv_done (atomic) */
};

/* Prepare a for scans (no allocation yet). */
void emd_ahead_init(emd_ahead *a);

/* Start a scan over the source.  threads: the connection's setting. */
void emd_ahead_start(emd_ahead *a, const emd_scan_ctx *sc, emd_fill_fn fill,
                     void *fill_ctx, int threads);

/* The next processed entry that is still there (*out), or *out = NULL at the
** end.  The entry stays valid until the next call or emd_ahead_stop(). */
int emd_ahead_next(emd_ahead *a, emd_entry **out);

/* The entry k places after the one emd_ahead_next() gave last, when it is
** already processed (its parse may be looked at), else NULL.  For hints
** only: the consumer's thread. */
emd_entry *emd_ahead_peek(emd_ahead *a, uint32_t k);

/* End the scan: stop and join workers, drop pending entries. */
void emd_ahead_stop(emd_ahead *a);

/* Release everything (after emd_ahead_stop). */
void emd_ahead_free(emd_ahead *a);

/* The connection thread's scratch (for work a column asks for). */
emd_scratch *emd_ahead_scratch(emd_ahead *a);

#endif /* EVENTMD_READAHEAD_H */
