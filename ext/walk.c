/* SPDX-License-Identifier: MIT */
/*
** walk.c - walking an archive tree (see walk.h).
**
** A stack of open folders.  Each folder is listed whole with getdents64()
** when it is entered, filtered (hidden names, non-event files) and sorted so
** that a depth-first walk yields root-relative paths in byte order: a folder
** sorts as its name followed by '/', exactly where its files' paths sort.
**
** Dates of folders (SPEC §1): the first run of folders YYYY/M/D/ gives every
** file below it its date.  Each frame remembers whether its folder is a
** plausible year, or a month inside a year, so that a child completing a run
** is recognised as a day folder and can be pruned by the date filter before
** it is opened.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "walk.h"

#include <dirent.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emd.h"
#include "foldersums.h"
#include "text.h"

/* ------------------------------------------------------------------------
** Shared folder descriptors.
*/
emd_dir *emd_dir_ref(emd_dir *d) {
  if (d) __atomic_fetch_add(&d->refs, 1, __ATOMIC_RELAXED);
  return d;
}

void emd_dir_release(emd_dir *d) {
  if (d && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) == 0) {
    if (d->info_free) d->info_free(d->info);
    if (d->batch_free) d->batch_free(d->batch);
    if (d->fd >= 0) close(d->fd);
    emd_dir_release(d->parent);
    emd_free(d->name);
    emd_free(d);
  }
}

int emd_dir_fd(emd_dir *d) {
  int fd = __atomic_load_n(&d->fd, __ATOMIC_ACQUIRE), pfd, expect = -1;
  struct stat st;
  if (fd >= 0) return fd;
  if (!d->parent || !d->name) {
    errno = ENOENT;
    return -1;
  }
  pfd = emd_dir_fd(d->parent);
  if (pfd < 0) return -1;
  fd = openat(pfd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != d->dev ||
      (uint64_t)st.st_ino != d->ino) {
    close(fd); /* another folder by that name now */
    errno = ENOENT;
    return -1;
  }
  if (!__atomic_compare_exchange_n(&d->fd, &expect, fd, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    close(fd); /* another thread opened it first */
    return expect;
  }
  return fd;
}

int emd_date_only(struct emd_foldersums *sums, emd_dir *dir, const char *name,
                  int year) {
  char own[NAME_MAX + 1];
  size_t len = strlen(name);
  int v;
  /* As its parent's listing names it: a folder item's name may end in '/'. */
  if (len && name[len - 1] == '/') len--;
  if (len > NAME_MAX) return 0;
  memcpy(own, name, len);
  own[len] = 0;
  v = emd_foldersums_date_only_vouched(sums, dir->dev, dir->ino, dir->wdir, own,
                                       year);
  if (v >= 0) return v;
  return emd_foldersums_date_only(sums, emd_dir_fd(dir), dir->dev, dir->ino,
                                  dir->wdir, own, year);
}

emd_dir *emd_dir_lazy(emd_dir *parent, const char *name, size_t len,
                      uint64_t dev, uint64_t ino, emd_wdir *wdir) {
  emd_dir *d = emd_malloc(sizeof(*d));
  if (!d) return NULL;
  memset(d, 0, sizeof(*d));
  d->fd = -1;
  d->refs = 1;
  d->name = emd_strndup(name, len);
  if (!d->name) {
    emd_free(d);
    return NULL;
  }
  d->parent = emd_dir_ref(parent);
  d->dev = dev;
  d->ino = ino;
  d->wdir = wdir;
  return d;
}

emd_dir *emd_dir_new(int fd, const struct stat *st, int watch) {
  emd_dir *d = emd_malloc(sizeof(*d));
  struct stat own;
  if (!d) {
    close(fd);
    return NULL;
  }
  memset(d, 0, sizeof(*d));
  d->fd = fd;
  d->refs = 1;
  if (!st && fstat(fd, &own) == 0) st = &own;
  if (st) {
    d->dev = (uint64_t)st->st_dev;
    d->ino = (uint64_t)st->st_ino;
    if (watch) d->wdir = emd_watch_dir(fd, st->st_dev, st->st_ino);
  }
  return d;
}

/* ------------------------------------------------------------------------
** Date filter.
*/

/* Could the date filter accept some d with dmin <= d <= dmax (memcmp)? */
int emd_datefilter_overlaps(const emd_datefilter *f, const char *dmin,
                            const char *dmax) {
  int i;
  if (!f || !f->active) return 1;
  if (f->lo) {
    int c = strcmp(dmax, f->lo);
    if (c < 0 || (c == 0 && !f->lo_incl)) return 0;
  }
  if (f->hi) {
    int c = strcmp(dmin, f->hi);
    if (c > 0 || (c == 0 && !f->hi_incl)) return 0;
  }
  if (f->neq < 0) return 1;
  for (i = 0; i < f->neq; i++) {
    const char *v = f->eq[i];
    if (strcmp(v, dmin) >= 0 && strcmp(v, dmax) <= 0) return 1;
  }
  return 0;
}

/* ------------------------------------------------------------------------
** Names.
*/
int emd_is_day_page_name(const char *name, size_t n) {
  return emd_ascii_ieq(name, n, "index.md") ||
         emd_ascii_ieq(name, n, "readme.md");
}

int emd_is_event_name(const char *name, size_t n) {
  if (n < 4 || name[0] == '.') return 0;
  if (memcmp(name + n - 3, ".md", 3) != 0) return 0;
  return !emd_is_day_page_name(name, n);
}

/* ------------------------------------------------------------------------
** Frames.
*/

/* One listed entry of a folder. */
typedef emd_listent went;

/* One open folder on the stack. */
typedef struct wframe {
  emd_dir *dir;   /* the folder */
  char *names;    /* the entries' names */
  went *ents;     /* sorted entries */
  size_t n;       /* number of entries */
  size_t i;       /* next entry to yield */
  size_t pathlen; /* length of this folder's relpath prefix ("a/b/") */
  dev_t dev;      /* identity, for link-loop detection and summaries */
  ino_t ino;
  int64_t mtime_ns; /* for the folder's summary */
  int64_t ctime_ns;
  uint64_t moment; /* watch clock before it was listed */
  int year;        /* this folder's name as a year, else -1 */
  int month;       /* this folder's name as a month of a year folder, or -1 */
  int month_year;  /* the year of that month */
  char day[EMD_DATE_BUF]; /* date of the run this folder is in, or "" */
} wframe;

struct emd_walk {
  wframe *fr;             /* the stack */
  int nfr;                /* frames in use */
  int capfr;              /* frames allocated */
  char *path;             /* relpath of the current entry */
  size_t pathcap;         /* bytes allocated for path */
  emd_walk_opts opts;     /* options (pointers borrowed) */
  emd_stats *stats;       /* counters, or NULL */
  char day[EMD_DATE_BUF]; /* date of the last EMD_ITEM_DIR */
};

static int path_set(emd_walk *w, size_t at, const char *s, size_t n,
                    int slash) {
  size_t need = at + n + 2;
  if (need > w->pathcap) {
    size_t cap = w->pathcap ? w->pathcap * 2 : 256;
    char *p;
    while (cap < need) cap *= 2;
    p = emd_realloc(w->path, cap);
    if (!p) return SQLITE_NOMEM;
    w->path = p;
    w->pathcap = cap;
  }
  memcpy(w->path + at, s, n);
  if (slash) w->path[at + n++] = '/';
  w->path[at + n] = 0;
  return SQLITE_OK;
}

/* 1 when a name is not valid UTF-8 (it is shown with U+FFFD). */
static int name_bad(const char *name, size_t n) {
  emd_utf8_info u;
  size_t i;
  for (i = 0; i < n; i++)
    if ((unsigned char)name[i] >= 0x80) break;
  if (i == n) return 0;
  emd_utf8_scan(&u, name, n);
  return !u.valid;
}

int emd_shown_cmp(const char *a, size_t an, const char *b, size_t bn) {
  char *ra = NULL, *rb = NULL;
  size_t n;
  int r;
  if (name_bad(a, an) || name_bad(b, bn)) {
    ra = emd_malloc(3 * an + 1);
    rb = emd_malloc(3 * bn + 1);
    if (ra && rb) {
      an = emd_utf8_repair(ra, a, an);
      bn = emd_utf8_repair(rb, b, bn);
      a = ra;
      b = rb;
    }
  }
  n = an < bn ? an : bn;
  r = memcmp(a, b, n);
  if (!r) r = an < bn ? -1 : an > bn;
  emd_free(ra);
  emd_free(rb);
  return r;
}

/* Path order is the order of the paths as shown: a folder sorts as
** "name/", a file as "name", and a name that is not valid UTF-8 as it is
** shown, with U+FFFD for its bad bytes (ties: the bytes on disk). */
static int went_cmp(const void *pa, const void *pb) {
  const went *a = pa, *b = pb;
  char ra[3 * 256 + 2], rb[3 * 256 + 2];
  const char *an = a->name, *bn = b->name;
  size_t al = a->len, bl = b->len, n;
  int r, ca, cb;
  if (a->bad || b->bad) {
    al = emd_utf8_repair(ra, a->name, a->len);
    bl = emd_utf8_repair(rb, b->name, b->len);
    an = ra;
    bn = rb;
  }
  n = al < bl ? al : bl;
  r = memcmp(an, bn, n);
  if (r) return r;
  ca = al > n ? (unsigned char)an[n] : (a->type == DT_DIR ? '/' : -1);
  cb = bl > n ? (unsigned char)bn[n] : (b->type == DT_DIR ? '/' : -1);
  if (ca != cb) return ca - cb;
  if (al != bl) return al < bl ? -1 : 1;
  if (a->bad || b->bad) {
    n = a->len < b->len ? a->len : b->len;
    r = memcmp(a->name, b->name, n);
    if (r) return r;
    return (int)a->len - (int)b->len;
  }
  return 0;
}

/* Is the entry worth keeping?  Folders and links always (links may lead to
** folders), other types only with an event file name. */
static int keep_entry(const char *name, size_t n, unsigned char type) {
  if (name[0] == '.') return 0;
  if (type == DT_DIR || type == DT_LNK || type == DT_UNKNOWN) return 1;
  return emd_is_event_name(name, n);
}

/* List folder fd into frame f: names and sorted entries.  SQLITE_OK,
** SQLITE_NOMEM, or SQLITE_CANTOPEN with *err. */
static int list_folder(emd_walk *w, wframe *f, int fd, int *err) {
  char buf[32768];
  size_t ncap = 4096, nused = 0, ecap = 32, i;
  char *names = emd_malloc(ncap);
  went *ents = emd_malloc(ecap * sizeof(went));
  int rc = SQLITE_OK;
  f->names = NULL;
  f->ents = NULL;
  f->n = f->i = 0;
  if (!names || !ents) {
    rc = SQLITE_NOMEM;
    goto done;
  }
  for (;;) {
    ssize_t got = getdents64(fd, buf, sizeof(buf)), at = 0;
    if (got < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      rc = SQLITE_CANTOPEN;
      goto done;
    }
    if (got == 0) break;
    while (at < got) {
      struct dirent64 *de = (struct dirent64 *)(buf + at);
      size_t len = strlen(de->d_name);
      unsigned char type = de->d_type;
      at += de->d_reclen;
      if (!keep_entry(de->d_name, len, type)) continue;
      if (type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
          if (errno == ENOENT) continue; /* gone already */
          type = DT_REG; /* let the reader report what is wrong */
        } else if (S_ISDIR(st.st_mode)) {
          type = DT_DIR;
        } else if (S_ISLNK(st.st_mode)) {
          type = DT_LNK;
        } else if (S_ISREG(st.st_mode)) {
          type = DT_REG;
        } else {
          type = DT_FIFO; /* any special file */
        }
        if (!keep_entry(de->d_name, len, type)) continue;
      }
      if (nused + len + 1 > ncap) {
        char *p;
        while (nused + len + 1 > ncap) ncap *= 2;
        p = emd_realloc(names, ncap);
        if (!p) {
          rc = SQLITE_NOMEM;
          goto done;
        }
        names = p;
      }
      if (f->n == ecap) {
        went *p = emd_realloc(ents, ecap * 2 * sizeof(went));
        if (!p) {
          rc = SQLITE_NOMEM;
          goto done;
        }
        ents = p;
        ecap *= 2;
      }
      memcpy(names + nused, de->d_name, len + 1);
      /* Offsets now; pointers once the buffer stops moving. */
      ents[f->n].name = (const char *)(uintptr_t)nused;
      ents[f->n].len = (uint32_t)len;
      ents[f->n].type = type;
      ents[f->n].bad = (unsigned char)name_bad(de->d_name, len);
      f->n++;
      nused += len + 1;
    }
  }
  for (i = 0; i < f->n; i++)
    ents[i].name = names + (size_t)(uintptr_t)ents[i].name;
  if (f->n > 1) qsort(ents, f->n, sizeof(went), went_cmp);
  EMD_COUNT(w->stats, folders_opened, 1);
done:
  if (rc != SQLITE_OK) {
    emd_free(names);
    emd_free(ents);
    f->n = 0;
    return rc;
  }
  f->names = names;
  f->ents = ents;
  return SQLITE_OK;
}

static void frame_free(wframe *f) {
  emd_dir_release(f->dir);
  emd_free(f->names);
  emd_free(f->ents);
  f->dir = NULL;
  f->names = NULL;
  f->ents = NULL;
}

/* Date classification of a child folder `name` of parent (NULL: the root). */
static void classify(wframe *child, const wframe *parent, const char *name,
                     size_t n) {
  child->year = emd_seg_number(name, n, 4, 4);
  if (child->year == 0) child->year = -1;
  child->month = -1;
  child->month_year = -1;
  child->day[0] = 0;
  if (!parent) return;
  if (parent->day[0]) {
    memcpy(child->day, parent->day, EMD_DATE_BUF);
    return;
  }
  if (parent->month >= 0) {
    int d = emd_seg_number(name, n, 1, 2);
    if (d > 0 && emd_valid_date(parent->month_year, parent->month, d)) {
      emd_fmt_date(child->day, parent->month_year, parent->month, d);
      return;
    }
  }
  if (parent->year > 0) {
    int m = emd_seg_number(name, n, 1, 2);
    if (m >= 1 && m <= 12) {
      child->month = m;
      child->month_year = parent->year;
    }
  }
}

static int64_t ts_ns(const struct timespec *t) {
  return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* What folder summaries know a frame's folder as. */
static void folderid_of(emd_folderid *id, const wframe *f) {
  memset(id, 0, sizeof(*id));
  id->dev = (uint64_t)f->dev;
  id->ino = (uint64_t)f->ino;
  id->mtime_ns = f->mtime_ns;
  id->ctime_ns = f->ctime_ns;
  id->wdir = f->dir ? f->dir->wdir : NULL;
  id->moment = f->moment;
}

/* Remember frame f's listing and, for a year or month folder not inside a
** day, whether it holds only date folders. */
static void sums_record(emd_foldersums *s, const wframe *f) {
  int is_year = f->year > 0 && !f->day[0] && f->month < 0;
  int is_month = f->month >= 0 && !f->day[0];
  emd_folderid id;
  folderid_of(&id, f);
  emd_foldersums_record(s, &id, f->ents, f->n,
                        is_year    ? EMD_FOLDER_YEAR
                        : is_month ? EMD_FOLDER_MONTH
                                   : EMD_FOLDER_OTHER,
                        f->month_year, f->month);
}

/* Date range of a year or month folder, as strings. */
static void folder_range(const wframe *child, char lo[EMD_DATE_BUF],
                         char hi[EMD_DATE_BUF]) {
  if (child->month >= 0) {
    emd_fmt_date(lo, child->month_year, child->month, 1);
    emd_fmt_date(hi, child->month_year, child->month, 31);
  } else {
    emd_fmt_date(lo, child->year, 1, 1);
    emd_fmt_date(hi, child->year, 12, 31);
  }
}

/* Push a frame for the open folder fd (taken: closed on failure) and list
** it.  SQLITE_OK, SQLITE_NOMEM, or SQLITE_CANTOPEN with *err. */
/* Room for one more frame; 0 when out of memory. */
static int frame_room(emd_walk *w) {
  if (w->nfr == w->capfr) {
    int cap = w->capfr ? w->capfr * 2 : 16;
    wframe *p = emd_realloc(w->fr, (size_t)cap * sizeof(wframe));
    if (!p) return 0;
    w->fr = p;
    w->capfr = cap;
  }
  return 1;
}

static int push(emd_walk *w, int fd, const wframe *proto, size_t pathlen,
                int *err) {
  wframe *f;
  struct stat st;
  int rc;
  if (!frame_room(w)) {
    close(fd);
    return SQLITE_NOMEM;
  }
  f = &w->fr[w->nfr];
  *f = *proto;
  f->pathlen = pathlen;
  f->dev = 0;
  f->ino = 0;
  f->mtime_ns = f->ctime_ns = -1;
  if (fstat(fd, &st) == 0) {
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->mtime_ns = ts_ns(&st.st_mtim);
    f->ctime_ns = ts_ns(&st.st_ctim);
  }
  f->dir = emd_dir_new(fd, f->mtime_ns >= 0 ? &st : NULL,
                       !w->opts.no_watch && !emd_foldersums_defer_watch(
                                                w->opts.sums, f->dev, f->ino));
  if (!f->dir) return SQLITE_NOMEM;
  f->moment = emd_watch_now(); /* the watch is in place: then list */
  /* An unchanged folder listed before needs no getdents(). */
  if (w->opts.sums && f->mtime_ns >= 0) {
    emd_folderid id;
    folderid_of(&id, f);
    rc = emd_foldersums_listing(w->opts.sums, &id, &f->names, &f->ents, &f->n);
    if (rc == SQLITE_ROW) {
      f->i = 0;
      EMD_COUNT(w->stats, folders_opened, 1);
      w->nfr++;
      return SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
      emd_dir_release(f->dir);
      f->dir = NULL;
      return rc;
    }
  }
  rc = list_folder(w, f, fd, err);
  if (rc != SQLITE_OK) {
    emd_dir_release(f->dir);
    f->dir = NULL;
    return rc;
  }
  w->nfr++;
  if (w->opts.sums) sums_record(w->opts.sums, f);
  return SQLITE_OK;
}

/* Push a frame for folder `name` of frame f's folder without opening it,
** when its listing is held and its watch vouches that nothing in it
** changed.  SQLITE_OK when pushed, SQLITE_DONE when the folder must be
** opened and listed as usual, SQLITE_NOMEM. */
static int push_known(emd_walk *w, wframe *f, const went *e,
                      const wframe *proto, size_t pathlen) {
  struct stat st;
  emd_wdir *wdir;
  emd_folderid id;
  wframe nf;
  uint64_t moment = emd_watch_now(), kdev, kino;
  size_t idx = (size_t)(e - f->ents);
  int rc, pfd;
  /* Only a watched folder can be pushed unopened, and under a folder with
  ** no watch (a new process's first scan adds none) its children have none
  ** either, as a rule: no stat() to find that out (the usual path opens the
  ** folder, which is always right). */
  if (!w->opts.sums || w->opts.no_watch || !f->dir->wdir) return SQLITE_DONE;
  memset(&st, 0, sizeof(st));
  if (emd_foldersums_kid(w->opts.sums, f->dev, f->ino, f->dir->wdir, idx,
                         e->name, e->len, &kdev, &kino)) {
    /* The name still names the folder it named: only its watch can vouch
    ** for its listing now (no times to compare). */
    st.st_dev = (dev_t)kdev;
    st.st_ino = (ino_t)kino;
    nf.mtime_ns = nf.ctime_ns = -1;
  } else {
    pfd = emd_dir_fd(f->dir);
    if (pfd < 0 || fstatat(pfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISDIR(st.st_mode))
      return SQLITE_DONE;
    emd_foldersums_kid_learnt(w->opts.sums, f->dev, f->ino, f->dir->wdir, idx,
                              e->name, e->len, st.st_dev, st.st_ino, moment);
    nf.mtime_ns = ts_ns(&st.st_mtim);
    nf.ctime_ns = ts_ns(&st.st_ctim);
  }
  wdir = emd_watch_find(st.st_dev, st.st_ino);
  if (!wdir) return SQLITE_DONE;
  {
    int64_t mt = nf.mtime_ns, ct = nf.ctime_ns;
    nf = *proto;
    nf.mtime_ns = mt;
    nf.ctime_ns = ct;
  }
  nf.pathlen = pathlen;
  nf.dev = st.st_dev;
  nf.ino = st.st_ino;
  nf.moment = emd_watch_now();
  nf.dir = NULL;
  folderid_of(&id, &nf);
  id.wdir = wdir;
  rc = emd_foldersums_listing(w->opts.sums, &id, &nf.names, &nf.ents, &nf.n);
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? SQLITE_DONE : rc;
  nf.dir = emd_dir_lazy(f->dir, e->name, e->len, (uint64_t)st.st_dev,
                        (uint64_t)st.st_ino, wdir);
  if (!nf.dir || !frame_room(w)) {
    emd_free(nf.names);
    emd_free(nf.ents);
    emd_dir_release(nf.dir);
    return SQLITE_NOMEM;
  }
  nf.i = 0;
  EMD_COUNT(w->stats, folders_opened, 1);
  w->fr[w->nfr++] = nf;
  return SQLITE_OK;
}

/* What is wrong with the open folder fd reached through a link: 0 when it
** is inside the root and not one of the folders we are already in, else
** ELOOP or EXDEV (an errno value, as data). */
static int followed_dir_problem(emd_walk *w, int fd) {
  struct stat st;
  int i;
  if (fstat(fd, &st) != 0) return errno;
  for (i = 0; i < w->nfr; i++)
    if (w->fr[i].dev == st.st_dev && w->fr[i].ino == st.st_ino) return ELOOP;
  return emd_fd_inside(fd, w->opts.root_real) ? 0 : EXDEV;
}

/* The ancestors of folder fd, one ".." at a time, until the root's identity
** (inside) or the top of the file system (outside): for folders too deep
** for /proc/self/fd to name. */
static int inside_by_parents(int fd, const char *root_real) {
  struct stat root, st, up;
  int cur, steps, inside = 0;
  if (stat(root_real, &root) != 0 || fstat(fd, &st) != 0 ||
      !S_ISDIR(st.st_mode))
    return 0;
  cur = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  for (steps = 0; cur >= 0 && steps < 1 << 16; steps++) {
    int parent;
    if (st.st_dev == root.st_dev && st.st_ino == root.st_ino) {
      inside = 1;
      break;
    }
    parent = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    close(cur);
    cur = parent;
    if (cur < 0 || fstat(cur, &up) != 0) break;
    if (up.st_dev == st.st_dev && up.st_ino == st.st_ino) break; /* "/" */
    st = up;
  }
  if (cur >= 0) close(cur);
  return inside;
}

int emd_fd_inside(int fd, const char *root_real) {
  char link[64], real[PATH_MAX + 1];
  ssize_t n;
  size_t rl;
  if (!root_real) return 0;
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  n = readlink(link, real, sizeof(real) - 1);
  if (n <= 0 || (size_t)n >= sizeof(real) - 1)
    return inside_by_parents(fd, root_real);
  real[n] = 0;
  rl = strlen(root_real);
  if (rl == 1 && root_real[0] == '/') return 1;
  return strncmp(real, root_real, rl) == 0 &&
         (real[rl] == 0 || real[rl] == '/');
}

int emd_walk_open(emd_walk **out, int rootfd, const char *sub,
                  const emd_walk_opts *opts, emd_stats *stats, int *err) {
  emd_walk *w = emd_malloc(sizeof(*w));
  wframe proto;
  int fd, rc;
  size_t pathlen = 0;
  *out = NULL;
  *err = 0;
  if (!w) return SQLITE_NOMEM;
  memset(w, 0, sizeof(*w));
  w->opts = *opts;
  w->stats = stats;
  memset(&proto, 0, sizeof(proto));
  classify(&proto, NULL, "", 0);
  /* A new open file description (not a dup): the walk reads the folder
  ** with getdents(), whose position a dup would share. */
  fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *err = errno;
    emd_free(w);
    return SQLITE_CANTOPEN;
  }
  if (path_set(w, 0, "", 0, 0) != SQLITE_OK) {
    close(fd);
    emd_free(w);
    return SQLITE_NOMEM;
  }
  /* Descend to sub, one folder at a time, classifying as we go; a followed
  ** link on the way must stay inside the root like any other. */
  while (sub && *sub) {
    const char *slash = strchr(sub, '/');
    size_t n = slash ? (size_t)(slash - sub) : strlen(sub);
    wframe next;
    int cfd;
    char name[NAME_MAX + 1];
    if (n == 0 || n > NAME_MAX) {
      close(fd);
      emd_walk_close(w);
      *err = ENOENT;
      return SQLITE_CANTOPEN;
    }
    memcpy(name, sub, n);
    name[n] = 0;
    cfd = openat(fd, name,
                 O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                     (opts->follow_symlinks ? 0 : O_NOFOLLOW));
    *err = errno;
    close(fd);
    if (cfd < 0) {
      emd_walk_close(w);
      return SQLITE_CANTOPEN;
    }
    if (opts->follow_symlinks && !emd_fd_inside(cfd, opts->root_real)) {
      close(cfd);
      emd_walk_close(w);
      *err = EXDEV;
      return SQLITE_CANTOPEN;
    }
    fd = cfd;
    classify(&next, &proto, name, n);
    proto = next;
    if (path_set(w, pathlen, name, n, 1) != SQLITE_OK) {
      close(fd);
      emd_walk_close(w);
      return SQLITE_NOMEM;
    }
    pathlen += n + 1;
    sub = slash ? slash + 1 : sub + n;
  }
  rc = push(w, fd, &proto, pathlen, err);
  if (rc != SQLITE_OK) {
    emd_walk_close(w);
    return rc;
  }
  *out = w;
  return SQLITE_OK;
}

const emd_dir *emd_walk_top_dir(const emd_walk *w) {
  return w->nfr > 0 ? w->fr[0].dir : NULL;
}

/* Fill item for the entry at f (relpath already in w->path). */
static void item_at(emd_walk *w, const wframe *f, const went *e, int kind,
                    int folder, emd_walk_item *item) {
  memset(item, 0, sizeof(*item));
  item->kind = kind;
  item->relpath = w->path;
  item->relpath_len = f->pathlen + e->len + (size_t)folder;
  item->name = w->path + f->pathlen;
  item->dir = f->dir;
  /* A file's date is its folder's, worked out once for all its files. */
  item->day = folder ? NULL : f->day;
}

int emd_walk_next(emd_walk *w, emd_walk_item *item) {
  while (w->nfr > 0) {
    wframe *f = &w->fr[w->nfr - 1];
    const went *e;
    int isdir, follow = 0;
    if (f->i >= f->n) {
      frame_free(f);
      w->nfr--;
      continue;
    }
    e = &f->ents[f->i++];
    isdir = e->type == DT_DIR;
    if (e->type == DT_LNK) {
      struct stat st;
      int kind = EMD_ITEM_LINK; /* not followed, or dangling */
      if (w->opts.follow_symlinks &&
          fstatat(emd_dir_fd(f->dir), e->name, &st, 0) == 0) {
        follow = 1;
        isdir = S_ISDIR(st.st_mode);
        kind = S_ISREG(st.st_mode) ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL;
      }
      if (!isdir) {
        if (!emd_is_event_name(e->name, e->len)) continue;
        if (path_set(w, f->pathlen, e->name, e->len, 0)) return SQLITE_NOMEM;
        item_at(w, f, e, kind, 0, item);
        item->follow = follow;
        return SQLITE_ROW;
      }
    }
    if (isdir) {
      wframe child;
      int fd, err = 0, rc;
      classify(&child, f, e->name, e->len);
      if (path_set(w, f->pathlen, e->name, e->len, 1)) return SQLITE_NOMEM;
      if (child.day[0] && !f->day[0] && w->opts.date &&
          !emd_datefilter_overlaps(w->opts.date, child.day, child.day)) {
        EMD_COUNT(w->stats, folders_pruned, 1);
        continue;
      }
      /* A year or month folder outside the dates asked for, known to hold
      ** only date folders: skip it unopened. */
      if (!child.day[0] && (child.year > 0 || child.month >= 0) &&
          w->opts.date && w->opts.sums && !follow) {
        char lo[EMD_DATE_BUF], hi[EMD_DATE_BUF];
        folder_range(&child, lo, hi);
        if (!emd_datefilter_overlaps(w->opts.date, lo, hi) &&
            emd_date_only(w->opts.sums, f->dir, e->name, child.month < 0)) {
          EMD_COUNT(w->stats, folders_pruned, 1);
          continue;
        }
      }
      if (w->opts.one_level) {
        /* Not entered: the date-ordered scan lists it when its turn comes
        ** (and checks it then, like any folder it opens). */
        item_at(w, f, e, EMD_ITEM_DIR, 1, item);
        memcpy(w->day, child.day, sizeof(w->day));
        item->day = w->day[0] ? w->day : NULL;
        item->year = child.year;
        item->month = child.month;
        item->month_year = child.month_year;
        item->follow = follow;
        return SQLITE_ROW;
      }
      if (!follow) {
        rc = push_known(w, f, e, &child, f->pathlen + e->len + 1);
        if (rc == SQLITE_OK) continue;
        if (rc != SQLITE_DONE) return rc;
        f = &w->fr[w->nfr - 1]; /* the stack may have moved */
      }
      fd = emd_dir_fd(f->dir);
      if (fd >= 0)
        fd = openat(
            fd, e->name,
            O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
      if (fd < 0) {
        err = errno;
        if (err == ENOENT) continue; /* vanished: nothing to report */
      } else {
        err = follow ? followed_dir_problem(w, fd) : 0;
        if (err) {
          close(fd);
        } else {
          rc = push(w, fd, &child, f->pathlen + e->len + 1, &err);
          if (rc == SQLITE_NOMEM) return SQLITE_NOMEM;
          if (rc == SQLITE_OK) continue;
          f = &w->fr[w->nfr - 1]; /* the stack may have moved */
        }
      }
      item_at(w, f, e, EMD_ITEM_FOLDER, 1, item);
      item->err = err;
      return SQLITE_ROW;
    }
    if (path_set(w, f->pathlen, e->name, e->len, 0)) return SQLITE_NOMEM;
    item_at(w, f, e, e->type == DT_REG ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL, 0,
            item);
    return SQLITE_ROW;
  }
  return SQLITE_DONE;
}

void emd_walk_close(emd_walk *w) {
  if (!w) return;
  while (w->nfr > 0) frame_free(&w->fr[--w->nfr]);
  emd_free(w->fr);
  emd_free(w->path);
  emd_free(w);
}
