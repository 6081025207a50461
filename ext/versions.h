/* SPDX-License-Identifier: MIT */
/*
** versions.h - which event files of a folder are current, and where each
** one's newest version is (SPEC §2 "Versions").
**
** Each edit of an event is a new file in the same folder; the newest file's
** Changes list names the older ones, and the folder's day page (README.md,
** else index.md) links each event's newest file.  Given the folder's event
** files (their paths and parsed records) and its day page, this works out
** for each file:
**
**   is_current    0 when another file lists it as an older version, when
**                 its own first "(Current version)" item links elsewhere, or
**                 when the day page links some file of the folder but not it
**   current_path  the end of the "superseded by" chain (see SPEC), or NULL
**                 for a file superseded only by the day page's silence
**   day_topic     the topic heading the day page shows above its link
**
** Pure logic: no SQLite, no filesystem, no allocation (the caller's array
** holds the working state).  Links are compared after the caller's
** normalisation (the site-language prefix rule of SPEC §2).
*/
#ifndef EVENTMD_VERSIONS_H
#define EVENTMD_VERSIONS_H

#include <stddef.h>

#include "record.h"

/* One event file of the folder. */
typedef struct emd_vfile {
  emd_str path;       /* in: shown path ("/news/.../x.md") */
  const emd_rec *rec; /* in: its record, or NULL when it has none */
  /* out */
  int is_current;       /* 1 or 0 */
  emd_str current_path; /* p == NULL: SQL NULL */
  emd_str day_topic;    /* p == NULL: none */
  /* working state */
  int superseded;     /* one of the three rules holds */
  int linked;         /* the day page links it */
  int lister;         /* index of the file that lists it as older, or -1 */
  uint32_t nchanges;  /* rows of its Changes list */
  emd_str own_target; /* its first "(Current version)" target, or NULL */
  unsigned visit;     /* chain walk marks */
} emd_vfile;

/* Normalise a link for comparison with paths (returns href or a suffix). */
typedef emd_str (*emd_norm_fn)(void *ctx, emd_str href);

/* Work out the out fields of files[0..n), which must be sorted by path
** (byte order, distinct).  daypage: the folder's day page record, or NULL. */
void emd_versions_compute(emd_vfile *files, size_t n, const emd_rec *daypage,
                          emd_norm_fn norm, void *ctx);

#endif /* EVENTMD_VERSIONS_H */
