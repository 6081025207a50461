/* SPDX-License-Identifier: MIT */
/*
** folder.h - what a row needs from its folder and its root: the day page's
** topics, the versions of the folder's event files (versions.c), and links
** with the site-language prefix dropped (SPEC §2 "Links").
**
** A row's folder is worked out once per scan and kept on the folder's
** emd_dir, which every entry of that folder shares; a lookup by path has a
** folder of its own.  The folder's event files and day page are read
** through the cache like any other file, so a lookup of one old version
** reads its siblings, not the archive.  Only the connection's thread uses
** this (column values), never the read-ahead workers.
*/
#ifndef EVENTMD_FOLDER_H
#define EVENTMD_FOLDER_H

#include "entry.h"
#include "record.h"

/* The folders whose versions were worked out lately, kept by a table
** across statements.  A folder's entries usually share one emd_dir, which
** keeps what was learnt of it; but entries reached one by one (files
** outside day folders in date or rowid order, lookups by path) get an
** emd_dir each, and interleave with other folders' entries: the memo finds
** their folder's versions by the folder's identity instead of working them
** out again for every row.  What an earlier statement learnt is used again
** only while the watches of the folder and of the root (watch.h) say
** nothing in them changed since it was learnt; otherwise it is worked out
** again. */
#define EMD_FOLDER_MEMO 32
typedef struct emd_foldermemo {
  struct {
    uint64_t dev, ino; /* the folder */
    void *info;        /* what was learnt of it (a reference), or NULL */
    uint64_t used;     /* when last used (for replacement) */
  } slot[EMD_FOLDER_MEMO];
  uint64_t clock; /* uses so far */
  uint64_t scans; /* scans started so far */
} emd_foldermemo;

/* Release what the memo holds (the table is going away). */
void emd_foldermemo_clear(emd_foldermemo *m);

/* What a scan learns of its root: links as it shows them (a leading
** "/xx/", two lower-case letters, before "news/" is dropped when the root
** has no folder xx). */
typedef struct emd_links {
  int rootfd;                   /* the scan's root folder (borrowed) */
  uint64_t rdev, rino;          /* its identity */
  const emd_wdir *rwdir;        /* its watch, or NULL */
  unsigned char known[26 * 26]; /* per xx: 0 not checked, 1 folder, 2 none */
  emd_foldermemo *memo;         /* the table's (borrowed) */
  uint64_t scan;                /* this scan's number in memo */
} emd_links;

/* Start a scan of root rootfd (identity rdev/rino; watch: it may be
** watched) using the table's memo. */
void emd_links_init(emd_links *l, int rootfd, uint64_t rdev, uint64_t rino,
                    int watch, emd_foldermemo *memo);
emd_str emd_links_norm(emd_links *l, emd_str href);
/* The scan is over. */
void emd_links_clear(emd_links *l);

/* What the folder says about entry e (an event file of it). */
typedef struct emd_rowfolder {
  int is_current;       /* SPEC "Versions" */
  emd_str current_path; /* p == NULL: SQL NULL */
  emd_str day_topic;    /* the day page's topic for e, or NULL */
} emd_rowfolder;

/* Fill *out for entry e.  versions: 0 when only day_topic is needed (the
** day page is read, not the other files).  SQLITE_OK or SQLITE_NOMEM.  The
** strings live as long as e's folder (e->dir). */
int emd_folder_row(emd_rowfolder *out, const emd_scan_ctx *sc, emd_links *l,
                   emd_entry *e, emd_scratch *s, int versions);

#endif /* EVENTMD_FOLDER_H */
