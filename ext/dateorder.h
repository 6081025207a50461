/* SPDX-License-Identifier: MIT */
/*
** dateorder.h - the entries of a scan in date order (ORDER BY date) or in
** rowid order (ORDER BY rowid, the order browsing UIs page in).
**
** Path order is not date order: unpadded folders (2017/10/9 after
** 2017/10/12 in bytes), several date trees under one root, and files
** outside day folders whose date comes from their heading.  So the scan
** keeps a heap of what is still to be read, keyed by the earliest date it
** can hold, and reads the tree lazily in that order:
**
**   a folder of unknown content      listed at once (it may hold anything)
**   a year or month folder known to  listed when its first day comes up
**     hold only date folders           (foldersums.h)
**   a day folder                     its files, with every other day folder
**                                    and file of that date, when the date
**                                    comes up
**   a file outside day folders       its date is its heading's (date order;
**                                    read through the cache) or none (rowid
**                                    order: its rowid has no date part)
**
** A date's entries come out together, in path order (date order) or by
** rowid (rowid order); entries without a date come first, as SQLite sorts
** NULL.  Nothing but paths is kept between dates: no descriptor is held for
** a folder that is not being read (each is opened again, beneath the root,
** when its turn comes), so the descriptors used are bounded by the depth
** of the tree whatever its size.  A date-limited scan stops once the dates
** asked for are past.
*/
#ifndef EVENTMD_DATEORDER_H
#define EVENTMD_DATEORDER_H

#include <stdint.h>

#include "entry.h"
#include "walk.h"

typedef struct emd_dateorder emd_dateorder;

/* What order. */
enum { EMD_ORDER_DATE, EMD_ORDER_ROWID };

/* A day as a number: days since 0000-12-31 for "YYYY-MM-DD" (so 1 is
** 0001-01-01), 0 for none.  Dates sort as their numbers do. */
int64_t emd_day_number(const char *ymd);

/* The rowid of the row at root-relative relpath: its path date's day number
** in the high bits, a hash of the path in the low 31, so that rowid order
** is date order and a rowid bound is a date bound.  53 bits at most. */
uint64_t emd_path_rowid(const char *relpath, size_t len);

/* Start a scan in `order` over the tree under rootfd.  wo: the walk
** options (date filter, links, folder listings).  sc and s are used to read
** the dates of files outside day folders.  In rowid order, rowid_lo ..
** rowid_hi (inclusive; 0 and INT64_MAX: all) bound the rows wanted: days
** outside their dates are not read, and entries outside them are not
** handed out.  yield(yield_ctx) is called between pieces of work and
** stops the scan when it returns other than SQLITE_OK (an interrupt).
** SQLITE_OK with *out set, SQLITE_CANTOPEN with *err when the root cannot
** be listed, or another error. */
int emd_dateorder_open(emd_dateorder **out, int order, int rootfd,
                       const emd_walk_opts *wo, emd_stats *stats,
                       const emd_scan_ctx *sc, emd_scratch *s, int64_t rowid_lo,
                       int64_t rowid_hi, int (*yield)(void *), void *yield_ctx,
                       int *err);

/* Fill slot with the next entry: SQLITE_OK, SQLITE_DONE or an error. */
int emd_dateorder_next(emd_dateorder *d, emd_entry *slot);

void emd_dateorder_close(emd_dateorder *d);

#endif /* EVENTMD_DATEORDER_H */
