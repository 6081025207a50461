/*
** dateorder.h - the entries of a scan in date order (ORDER BY date).
**
** Path order is not date order: unpadded folders (2017/10/9 after
** 2017/10/12 in bytes), several date trees under one root, and files outside
** day folders whose date comes from their heading.  So a date-ordered scan
** first walks the tree without entering day folders, noting each day
** folder's date and collecting the files outside them (whose dates need
** their headings: they are parsed, through the cache).  Then, one date at a
** time in ascending order (files without a date first, as SQLite sorts
** NULL), it lists that date's day folders and emits their files together
** with the outside files of that date, in path order.  Memory: one record
** per day folder and per file outside day folders, plus one date's files.
*/
#ifndef EVENTMD_DATEORDER_H
#define EVENTMD_DATEORDER_H

#include "entry.h"
#include "walk.h"

typedef struct emd_dateorder emd_dateorder;

/* Walk the skeleton of the tree under rootfd.  sc and s are used to read
** the dates of files outside day folders.  Returns SQLITE_OK or an error;
** *out is set on success. */
int emd_dateorder_open(emd_dateorder **out, int rootfd, const emd_walk_opts *wo,
                       emd_stats *stats, const emd_scan_ctx *sc,
                       emd_scratch *s);

/* Fill slot with the next entry: SQLITE_OK, SQLITE_DONE or an error. */
int emd_dateorder_next(emd_dateorder *d, emd_entry *slot);

void emd_dateorder_close(emd_dateorder *d);

#endif /* EVENTMD_DATEORDER_H */
