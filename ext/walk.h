/*
** walk.h - walking an archive tree.
**
** The walker lists the tree under a root directory descriptor, iteratively
** (a stack of open folders, no recursion), with openat() and O_NOFOLLOW, and
** yields the entries that become rows of eventmd_events:
**
**   EMD_ITEM_FILE     a regular file named *.md other than a day page
**                     (index.md, README.md, any case)
**   EMD_ITEM_SPECIAL  a FIFO, socket or device named *.md (never opened)
**   EMD_ITEM_LINK     a symbolic link named *.md that is not followed
**   EMD_ITEM_FOLDER   a folder that could not be read (err says why), or a
**                     followed link that loops or leads outside the root
**   EMD_ITEM_DAY      a day folder, not entered (only when the options ask
**                     for it: the date-ordered scan lists them later)
**
** Names starting with '.' are skipped.  Entries come in byte order of their
** root-relative path ("path order", what ORDER BY path gives), day folders
** whose date misses the date filter are pruned before they are opened, and
** folders' dates follow SPEC §1 (the first /YYYY/M/D/ run of folders).
*/
#ifndef EVENTMD_WALK_H
#define EVENTMD_WALK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "stats.h"

/* An open folder shared by the walker and the read-ahead workers. */
typedef struct emd_dir {
  int fd;     /* open directory descriptor */
  int refs;   /* references; the last release closes fd */
  void *info; /* what the scan learnt of it (folder.c), or NULL */
  void (*info_free)(void *); /* releases info */
} emd_dir;

/* A new shared folder owning fd (closed on failure); refs = 1. */
emd_dir *emd_dir_new(int fd);
emd_dir *emd_dir_ref(emd_dir *d);
void emd_dir_release(emd_dir *d);

/* Date constraints of a query, used to prune day folders (and, through the
** folder summaries, whole years and months).  A date d can match when
** lo <(=) d <(=) hi and, when neq > 0, d is one of eq[]. */
typedef struct emd_datefilter {
  int active;      /* 0: no date constraint */
  const char *lo;  /* lower bound or NULL */
  int lo_incl;     /* lo itself matches */
  const char *hi;  /* upper bound or NULL */
  int hi_incl;     /* hi itself matches */
  int neq;         /* number of allowed values (an = or IN list); -1 none */
  const char **eq; /* the allowed values */
  int empty;       /* the constraints can never hold */
} emd_datefilter;

/* 1 when some date string in [dmin, dmax] may pass the filter. */
int emd_datefilter_overlaps(const emd_datefilter *f, const char *dmin,
                            const char *dmax);

/* Summaries of year and month folders, kept per connection: whether a
** folder holds nothing but date folders (so a date constraint that misses
** its range can skip it without opening it), valid while the folder's
** mtime and ctime are unchanged. */
typedef struct emd_foldersums emd_foldersums;
emd_foldersums *emd_foldersums_new(void);
void emd_foldersums_free(emd_foldersums *s);
/* Bound the folder listings kept (bytes); 0 keeps nothing at all. */
void emd_foldersums_set_limit(emd_foldersums *s, size_t max_bytes);
size_t emd_foldersums_bytes(const emd_foldersums *s);

/* Walk options. */
typedef struct emd_walk_opts {
  int follow_symlinks;        /* follow links (never outside the root) */
  const char *root_real;      /* the root's real path (for containment) */
  const emd_datefilter *date; /* prune by date, or NULL */
  emd_foldersums *sums;       /* folder summaries to use and update, or NULL */
  int skip_day_folders;       /* date-order pre-pass: yield day folders as
                                 EMD_ITEM_DAY instead of entering them */
} emd_walk_opts;

enum {
  EMD_ITEM_FILE = 1,
  EMD_ITEM_SPECIAL,
  EMD_ITEM_LINK,
  EMD_ITEM_FOLDER,
  EMD_ITEM_DAY
};

/* One entry.  Pointers stay valid until the next emd_walk_next(). */
typedef struct emd_walk_item {
  int kind;            /* EMD_ITEM_* */
  const char *relpath; /* root-relative, no leading '/'; folders end in '/' */
  size_t relpath_len;
  const char *name; /* last component (inside relpath) */
  emd_dir *dir;     /* the folder holding name (borrowed) */
  int err;          /* errno for EMD_ITEM_FOLDER (ELOOP, EXDEV: links) */
  const char *day;  /* "YYYY-MM-DD" of the folder run, or NULL */
  int follow;       /* name is a link to be opened by following it */
} emd_walk_item;

typedef struct emd_walk emd_walk;

/* Start walking the folder rootfd (borrowed; the walker dups it) or, when
** sub is not NULL, the folder sub (relative to rootfd, a "a/b/" prefix) as
** if it were reached from the root.  Returns 0 or an errno value. */
int emd_walk_open(emd_walk **out, int rootfd, const char *sub,
                  const emd_walk_opts *opts, emd_stats *stats);

/* Next entry: 1 = *item set, 0 = done, <0 = -errno (ENOMEM). */
int emd_walk_next(emd_walk *w, emd_walk_item *item);

void emd_walk_close(emd_walk *w);

/* 1 when the open descriptor fd names something inside root_real (checked
** through /proc/self/fd; 0 when that cannot be told). */
int emd_fd_inside(int fd, const char *root_real);

/* 1 when name is a day page's: index.md or README.md, ASCII case ignored. */
int emd_is_day_page_name(const char *name, size_t n);

/* 1 when name is an event file name: *.md, not a day page, not hidden. */
int emd_is_event_name(const char *name, size_t n);

#endif /* EVENTMD_WALK_H */
