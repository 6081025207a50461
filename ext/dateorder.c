/*
** dateorder.c - the entries of a scan in date order (see dateorder.h).
*/
#include "dateorder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emd.h"

/* A file or folder to emit, or a day folder to list later. */
typedef struct drec {
  char *relpath;   /* owned */
  size_t len;      /* strlen(relpath) */
  size_t name_off; /* where the last component starts */
  int kind;        /* EMD_ITEM_* (EMD_ITEM_DAY for day folders) */
  int follow;      /* a link the table follows */
  int err;         /* errno of a folder */
  emd_dir *dir;    /* folder holding it (a reference) */
  char date[11];   /* its date, or "" */
} drec;

typedef struct drecs {
  drec *a;
  size_t n, cap;
} drecs;

struct emd_dateorder {
  int rootfd;       /* borrowed */
  emd_walk_opts wo; /* for listing day folders */
  emd_stats *stats;
  drecs days;          /* day folders, by (date, path) */
  drecs strays;        /* entries outside day folders, by (date, path) */
  size_t iday, istray; /* next of each */
  drecs group;         /* the current date's entries, by path */
  size_t igroup;       /* next of the group */
};

static void rec_free(drec *r) {
  emd_free(r->relpath);
  emd_dir_release(r->dir);
  memset(r, 0, sizeof(*r));
}

static void recs_clear(drecs *v) {
  size_t i;
  for (i = 0; i < v->n; i++) rec_free(&v->a[i]);
  v->n = 0;
}

static void recs_free(drecs *v) {
  recs_clear(v);
  emd_free(v->a);
  v->a = NULL;
  v->cap = 0;
}

/* Append a record copied from a walk item; returns it or NULL (ENOMEM). */
static drec *recs_add(drecs *v, const emd_walk_item *it) {
  drec *r;
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 64;
    drec *p = emd_realloc(v->a, cap * sizeof(drec));
    if (!p) return NULL;
    v->a = p;
    v->cap = cap;
  }
  r = &v->a[v->n];
  memset(r, 0, sizeof(*r));
  r->relpath = emd_strndup(it->relpath, it->relpath_len);
  if (!r->relpath) return NULL;
  v->n++;
  r->len = it->relpath_len;
  r->name_off = (size_t)(it->name - it->relpath);
  r->kind = it->kind;
  r->follow = it->follow;
  r->err = it->err;
  r->dir = emd_dir_ref(it->dir);
  if (it->day) memcpy(r->date, it->day, 11);
  return r;
}

static int by_path(const void *pa, const void *pb) {
  const drec *a = pa, *b = pb;
  return strcmp(a->relpath, b->relpath);
}

static int by_date_path(const void *pa, const void *pb) {
  const drec *a = pa, *b = pb;
  int c = strcmp(a->date, b->date);
  return c ? c : strcmp(a->relpath, b->relpath);
}

/* The date of an entry outside day folders: its heading's, read through
** the cache.  A file that vanished is dropped (*gone). */
static int stray_date(drec *r, const emd_scan_ctx *sc, emd_scratch *s,
                      int *gone) {
  emd_entry e;
  emd_scan_ctx one = *sc;
  int rc;
  *gone = 0;
  if (r->kind != EMD_ITEM_FILE) return SQLITE_OK; /* no path date, no heading */
  memset(&e, 0, sizeof(e));
  rc = emd_entry_set(&e, r->kind, r->relpath, r->len, r->name_off, r->dir,
                     r->follow, r->err);
  if (rc == SQLITE_OK) {
    one.want_parse = 1;
    one.want_markdown = 0;
    emd_entry_process(&one, &e, s);
    rc = e.rc;
    *gone = e.gone;
    if (e.parsed) {
      emd_str hd = emd_rec_field(e.parsed->rec, EMD_F_HEADING_DATE);
      if (hd.p && hd.n == EMD_DATE_LEN) {
        memcpy(r->date, hd.p, EMD_DATE_LEN);
        r->date[EMD_DATE_LEN] = 0;
      }
    }
  }
  emd_entry_free(&e);
  return rc;
}

int emd_dateorder_open(emd_dateorder **out, int rootfd, const emd_walk_opts *wo,
                       emd_stats *stats, const emd_scan_ctx *sc,
                       emd_scratch *s) {
  emd_dateorder *d = emd_malloc(sizeof(*d));
  emd_walk *w = NULL;
  emd_walk_opts skel = *wo;
  emd_walk_item it;
  int r, rc = SQLITE_OK, err;
  size_t i, k;
  *out = NULL;
  if (!d) return SQLITE_NOMEM;
  memset(d, 0, sizeof(*d));
  d->rootfd = rootfd;
  d->wo = *wo;
  d->wo.date = NULL; /* a day folder's files all have its date */
  d->wo.skip_day_folders = 0;
  d->stats = stats;
  skel.skip_day_folders = 1;
  err = emd_walk_open(&w, rootfd, NULL, &skel, stats);
  if (err) {
    emd_free(d);
    return err == ENOMEM ? SQLITE_NOMEM : SQLITE_CANTOPEN;
  }
  while ((r = emd_walk_next(w, &it)) > 0) {
    drec *x = recs_add(it.kind == EMD_ITEM_DAY ? &d->days : &d->strays, &it);
    if (!x) {
      r = -ENOMEM;
      break;
    }
  }
  emd_walk_close(w);
  if (r < 0) rc = SQLITE_NOMEM;
  /* Dates of the entries outside day folders. */
  for (i = 0, k = 0; rc == SQLITE_OK && i < d->strays.n; i++) {
    int gone = 0;
    rc = stray_date(&d->strays.a[i], sc, s, &gone);
    if (gone) {
      rec_free(&d->strays.a[i]);
      continue;
    }
    if (k != i) d->strays.a[k] = d->strays.a[i];
    k++;
  }
  if (rc == SQLITE_OK) d->strays.n = k;
  if (rc != SQLITE_OK) {
    emd_dateorder_close(d);
    return rc;
  }
  if (d->days.n > 1) qsort(d->days.a, d->days.n, sizeof(drec), by_date_path);
  if (d->strays.n > 1)
    qsort(d->strays.a, d->strays.n, sizeof(drec), by_date_path);
  *out = d;
  return SQLITE_OK;
}

/* Move a record into the group (ownership moves; src is zeroed). */
static int group_take(emd_dateorder *d, drec *src) {
  if (d->group.n == d->group.cap) {
    size_t cap = d->group.cap ? d->group.cap * 2 : 64;
    drec *p = emd_realloc(d->group.a, cap * sizeof(drec));
    if (!p) return SQLITE_NOMEM;
    d->group.a = p;
    d->group.cap = cap;
  }
  d->group.a[d->group.n++] = *src;
  memset(src, 0, sizeof(*src));
  return SQLITE_OK;
}

/* List one day folder into the group. */
static int list_day(emd_dateorder *d, drec *day) {
  emd_walk *w = NULL;
  emd_walk_item it;
  int r, err = emd_walk_open(&w, d->rootfd, day->relpath, &d->wo, d->stats);
  if (err == ENOMEM) return SQLITE_NOMEM;
  if (err) {
    /* The folder cannot be read: it gets its row, with the reason. */
    if (err == ENOENT) return SQLITE_OK;
    day->kind = EMD_ITEM_FOLDER;
    day->err = err;
    return group_take(d, day);
  }
  while ((r = emd_walk_next(w, &it)) > 0) {
    drec *x = recs_add(&d->group, &it);
    if (!x) {
      r = -ENOMEM;
      break;
    }
  }
  emd_walk_close(w);
  return r < 0 ? SQLITE_NOMEM : SQLITE_OK;
}

/* Gather the next date's entries into the group.  SQLITE_DONE at the end. */
static int next_group(emd_dateorder *d) {
  const char *date;
  char want[11];
  int rc = SQLITE_OK;
  recs_clear(&d->group);
  d->igroup = 0;
  if (d->istray < d->strays.n &&
      (d->iday >= d->days.n ||
       strcmp(d->strays.a[d->istray].date, d->days.a[d->iday].date) <= 0))
    date = d->strays.a[d->istray].date;
  else if (d->iday < d->days.n)
    date = d->days.a[d->iday].date;
  else
    return SQLITE_DONE;
  memcpy(want, date, 11);
  while (rc == SQLITE_OK && d->istray < d->strays.n &&
         strcmp(d->strays.a[d->istray].date, want) == 0)
    rc = group_take(d, &d->strays.a[d->istray++]);
  while (rc == SQLITE_OK && d->iday < d->days.n &&
         strcmp(d->days.a[d->iday].date, want) == 0) {
    rc = list_day(d, &d->days.a[d->iday]);
    rec_free(&d->days.a[d->iday++]);
  }
  if (d->group.n > 1) qsort(d->group.a, d->group.n, sizeof(drec), by_path);
  return rc;
}

int emd_dateorder_next(emd_dateorder *d, emd_entry *slot) {
  drec *r;
  while (d->igroup >= d->group.n) {
    int rc = next_group(d);
    if (rc != SQLITE_OK) return rc;
  }
  r = &d->group.a[d->igroup++];
  return emd_entry_set(slot, r->kind, r->relpath, r->len, r->name_off, r->dir,
                       r->follow, r->err);
}

void emd_dateorder_close(emd_dateorder *d) {
  if (!d) return;
  recs_free(&d->days);
  recs_free(&d->strays);
  recs_free(&d->group);
  emd_free(d);
}
