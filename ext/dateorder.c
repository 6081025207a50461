/* SPDX-License-Identifier: MIT */
/*
** dateorder.c - the entries of a scan in date or rowid order (see
** dateorder.h).
*/
#include "dateorder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emd.h"
#include "text.h"

int64_t emd_day_number(const char *ymd) {
  int64_t y, m, d, era, yoe, doy, doe;
  if (!ymd || !emd_is_iso_date(ymd, EMD_DATE_LEN)) return 0;
  y = emd_seg_number(ymd, 4, 4, 4);
  m = emd_seg_number(ymd + 5, 2, 2, 2);
  d = emd_seg_number(ymd + 8, 2, 2, 2);
  /* Days of the proleptic Gregorian calendar, counted from March so that a
  ** leap day ends its year. */
  y -= m <= 2;
  era = y / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 305; /* 0001-01-01 is 1 */
}

/* A folder on the way down from the root: a followed link must not lead
** back to one of them (a loop). */
typedef struct chain {
  struct chain *up; /* the folder it is in, or NULL */
  uint64_t dev, ino;
  int refs;
} chain;

static chain *chain_ref(chain *c) {
  if (c) c->refs++;
  return c;
}

static void chain_release(chain *c) {
  while (c && --c->refs == 0) {
    chain *up = c->up;
    emd_free(c);
    c = up;
  }
}

/* Something still to read or to emit. */
typedef struct ditem {
  int64_t key;     /* the earliest day it can hold; 0 = no date (first) */
  int explore;     /* a folder to list (before anything of its key) */
  int day_folder;  /* a day folder: its files are emitted with its date */
  int kind;        /* EMD_ITEM_* of an entry to emit */
  int follow;      /* a link the table follows */
  int err;         /* errno of an EMD_ITEM_FOLDER row */
  char *relpath;   /* owned */
  size_t len;      /* strlen(relpath) */
  size_t name_off; /* where the last component starts */
  uint64_t tie;    /* rowid order: the rowid */
  chain *up;       /* the folders it was reached through (a reference) */
  emd_dir *dir;    /* entries of a listed day folder: their folder */
} ditem;

struct emd_dateorder {
  int order;                  /* EMD_ORDER_* */
  int rootfd;                 /* borrowed */
  emd_walk_opts wo;           /* for listing folders */
  emd_stats *stats;           /* counters */
  const emd_scan_ctx *sc;     /* for the dates of files outside day folders */
  emd_scratch *s;             /* their scratch */
  int64_t rowid_lo, rowid_hi; /* rowid order: the rowids wanted */
  int64_t day_lo, day_hi;     /* ... and their path dates */
  ditem *heap; /* what is still to read, by (key, explore first) */
  size_t n, cap;
  ditem *group; /* the current date's entries, in emitting order */
  size_t ngroup, capgroup, igroup;
  int root_err;    /* errno when the root could not be listed */
  emd_dir *last;   /* the folder of the last file outside day folders
                           handed out (a reference), or NULL: the next
                           file of the same folder needs no new open */
  char *last_path; /* its relpath, with a trailing '/' (owned) */
  size_t last_len;
  int (*yield)(void *); /* lets the statement be interrupted */
  void *yield_ctx;      /* its argument */
};

static void item_free(ditem *x) {
  emd_free(x->relpath);
  chain_release(x->up);
  emd_dir_release(x->dir);
  memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------------------
** The heap.
*/
static int before(const ditem *a, const ditem *b) {
  if (a->key != b->key) return a->key < b->key;
  return a->explore > b->explore;
}

static int heap_push(emd_dateorder *d, ditem *x) {
  size_t i;
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 64;
    ditem *p = emd_realloc(d->heap, cap * sizeof(ditem));
    if (!p) return SQLITE_NOMEM;
    d->heap = p;
    d->cap = cap;
  }
  i = d->n++;
  while (i > 0 && before(x, &d->heap[(i - 1) / 2])) {
    d->heap[i] = d->heap[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  d->heap[i] = *x;
  memset(x, 0, sizeof(*x)); /* ownership moved */
  return SQLITE_OK;
}

static void heap_pop(emd_dateorder *d, ditem *out) {
  ditem last;
  size_t i = 0;
  *out = d->heap[0];
  last = d->heap[--d->n];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= d->n) break;
    if (c + 1 < d->n && before(&d->heap[c + 1], &d->heap[c])) c++;
    if (!before(&d->heap[c], &last)) break;
    d->heap[i] = d->heap[c];
    i = c;
  }
  if (d->n) d->heap[i] = last;
}

/* ------------------------------------------------------------------------
** Keys.
*/
uint64_t emd_path_rowid(const char *relpath, size_t len) {
  char date[EMD_DATE_BUF];
  uint64_t day =
      emd_relpath_date(date, relpath, len) ? (uint64_t)emd_day_number(date) : 0;
  return day << 31 | (emd_hash64(relpath, len) & 0x7FFFFFFFULL);
}

/* The date of a file outside day folders: its heading's, read through the
** cache (item from the listing walk, its folder open).  *gone: it vanished. */
static int heading_day(emd_dateorder *d, const emd_walk_item *it, int64_t *day,
                       int *gone) {
  emd_entry e;
  emd_scan_ctx one = *d->sc;
  int rc;
  *day = 0;
  *gone = 0;
  if (it->kind != EMD_ITEM_FILE) return SQLITE_OK; /* no heading to read */
  memset(&e, 0, sizeof(e));
  rc = emd_entry_set(&e, it->kind, it->relpath, it->relpath_len,
                     (size_t)(it->name - it->relpath), it->dir, it->follow,
                     it->err, NULL);
  if (rc == SQLITE_OK) {
    one.want_parse = 1;
    one.want_markdown = 0;
    emd_entry_process(&one, &e, d->s);
    rc = e.rc;
    *gone = e.gone;
    if (emd_entry_rec(&e)) {
      emd_str hd = emd_rec_field(emd_entry_rec(&e), EMD_F_HEADING_DATE);
      if (hd.p && hd.n == EMD_DATE_LEN) {
        char ymd[EMD_DATE_BUF];
        memcpy(ymd, hd.p, EMD_DATE_LEN);
        ymd[EMD_DATE_LEN] = 0;
        *day = emd_day_number(ymd);
      }
    }
  }
  emd_entry_free(&e);
  return rc;
}

/* An item copied from a listing walk's entry. */
static int item_of(ditem *x, const emd_walk_item *it, chain *up) {
  memset(x, 0, sizeof(*x));
  x->relpath = emd_strndup(it->relpath, it->relpath_len);
  if (!x->relpath) return SQLITE_NOMEM;
  x->len = it->relpath_len;
  x->name_off = (size_t)(it->name - it->relpath);
  x->kind = it->kind;
  x->follow = it->follow;
  x->err = it->err;
  x->up = chain_ref(up);
  x->tie = emd_path_rowid(x->relpath, x->len);
  return SQLITE_OK;
}

/* The first day of a year or month folder; with next, the first day after
** it. */
static int64_t first_day(const emd_walk_item *it, int next) {
  char ymd[EMD_DATE_BUF];
  int y = it->month >= 0 ? it->month_year : it->year;
  int m = it->month >= 0 ? it->month : 1;
  if (next && it->month >= 0 && m < 12) {
    m++;
  } else if (next) {
    y++;
    m = 1;
  }
  if (y > 9999) return INT64_MAX;
  emd_fmt_date(ymd, y, m, 1);
  return emd_day_number(ymd);
}

/* ------------------------------------------------------------------------
** Listing a folder whose turn has come.
*/

/* A row for a folder that cannot be read (or a link that loops or leaves
** the root): it is emitted with the entries without a date. */
static int folder_row(emd_dateorder *d, const ditem *f, int err) {
  ditem x;
  memset(&x, 0, sizeof(x));
  x.relpath = emd_strndup(f->relpath, f->len);
  if (!x.relpath) return SQLITE_NOMEM;
  x.len = f->len;
  x.name_off = f->name_off;
  x.kind = EMD_ITEM_FOLDER;
  x.err = err;
  x.tie = emd_path_rowid(x.relpath, x.len);
  x.key = d->order == EMD_ORDER_ROWID ? (int64_t)(x.tie >> 31) : 0;
  return heap_push(d, &x);
}

/* List folder f (not a day folder) one level deep: its files and its
** subfolders go into the heap. */
static int explore(emd_dateorder *d, const ditem *f) {
  emd_walk *w = NULL;
  emd_walk_item it;
  emd_walk_opts wo = d->wo;
  const emd_dir *top;
  chain *here, *c;
  int rc, err = 0;
  wo.one_level = 1;
  rc = emd_walk_open(&w, d->rootfd, f->relpath, &wo, d->stats, &err);
  if (rc == SQLITE_NOMEM) return rc;
  if (rc != SQLITE_OK) {
    if (!f->len) { /* the root itself */
      d->root_err = err;
      return SQLITE_CANTOPEN;
    }
    if (err == ENOENT) return SQLITE_OK; /* vanished */
    return folder_row(d, f, err);
  }
  top = emd_walk_top_dir(w);
  for (c = f->up; c; c = c->up)
    if (top && c->dev == top->dev && c->ino == top->ino) break;
  if (c) { /* a link back to a folder it is in */
    emd_walk_close(w);
    return folder_row(d, f, ELOOP);
  }
  here = emd_malloc(sizeof(*here));
  if (!here) {
    emd_walk_close(w);
    return SQLITE_NOMEM;
  }
  here->up = chain_ref(f->up);
  here->dev = top ? top->dev : 0;
  here->ino = top ? top->ino : 0;
  here->refs = 1;
  while ((rc = emd_walk_next(w, &it)) == SQLITE_ROW) {
    ditem x;
    int gone = 0;
    rc = d->yield(d->yield_ctx);
    if (rc != SQLITE_OK) break;
    rc = item_of(&x, &it, here);
    if (rc != SQLITE_OK) break;
    if (it.kind == EMD_ITEM_DIR && it.day) {
      x.day_folder = 1;
      x.key = emd_day_number(it.day);
      if (d->order == EMD_ORDER_ROWID &&
          (x.key < d->day_lo || x.key > d->day_hi))
        gone = 1; /* no rowid wanted lies in it */
    } else if (it.kind == EMD_ITEM_DIR) {
      /* A year or month folder known to hold only date folders waits for
      ** its first day; any other folder may hold anything: now. */
      x.explore = 1;
      if ((it.year > 0 || it.month >= 0) && !it.follow && d->wo.sums &&
          emd_date_only(d->wo.sums, it.dir, it.name, it.month < 0)) {
        x.key = first_day(&it, 0);
        if (d->order == EMD_ORDER_ROWID &&
            (x.key > d->day_hi || first_day(&it, 1) <= d->day_lo))
          gone = 1;
      }
    } else if (d->order == EMD_ORDER_ROWID) {
      x.key = (int64_t)(x.tie >> 31);
    } else {
      rc = heading_day(d, &it, &x.key, &gone);
    }
    if (rc == SQLITE_OK && !gone) rc = heap_push(d, &x);
    item_free(&x);
    if (rc != SQLITE_OK) break;
  }
  chain_release(here);
  emd_walk_close(w);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ------------------------------------------------------------------------
** Groups: one date's entries.
*/
static int group_add(emd_dateorder *d, ditem *x) {
  if (d->ngroup == d->capgroup) {
    size_t cap = d->capgroup ? d->capgroup * 2 : 64;
    ditem *p = emd_realloc(d->group, cap * sizeof(ditem));
    if (!p) return SQLITE_NOMEM;
    d->group = p;
    d->capgroup = cap;
  }
  d->group[d->ngroup++] = *x;
  memset(x, 0, sizeof(*x));
  return SQLITE_OK;
}

/* Is entry x one to hand out (rowid order: its rowid is in the bounds)? */
static int wanted(const emd_dateorder *d, const ditem *x) {
  return d->order != EMD_ORDER_ROWID ||
         ((int64_t)x->tie >= d->rowid_lo && (int64_t)x->tie <= d->rowid_hi);
}

/* The files of day folder f (its whole subtree, in path order) into the
** group. */
static int list_day(emd_dateorder *d, const ditem *f) {
  emd_walk *w = NULL;
  emd_walk_item it;
  emd_walk_opts wo = d->wo;
  int rc, err = 0;
  wo.one_level = 0;
  wo.date = NULL; /* a day folder's files all have its date */
  rc = emd_walk_open(&w, d->rootfd, f->relpath, &wo, d->stats, &err);
  if (rc == SQLITE_NOMEM) return rc;
  if (rc != SQLITE_OK) {
    ditem x;
    if (err == ENOENT) return SQLITE_OK;
    memset(&x, 0, sizeof(x));
    x.relpath = emd_strndup(f->relpath, f->len);
    if (!x.relpath) return SQLITE_NOMEM;
    x.len = f->len;
    x.name_off = f->name_off;
    x.kind = EMD_ITEM_FOLDER;
    x.err = err;
    x.tie = emd_path_rowid(x.relpath, x.len);
    return group_add(d, &x);
  }
  while ((rc = emd_walk_next(w, &it)) == SQLITE_ROW) {
    ditem x;
    rc = d->yield(d->yield_ctx);
    if (rc != SQLITE_OK) break;
    rc = item_of(&x, &it, NULL);
    if (rc == SQLITE_OK && wanted(d, &x)) {
      x.dir = emd_dir_ref(it.dir);
      rc = group_add(d, &x);
    }
    item_free(&x);
    if (rc != SQLITE_OK) break;
  }
  emd_walk_close(w);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Shown-path order of two items (relpaths repaired where not UTF-8). */
static int by_path(const void *pa, const void *pb) {
  const ditem *a = pa, *b = pb;
  return emd_shown_cmp(a->relpath, a->len, b->relpath, b->len);
}

static int by_rowid(const void *pa, const void *pb) {
  const ditem *a = pa, *b = pb;
  if (a->tie != b->tie) return a->tie < b->tie ? -1 : 1;
  return by_path(pa, pb);
}

static void group_clear(emd_dateorder *d) {
  size_t i;
  for (i = 0; i < d->ngroup; i++) item_free(&d->group[i]);
  d->ngroup = d->igroup = 0;
}

/* Gather the next date's entries.  SQLITE_DONE at the end. */
static int next_group(emd_dateorder *d) {
  int64_t key;
  int rc = SQLITE_OK;
  group_clear(d);
  /* Folders whose turn has come are listed first: they may hold entries
  ** of this date or an earlier one. */
  while (d->n && d->heap[0].explore) {
    ditem f;
    rc = d->yield(d->yield_ctx);
    if (rc != SQLITE_OK) return rc;
    heap_pop(d, &f);
    if (d->order == EMD_ORDER_ROWID && f.key > d->day_hi) {
      item_free(&f);
      continue;
    }
    rc = explore(d, &f);
    item_free(&f);
    if (rc != SQLITE_OK) return rc;
  }
  if (!d->n) return SQLITE_DONE;
  key = d->heap[0].key;
  if (d->order == EMD_ORDER_ROWID && key > d->day_hi) return SQLITE_DONE;
  while (rc == SQLITE_OK && d->n && d->heap[0].key == key &&
         !d->heap[0].explore) {
    ditem x;
    heap_pop(d, &x);
    if (x.day_folder)
      rc = list_day(d, &x);
    else if (wanted(d, &x))
      rc = group_add(d, &x);
    item_free(&x);
  }
  if (rc == SQLITE_OK && d->ngroup > 1)
    qsort(d->group, d->ngroup, sizeof(ditem),
          d->order == EMD_ORDER_ROWID ? by_rowid : by_path);
  return rc;
}

int emd_dateorder_open(emd_dateorder **out, int order, int rootfd,
                       const emd_walk_opts *wo, emd_stats *stats,
                       const emd_scan_ctx *sc, emd_scratch *s, int64_t rowid_lo,
                       int64_t rowid_hi, int (*yield)(void *), void *yield_ctx,
                       int *err) {
  emd_dateorder *d = emd_malloc(sizeof(*d));
  ditem root;
  int rc;
  *out = NULL;
  *err = 0;
  if (!d) return SQLITE_NOMEM;
  memset(d, 0, sizeof(*d));
  d->order = order;
  d->rootfd = rootfd;
  d->wo = *wo;
  d->stats = stats;
  d->sc = sc;
  d->s = s;
  d->rowid_lo = rowid_lo;
  d->rowid_hi = rowid_hi;
  /* A rowid's path date is its bits above the low 31. */
  d->day_lo = rowid_lo >> 31;
  d->day_hi = rowid_hi == INT64_MAX ? INT64_MAX : rowid_hi >> 31;
  d->yield = yield;
  d->yield_ctx = yield_ctx;
  /* The root: listed at once, and the one failure that is an error. */
  memset(&root, 0, sizeof(root));
  root.relpath = emd_strndup("", 0);
  if (!root.relpath) {
    emd_free(d);
    return SQLITE_NOMEM;
  }
  rc = explore(d, &root);
  item_free(&root);
  if (rc == SQLITE_CANTOPEN) {
    *err = d->root_err;
    emd_dateorder_close(d);
    return SQLITE_CANTOPEN;
  }
  if (rc != SQLITE_OK) {
    emd_dateorder_close(d);
    return rc;
  }
  *out = d;
  return SQLITE_OK;
}

/* A file outside day folders into slot.  Its folder is opened again now,
** beneath the root, so no descriptor was held since it was listed; the
** files of one folder come out together, so the folder stays open from
** one to the next (one descriptor).  SQLITE_DONE: it is gone. */
static int outside_entry(emd_dateorder *d, const ditem *x, emd_entry *slot) {
  emd_walk_item it;
  struct stat st;
  int have_st, rc;
  if (d->last && d->last_len == x->name_off &&
      !memcmp(d->last_path, x->relpath, x->name_off)) {
    rc = emd_walk_lookup_in(&it, d->last, &d->wo, x->relpath, x->name_off, &st,
                            &have_st);
  } else {
    rc = emd_walk_lookup(&it, d->rootfd, &d->wo, x->relpath, &st, &have_st);
    if (rc == SQLITE_ROW && it.kind != EMD_ITEM_FOLDER) {
      char *p = emd_strndup(x->relpath, x->name_off);
      emd_dir_release(d->last);
      emd_free(d->last_path);
      d->last = p ? emd_dir_ref(it.dir) : NULL;
      d->last_path = p;
      d->last_len = x->name_off;
    }
  }
  if (rc != SQLITE_ROW) return rc;
  rc = emd_entry_set(slot, it.kind, x->relpath, x->len, x->name_off, it.dir,
                     it.follow, it.err, NULL);
  emd_dir_release(it.dir);
  if (rc == SQLITE_OK && have_st) {
    slot->st = st;
    slot->have_stat = 1;
  }
  return rc;
}

int emd_dateorder_next(emd_dateorder *d, emd_entry *slot) {
  for (;;) {
    ditem *x;
    int rc = d->yield(d->yield_ctx);
    if (rc != SQLITE_OK) return rc;
    while (d->igroup >= d->ngroup) {
      rc = next_group(d);
      if (rc != SQLITE_OK) return rc;
    }
    x = &d->group[d->igroup++];
    if (x->dir || x->kind == EMD_ITEM_FOLDER)
      return emd_entry_set(slot, x->kind, x->relpath, x->len, x->name_off,
                           x->dir, x->follow, x->err, NULL);
    rc = outside_entry(d, x, slot);
    if (rc == SQLITE_DONE) continue; /* gone since */
    return rc;
  }
}

void emd_dateorder_close(emd_dateorder *d) {
  size_t i;
  if (!d) return;
  group_clear(d);
  emd_dir_release(d->last);
  emd_free(d->last_path);
  for (i = 0; i < d->n; i++) item_free(&d->heap[i]);
  emd_free(d->heap);
  emd_free(d->group);
  emd_free(d);
}
