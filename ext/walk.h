/* SPDX-License-Identifier: MIT */
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
#include "watch.h"

/* An open folder shared by the walker and the read-ahead workers. */
typedef struct emd_dir {
  int fd;                 /* open directory descriptor, or -1 while not
                                opened yet (emd_dir_fd opens it); atomic */
  int refs;               /* references; the last release closes fd */
  struct emd_dir *parent; /* not opened yet: the folder holding it (a
                                reference), and its name there */
  char *name;
  uint64_t dev;               /* the folder's identity: device */
  uint64_t ino;               /* and inode */
  emd_wdir *wdir;             /* its watch (watch.h), or NULL: stat() */
  void *info;                 /* what the scan learnt of it (folder.c) */
  void (*info_free)(void *);  /* releases info */
  void *batch;                /* its files' records from the cache file,
                                 fetched at once (entry.c), or NULL */
  void (*batch_free)(void *); /* releases batch */
  int batch_state;            /* 0 none, 1 being fetched, 2 ready, 3 none
                                 to be had; atomic */
} emd_dir;

/* A folder not opened yet: name (len bytes) in parent, whose identity is
** dev/ino and watch wdir; emd_dir_fd() opens it when needed.  NULL when
** out of memory. */
emd_dir *emd_dir_lazy(emd_dir *parent, const char *name, size_t len,
                      uint64_t dev, uint64_t ino, emd_wdir *wdir);

/* A new shared folder owning fd (closed on failure); refs = 1.  st is the
** folder's fstat() when the caller has it, else NULL (it is taken here).
** watch: give it an inotify watch (watch.h) when the process has one. */
emd_dir *emd_dir_new(int fd, const struct stat *st, int watch);
emd_dir *emd_dir_ref(emd_dir *d);
void emd_dir_release(emd_dir *d);

/* The folder's descriptor, opened now if it was not (beneath its parent,
** without following a link, and only if it is still the folder dev/ino:
** else -1 with errno ENOENT, as for a folder removed since).  Any thread.
**
** A folder whose listing the walk already holds, and whose watch vouches
** that nothing in it changed, is not opened by the walk at all: a warm
** scan of it needs only its identity, which one fstatat() gives; its
** descriptor is opened only if a file of it has to be read or stat'ed. */
int emd_dir_fd(emd_dir *d);

/* Is folder name in dir a year (year) or month folder known to hold only
** date folders, unchanged since it was listed (foldersums.h)?  Answered
** from the watches when they vouch, so dir is opened only when they do
** not. */
struct emd_foldersums;
int emd_date_only(struct emd_foldersums *sums, emd_dir *dir, const char *name,
                  int year);

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
} emd_datefilter;

/* 1 when some date string in [dmin, dmax] may pass the filter. */
int emd_datefilter_overlaps(const emd_datefilter *f, const char *dmin,
                            const char *dmax);

struct emd_foldersums;

/* Walk options. */
typedef struct emd_walk_opts {
  int follow_symlinks;         /* follow links (never outside the root) */
  const char *root_real;       /* the root's real path (for containment) */
  const emd_datefilter *date;  /* prune by date, or NULL */
  struct emd_foldersums *sums; /* folder listings to use and update, or NULL */
  int one_level;               /* yield subfolders as EMD_ITEM_DIR instead of
                                  entering them (the date-ordered scan) */
  int no_watch;                /* add no inotify watches: nothing is cached,
                                  so a watch would vouch for nothing */
  /* Lookups by path (lookup.c) of files the archive is known to hold: the
  ** root as a shared folder, and known_file(ctx, folder, name), which says
  ** whether the cache holds the file name of that folder as it is now,
  ** vouched for by the folder's watch.  NULL: look every path up. */
  emd_dir *rootdir;
  int (*known_file)(void *ctx, const emd_dir *folder, const char *name);
  void *known_ctx;
} emd_walk_opts;

enum {
  EMD_ITEM_FILE = 1, /* a regular file named *.md, not a day page */
  EMD_ITEM_SPECIAL,  /* a FIFO, socket or device named *.md */
  EMD_ITEM_LINK,     /* a symbolic link named *.md, not followed */
  EMD_ITEM_FOLDER,   /* a folder that cannot be read, a looping or escaping
                        link (err says which) */
  EMD_ITEM_DIR       /* a subfolder not entered (one_level) */
};

/* One entry.  Pointers stay valid until the next emd_walk_next(). */
typedef struct emd_walk_item {
  int kind;            /* EMD_ITEM_* */
  const char *relpath; /* root-relative, no leading '/'; folders end in '/' */
  size_t relpath_len;  /* its length */
  const char *name;    /* last component (inside relpath) */
  emd_dir *dir;        /* the folder holding name (borrowed) */
  int err;             /* errno for EMD_ITEM_FOLDER (ELOOP, EXDEV: links) */
  int follow;          /* name is a link to be opened by following it */
  const char *day;     /* EMD_ITEM_DIR: "YYYY-MM-DD" of a day folder, or NULL;
                          other items: the path's date (SPEC §1, the first
                          run of year/month/day folders), or "" for none */
  int year;            /* EMD_ITEM_DIR: its name as a year folder, or -1 */
  int month;           /* EMD_ITEM_DIR: its name as a month folder, or -1 */
  int month_year;      /* EMD_ITEM_DIR: the year of that month */
} emd_walk_item;

typedef struct emd_walk emd_walk;

/* Start walking the folder rootfd (borrowed; the walker opens its own
** descriptor) or, when sub is not NULL, the folder sub (relative to rootfd,
** a "a/b/" prefix) as if it were reached from the root; a followed link on
** the way must stay inside the root.  SQLITE_OK, SQLITE_NOMEM, or
** SQLITE_CANTOPEN with *err the errno value (EXDEV: a link out of the
** root). */
int emd_walk_open(emd_walk **out, int rootfd, const char *sub,
                  const emd_walk_opts *opts, emd_stats *stats, int *err);

/* Next entry: SQLITE_ROW (*item set), SQLITE_DONE, or SQLITE_NOMEM. */
int emd_walk_next(emd_walk *w, emd_walk_item *item);

/* The folder the walk started from (for its identity), or NULL. */
const emd_dir *emd_walk_top_dir(const emd_walk *w);

void emd_walk_close(emd_walk *w);

/* ---- Direct lookups (lookup.c): the same rows as the walk, reached by
** name. */

/* Is p (as a query gives it, with a leading '/') a path the walk could
** yield?  Returns the length of the relpath (p + 1) or -1. */
int emd_walk_path_ok(const char *p, size_t n);

/* Look up relpath rel (path = / IN) without a walk: open its folders
** beneath rootfd and classify the last component as the walk would.
** SQLITE_ROW with *item set (item->dir is the caller's reference;
** item->relpath is rel), SQLITE_DONE when the walk would give no such row,
** or SQLITE_NOMEM.  When *have_st is set, *st is the file's lstat(). */
int emd_walk_lookup(emd_walk_item *item, int rootfd, const emd_walk_opts *opts,
                    const char *rel, struct stat *st, int *have_st);

/* The same for a file whose folder is open already: rel's last component,
** at rel + name_off, in dir (item->dir is a new reference to dir). */
int emd_walk_lookup_in(emd_walk_item *item, emd_dir *dir,
                       const emd_walk_opts *opts, const char *rel,
                       size_t name_off, struct stat *st, int *have_st);

/* The relpaths on disk that show as relpath rel (a path = value): rel
** itself, or, for a component showing U+FFFD, every name in that folder
** whose bytes that are not UTF-8 show as it.  *out (emd_malloc'd strings in
** an emd_malloc'd array, the caller frees all) holds at most EMD_EXPAND_MAX
** of them.  SQLITE_OK or SQLITE_NOMEM. */
#define EMD_EXPAND_MAX 1024
int emd_walk_expand_shown(int rootfd, const emd_walk_opts *opts,
                          const char *rel, char ***out, int *nout);

/* 1 when the open descriptor fd names something inside root_real (checked
** through /proc/self/fd; 0 when that cannot be told). */
int emd_fd_inside(int fd, const char *root_real);

/* Order of two root-relative paths as they are shown (bytes that are not
** UTF-8 replaced by U+FFFD): path order.  Ties of the shown text are 0. */
int emd_shown_cmp(const char *a, size_t an, const char *b, size_t bn);

/* 1 when name is a day page's: index.md or README.md, ASCII case ignored. */
int emd_is_day_page_name(const char *name, size_t n);

/* 1 when name is an event file name: *.md, not a day page, not hidden. */
int emd_is_event_name(const char *name, size_t n);

#endif /* EVENTMD_WALK_H */
