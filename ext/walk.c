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
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emd.h"
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
    close(d->fd);
    emd_free(d);
  }
}

emd_dir *emd_dir_new(int fd) {
  emd_dir *d = emd_malloc(sizeof(*d));
  if (!d) {
    close(fd);
    return NULL;
  }
  d->fd = fd;
  d->refs = 1;
  d->info = NULL;
  d->info_free = NULL;
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
  if (f->empty) return 0;
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
typedef struct went {
  const char *name;   /* NUL-terminated, inside the frame's names buffer */
  uint32_t len;       /* strlen(name) */
  unsigned char type; /* DT_DIR, DT_REG, DT_LNK, DT_FIFO, ... */
} went;

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
  int year;       /* this folder's name as a year, else -1 */
  int month;      /* this folder's name as a month of a year folder, or -1 */
  int month_year; /* the year of that month */
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
  char day[EMD_DATE_BUF]; /* date of the last EMD_ITEM_DAY */
};

static int path_set(emd_walk *w, size_t at, const char *s, size_t n,
                    int slash) {
  size_t need = at + n + 2;
  if (need > w->pathcap) {
    size_t cap = w->pathcap ? w->pathcap * 2 : 256;
    char *p;
    while (cap < need) cap *= 2;
    p = emd_realloc(w->path, cap);
    if (!p) return ENOMEM;
    w->path = p;
    w->pathcap = cap;
  }
  memcpy(w->path + at, s, n);
  if (slash) w->path[at + n++] = '/';
  w->path[at + n] = 0;
  return 0;
}

/* Sort key comparison: a folder sorts as "name/", a file as "name". */
static int went_cmp(const void *pa, const void *pb) {
  const went *a = pa, *b = pb;
  size_t n = a->len < b->len ? a->len : b->len;
  int r = memcmp(a->name, b->name, n), ca, cb;
  if (r) return r;
  ca = a->len > n ? (unsigned char)a->name[n] : (a->type == DT_DIR ? '/' : -1);
  cb = b->len > n ? (unsigned char)b->name[n] : (b->type == DT_DIR ? '/' : -1);
  if (ca != cb) return ca - cb;
  return (int)a->len - (int)b->len;
}

/* Is the entry worth keeping?  Folders and links always (links may lead to
** folders), other types only with an event file name. */
static int keep_entry(const char *name, size_t n, unsigned char type) {
  if (name[0] == '.') return 0;
  if (type == DT_DIR || type == DT_LNK || type == DT_UNKNOWN) return 1;
  return emd_is_event_name(name, n);
}

/* List folder fd into frame f: names and sorted entries.  Returns 0 or an
** errno value. */
static int list_folder(emd_walk *w, wframe *f, int fd) {
  char buf[32768];
  size_t ncap = 4096, nused = 0, ecap = 32, i;
  char *names = emd_malloc(ncap);
  went *ents = emd_malloc(ecap * sizeof(went));
  int err = 0;
  f->names = NULL;
  f->ents = NULL;
  f->n = f->i = 0;
  if (!names || !ents) {
    err = ENOMEM;
    goto done;
  }
  for (;;) {
    ssize_t got = getdents64(fd, buf, sizeof(buf)), at = 0;
    if (got < 0) {
      if (errno == EINTR) continue;
      err = errno;
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
          err = ENOMEM;
          goto done;
        }
        names = p;
      }
      if (f->n == ecap) {
        went *p = emd_realloc(ents, ecap * 2 * sizeof(went));
        if (!p) {
          err = ENOMEM;
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
      f->n++;
      nused += len + 1;
    }
  }
  for (i = 0; i < f->n; i++)
    ents[i].name = names + (size_t)(uintptr_t)ents[i].name;
  if (f->n > 1) qsort(ents, f->n, sizeof(went), went_cmp);
  EMD_COUNT(w->stats, folders_opened, 1);
done:
  if (err) {
    emd_free(names);
    emd_free(ents);
    f->n = 0;
    return err;
  }
  f->names = names;
  f->ents = ents;
  return 0;
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

/* ------------------------------------------------------------------------
** Folder summaries.
*/
static int64_t ts_ns(const struct timespec *t) {
  return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* A folder changed within the last RACY_NS of its listing may change again
** without its timestamps moving (they tick coarsely): its summary is not
** trusted. */
#define RACY_NS ((int64_t)2000000000)
#define SUMS_MAX 65536

typedef struct fsum {
  dev_t dev;
  ino_t ino;
  int64_t mtime_ns, ctime_ns; /* the listed version */
  int date_only;              /* nothing but date folders inside */
  char *months;               /* year folders: month names, NUL-separated,
                                 ending with an empty name */
  char *listing;              /* the sorted entries: a type byte, two
                                 length bytes, the name, a NUL, for each of
                                 nlisting */
  size_t listing_len;         /* bytes of listing */
  size_t nlisting;            /* entries */
  struct fsum *next;
} fsum;

struct emd_foldersums {
  fsum **slots;
  size_t nslots; /* power of two */
  size_t count;
  size_t bytes;     /* listing bytes held */
  size_t max_bytes; /* bound on bytes; when reached all are dropped */
};

emd_foldersums *emd_foldersums_new(void) {
  emd_foldersums *s = emd_malloc(sizeof(*s));
  if (!s) return NULL;
  memset(s, 0, sizeof(*s));
  return s;
}

static void sums_clear(emd_foldersums *s) {
  size_t i;
  for (i = 0; i < s->nslots; i++) {
    fsum *f = s->slots[i];
    while (f) {
      fsum *n = f->next;
      emd_free(f->months);
      emd_free(f->listing);
      emd_free(f);
      f = n;
    }
    s->slots[i] = NULL;
  }
  s->count = 0;
  s->bytes = 0;
}

void emd_foldersums_set_limit(emd_foldersums *s, size_t max_bytes) {
  s->max_bytes = max_bytes;
  if (s->bytes > max_bytes || max_bytes == 0) sums_clear(s);
}

size_t emd_foldersums_bytes(const emd_foldersums *s) {
  return s->bytes + s->count * sizeof(fsum);
}

void emd_foldersums_free(emd_foldersums *s) {
  if (!s) return;
  sums_clear(s);
  emd_free(s->slots);
  emd_free(s);
}

static size_t sums_slot(const emd_foldersums *s, dev_t dev, ino_t ino) {
  uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev;
  return (size_t)(h >> 17) & (s->nslots - 1);
}

static fsum *sums_find(emd_foldersums *s, dev_t dev, ino_t ino) {
  fsum *f;
  if (!s->nslots) return NULL;
  for (f = s->slots[sums_slot(s, dev, ino)]; f; f = f->next)
    if (f->dev == dev && f->ino == ino) return f;
  return NULL;
}

/* Remember frame f's listing and, for a year or month folder not inside a
** day, whether it holds only date folders. */
static void sums_record(emd_foldersums *s, const wframe *f) {
  struct timespec now;
  int is_year = f->year > 0 && !f->day[0] && f->month < 0;
  int is_month = f->month >= 0 && !f->day[0];
  int date_only = is_year || is_month;
  size_t i, mlen = 1, llen = 0;
  fsum *x;
  char *o;
  if (f->mtime_ns < 0 || s->max_bytes == 0) return;
  clock_gettime(CLOCK_REALTIME, &now);
  if (f->mtime_ns > ts_ns(&now) - RACY_NS ||
      f->ctime_ns > ts_ns(&now) - RACY_NS)
    return;
  for (i = 0; i < f->n; i++) {
    const went *e = &f->ents[i];
    int v = emd_seg_number(e->name, e->len, 1, 2);
    if (e->type != DT_DIR)
      date_only = 0;
    else if (is_year && (v < 1 || v > 12))
      date_only = 0;
    else if (is_month && (v < 1 || !emd_valid_date(f->month_year, f->month, v)))
      date_only = 0;
    mlen += e->len + 1;
    llen += e->len + 4;
  }
  if (!s->nslots) {
    s->slots = emd_malloc(1024 * sizeof(fsum *));
    if (!s->slots) return;
    memset(s->slots, 0, 1024 * sizeof(fsum *));
    s->nslots = 1024;
  }
  if (s->count >= SUMS_MAX || s->bytes + llen > s->max_bytes) sums_clear(s);
  x = sums_find(s, f->dev, f->ino);
  if (!x) {
    size_t k = sums_slot(s, f->dev, f->ino);
    x = emd_malloc(sizeof(*x));
    if (!x) return;
    memset(x, 0, sizeof(*x));
    x->dev = f->dev;
    x->ino = f->ino;
    x->next = s->slots[k];
    s->slots[k] = x;
    s->count++;
  }
  emd_free(x->months);
  x->months = NULL;
  s->bytes -= x->listing_len;
  emd_free(x->listing);
  x->listing = NULL;
  x->listing_len = x->nlisting = 0;
  x->mtime_ns = f->mtime_ns;
  x->ctime_ns = f->ctime_ns;
  x->date_only = date_only;
  if (date_only && is_year) {
    char *m = emd_malloc(mlen);
    if (!m) {
      x->date_only = 0;
    } else {
      for (o = m, i = 0; i < f->n; i++) {
        memcpy(o, f->ents[i].name, f->ents[i].len + 1);
        o += f->ents[i].len + 1;
      }
      *o = 0;
      x->months = m;
    }
  }
  x->listing = emd_malloc(llen ? llen : 1);
  if (!x->listing) return;
  for (o = x->listing, i = 0; i < f->n; i++) {
    *o++ = (char)f->ents[i].type;
    *o++ = (char)(f->ents[i].len & 0xff);
    *o++ = (char)(f->ents[i].len >> 8); /* names are at most 255 bytes */
    memcpy(o, f->ents[i].name, f->ents[i].len + 1);
    o += f->ents[i].len + 1;
  }
  x->listing_len = llen;
  x->nlisting = f->n;
  s->bytes += llen;
}

/* Fill frame f from the listing kept for its folder, when that folder is
** unchanged since (same mtime and ctime).  1 when done, 0 to list it. */
static int sums_listing(emd_foldersums *s, wframe *f) {
  fsum *x = sums_find(s, f->dev, f->ino);
  size_t i;
  const char *p;
  if (!x || !x->listing || x->mtime_ns != f->mtime_ns ||
      x->ctime_ns != f->ctime_ns)
    return 0;
  f->names = emd_malloc(x->listing_len ? x->listing_len : 1);
  f->ents = emd_malloc((x->nlisting ? x->nlisting : 1) * sizeof(went));
  if (!f->names || !f->ents) {
    emd_free(f->names);
    emd_free(f->ents);
    f->names = NULL;
    f->ents = NULL;
    return 0;
  }
  memcpy(f->names, x->listing, x->listing_len);
  for (p = f->names, i = 0; i < x->nlisting; i++) {
    size_t len = (unsigned char)p[1] | (size_t)(unsigned char)p[2] << 8;
    f->ents[i].type = (unsigned char)p[0];
    f->ents[i].name = p + 3;
    f->ents[i].len = (uint32_t)len;
    p += len + 4;
  }
  f->n = x->nlisting;
  f->i = 0;
  return 1;
}

/* Is the folder at dirfd/name (a year when year, else a month) known to
** hold nothing but date folders, unchanged since it was listed? */
static int sums_date_only(emd_foldersums *s, int dirfd, const char *name,
                          int year) {
  struct stat st;
  fsum *x;
  const char *m;
  int yfd, ok = 1;
  if (!s || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISDIR(st.st_mode))
    return 0;
  x = sums_find(s, st.st_dev, st.st_ino);
  if (!x || !x->date_only || x->mtime_ns != ts_ns(&st.st_mtim) ||
      x->ctime_ns != ts_ns(&st.st_ctim))
    return 0;
  if (!year || !x->months || !*x->months) return 1;
  /* The months, each one stat() relative to the year itself (one path
  ** component to resolve, not two). */
  yfd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (yfd < 0) return 0;
  if (fstat(yfd, &st) != 0 || st.st_dev != x->dev || st.st_ino != x->ino)
    ok = 0;
  for (m = x->months; ok && *m; m += strlen(m) + 1)
    ok = sums_date_only(s, yfd, m, 0);
  close(yfd);
  return ok;
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

/* Push a frame for the open folder fd; lists it.  On failure fd is closed
** and an errno value returned. */
static int push(emd_walk *w, int fd, const wframe *proto, size_t pathlen) {
  wframe *f;
  struct stat st;
  int err;
  if (w->nfr == w->capfr) {
    int cap = w->capfr ? w->capfr * 2 : 16;
    wframe *p = emd_realloc(w->fr, (size_t)cap * sizeof(wframe));
    if (!p) {
      close(fd);
      return ENOMEM;
    }
    w->fr = p;
    w->capfr = cap;
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
  f->dir = emd_dir_new(fd);
  if (!f->dir) return ENOMEM;
  /* An unchanged folder listed before needs no getdents(). */
  if (w->opts.sums && f->mtime_ns >= 0 && sums_listing(w->opts.sums, f)) {
    EMD_COUNT(w->stats, folders_opened, 1);
    w->nfr++;
    return 0;
  }
  err = list_folder(w, f, fd);
  if (err) {
    emd_dir_release(f->dir);
    f->dir = NULL;
    return err;
  }
  w->nfr++;
  if (w->opts.sums) sums_record(w->opts.sums, f);
  return 0;
}

/* Is the open folder fd (reached through a link) inside the root, and not
** one of the folders we are already in? 0, ELOOP or EXDEV. */
static int check_followed_dir(emd_walk *w, int fd) {
  struct stat st;
  int i;
  if (fstat(fd, &st) != 0) return errno;
  for (i = 0; i < w->nfr; i++)
    if (w->fr[i].dev == st.st_dev && w->fr[i].ino == st.st_ino) return ELOOP;
  return emd_fd_inside(fd, w->opts.root_real) ? 0 : EXDEV;
}

int emd_fd_inside(int fd, const char *root_real) {
  char link[64], real[4096];
  ssize_t n;
  size_t rl;
  if (!root_real) return 0;
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  n = readlink(link, real, sizeof(real) - 1);
  if (n <= 0) return 0;
  real[n] = 0;
  rl = strlen(root_real);
  if (rl == 1 && root_real[0] == '/') return 1;
  return strncmp(real, root_real, rl) == 0 &&
         (real[rl] == 0 || real[rl] == '/');
}

int emd_walk_open(emd_walk **out, int rootfd, const char *sub,
                  const emd_walk_opts *opts, emd_stats *stats) {
  emd_walk *w = emd_malloc(sizeof(*w));
  wframe proto;
  int fd, err;
  size_t pathlen = 0;
  *out = NULL;
  if (!w) return ENOMEM;
  memset(w, 0, sizeof(*w));
  w->opts = *opts;
  w->stats = stats;
  memset(&proto, 0, sizeof(proto));
  classify(&proto, NULL, "", 0);
  /* A new open file description (not a dup): the walk reads the folder
  ** with getdents(), whose position a dup would share. */
  fd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    emd_free(w);
    return err;
  }
  if (path_set(w, 0, "", 0, 0)) {
    close(fd);
    emd_free(w);
    return ENOMEM;
  }
  /* Descend to sub, one folder at a time, classifying as we go. */
  while (sub && *sub) {
    const char *slash = strchr(sub, '/');
    size_t n = slash ? (size_t)(slash - sub) : strlen(sub);
    wframe next;
    int cfd;
    char name[256];
    if (n == 0 || n >= sizeof(name)) {
      close(fd);
      emd_walk_close(w);
      return ENOENT;
    }
    memcpy(name, sub, n);
    name[n] = 0;
    cfd = openat(fd, name,
                 O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                     (opts->follow_symlinks ? 0 : O_NOFOLLOW));
    err = errno;
    close(fd);
    if (cfd < 0) {
      emd_walk_close(w);
      return err;
    }
    fd = cfd;
    classify(&next, &proto, name, n);
    proto = next;
    if (path_set(w, pathlen, name, n, 1)) {
      close(fd);
      emd_walk_close(w);
      return ENOMEM;
    }
    pathlen += n + 1;
    sub = slash ? slash + 1 : sub + n;
  }
  err = push(w, fd, &proto, pathlen);
  if (err) {
    emd_walk_close(w);
    return err;
  }
  *out = w;
  return 0;
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
      if (!w->opts.follow_symlinks) {
        if (!emd_is_event_name(e->name, e->len)) continue;
        if (path_set(w, f->pathlen, e->name, e->len, 0)) return -ENOMEM;
        memset(item, 0, sizeof(*item));
        item->kind = EMD_ITEM_LINK;
        goto yield;
      }
      if (fstatat(f->dir->fd, e->name, &st, 0) != 0) {
        if (!emd_is_event_name(e->name, e->len)) continue;
        if (path_set(w, f->pathlen, e->name, e->len, 0)) return -ENOMEM;
        memset(item, 0, sizeof(*item));
        item->kind = EMD_ITEM_LINK; /* dangling link */
        goto yield;
      }
      follow = 1;
      isdir = S_ISDIR(st.st_mode);
      if (!isdir) {
        if (!emd_is_event_name(e->name, e->len)) continue;
        if (path_set(w, f->pathlen, e->name, e->len, 0)) return -ENOMEM;
        memset(item, 0, sizeof(*item));
        item->kind = S_ISREG(st.st_mode) ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL;
        item->follow = 1;
        goto yield;
      }
    }
    if (isdir) {
      wframe child;
      int fd, err;
      classify(&child, f, e->name, e->len);
      if (path_set(w, f->pathlen, e->name, e->len, 1)) return -ENOMEM;
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
            sums_date_only(w->opts.sums, f->dir->fd, e->name,
                           child.month < 0)) {
          EMD_COUNT(w->stats, folders_pruned, 1);
          continue;
        }
      }
      if (child.day[0] && !f->day[0] && w->opts.skip_day_folders) {
        memcpy(w->day, child.day, sizeof(w->day));
        memset(item, 0, sizeof(*item));
        item->kind = EMD_ITEM_DAY;
        item->day = w->day;
        item->relpath = w->path;
        item->relpath_len = f->pathlen + e->len + 1;
        item->name = w->path + f->pathlen;
        item->dir = f->dir;
        return 1;
      }
      fd = openat(
          f->dir->fd, e->name,
          O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
      if (fd < 0) {
        err = errno;
        if (err == ENOENT) continue; /* vanished: nothing to report */
      } else {
        err = follow ? check_followed_dir(w, fd) : 0;
        if (err) {
          close(fd);
        } else {
          err = push(w, fd, &child, f->pathlen + e->len + 1);
          if (err == ENOMEM) return -ENOMEM;
          if (!err) continue;
          f = &w->fr[w->nfr - 1]; /* the stack may have moved */
        }
      }
      memset(item, 0, sizeof(*item));
      item->kind = EMD_ITEM_FOLDER;
      item->err = err;
      item->relpath = w->path;
      item->relpath_len = f->pathlen + e->len + 1;
      item->name = w->path + f->pathlen;
      item->dir = f->dir;
      return 1;
    }
    if (path_set(w, f->pathlen, e->name, e->len, 0)) return -ENOMEM;
    memset(item, 0, sizeof(*item));
    item->kind = e->type == DT_REG ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL;
  yield:
    item->relpath = w->path;
    item->relpath_len = f->pathlen + e->len;
    item->name = w->path + f->pathlen;
    item->dir = f->dir;
    item->follow = follow;
    return 1;
  }
  return 0;
}

void emd_walk_close(emd_walk *w) {
  if (!w) return;
  while (w->nfr > 0) frame_free(&w->fr[--w->nfr]);
  emd_free(w->fr);
  emd_free(w->path);
  emd_free(w);
}
