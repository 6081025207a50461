/* SPDX-License-Identifier: MIT */
/*
** warm.h - after a new process's first scans, the memory cache is filled
** from the persistent cache file (cachefile.h) by a thread of its own.
**
** A scan of a new process shows each file's record where its folder's
** batch from the cache file holds it (entry.c; not cached), so that it
** costs a lookup, not fresh pages: on a 100,000-file archive, 300 MB of
** fresh memory costs more than the lookups.  Once a statement has taken
** at least EMD_WARM_AFTER records that way, warming starts: one thread
** reads the file's records in the order they were written, one sequential
** pass in short transactions (EMD_WARM_BATCH rows each: a writer never
** waits for it), and copies each once into the memory cache, so that the
** statements that follow find them there.
**
** Rules:
**   - A warmed entry is never trusted as it is: it carries the identity the
**     cache file recorded, and a stat() of the file must match it before it
**     is shown (emd_cache_warm); changed files are parsed.
**   - Warming never evicts: it stops when the memory cache is full.
**   - It stops when the connection closes or changes its cache file (at
**     most one batch later).
*/
#ifndef EVENTMD_WARM_H
#define EVENTMD_WARM_H

#include "cache.h"
#include "cachefile.h"

#define EMD_WARM_AFTER 256 /* records a statement took: then warm */
#define EMD_WARM_BATCH 256 /* records per read transaction */

typedef struct emd_warm emd_warm;

/* Warming of c from cf (both outlive it); nothing starts yet.  NULL when
** out of memory (there is no warming then). */
emd_warm *emd_warm_new(emd_cachefile *cf, emd_cache *c);

/* A statement ended: start warming when it took EMD_WARM_AFTER records or
** more from the cache file and warming has not started. */
void emd_warm_statement_done(emd_warm *w);

/* Stop the thread and wait for it, then free w. */
void emd_warm_free(emd_warm *w);

#endif /* EVENTMD_WARM_H */
