/* SPDX-License-Identifier: MIT */
/*
** versions.c - current versions of a folder's event files (see versions.h).
*/
#include "versions.h"

#include <string.h>

/* Byte order of two strings, as memcmp on the shorter then length. */
static int str_cmp(emd_str a, emd_str b) {
  size_t n = a.n < b.n ? a.n : b.n;
  int c = n ? memcmp(a.p, b.p, n) : 0;
  if (c) return c;
  return a.n < b.n ? -1 : a.n > b.n;
}

/* Index of the file whose path is p, or -1. */
static long find(const emd_vfile *f, size_t n, emd_str p) {
  size_t lo = 0, hi = n;
  if (!p.p) return -1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = str_cmp(f[mid].path, p);
    if (c == 0) return (long)mid;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

/* The day page: which files it links (and under which topic); 1 when it
** links at least one of them. */
static int read_daypage(emd_vfile *f, size_t n, const emd_rec *daypage,
                        emd_norm_fn norm, void *ctx) {
  uint32_t i, k = daypage ? emd_rec_count(daypage, EMD_T_DAYLINKS) : 0;
  int any = 0;
  for (i = 0; i < k; i++) {
    emd_str row[EMD_ROW_MAXFIELDS];
    long j;
    emd_rec_row(daypage, EMD_T_DAYLINKS, i, row);
    j = find(f, n, norm(ctx, row[0]));
    if (j < 0) continue;
    any = 1;
    if (!f[j].linked) f[j].day_topic = row[1]; /* the first link counts */
    f[j].linked = 1;
  }
  return any;
}

/* Does file g (listing nchg items) beat the current lister of f? */
static int better_lister(const emd_vfile *files, const emd_vfile *f, long g) {
  const emd_vfile *cur;
  if (f->lister < 0) return 1;
  cur = &files[f->lister];
  if (files[g].nchanges != cur->nchanges)
    return files[g].nchanges > cur->nchanges;
  return str_cmp(files[g].path, cur->path) < 0;
}

/* File g's Changes list: the files it names as older, and its own first
** "(Current version)" item. */
static void read_changes(emd_vfile *files, size_t n, long g, emd_norm_fn norm,
                         void *ctx) {
  emd_vfile *me = &files[g];
  uint32_t i, k = me->rec ? emd_rec_count(me->rec, EMD_T_CHANGES) : 0;
  int seen_current = 0;
  me->nchanges = k;
  for (i = 0; i < k; i++) {
    emd_str row[EMD_ROW_MAXFIELDS], target;
    emd_rec_row(me->rec, EMD_T_CHANGES, i, row);
    if (!row[1].p) continue; /* an item without a link names no file */
    target = norm(ctx, row[1]);
    if (emd_label_is_current(row[3])) {
      if (seen_current) continue;
      seen_current = 1;
      if (!emd_str_eq(target, me->path)) {
        me->superseded = 1;
        me->own_target = target;
      }
    } else {
      long j = find(files, n, target);
      if (j < 0 || j == g) continue;
      files[j].superseded = 1;
      if (better_lister(files, &files[j], g)) files[j].lister = (int)g;
    }
  }
}

/* Successor of file x: the file listing it (index >= 0), else its own
** current target (*ext set, -2 when that is not a file of the folder),
** else -1. */
static long succ(const emd_vfile *files, size_t n, long x, emd_str *ext) {
  long j;
  if (files[x].lister >= 0) return files[x].lister;
  if (!files[x].own_target.p) return -1;
  j = find(files, n, files[x].own_target);
  if (j >= 0) return j;
  *ext = files[x].own_target;
  return -2;
}

void emd_versions_compute(emd_vfile *files, size_t n, const emd_rec *daypage,
                          emd_norm_fn norm, void *ctx) {
  size_t i;
  int silence;
  for (i = 0; i < n; i++) {
    emd_vfile *f = &files[i];
    memset(&f->current_path, 0, sizeof(f->current_path));
    memset(&f->day_topic, 0, sizeof(f->day_topic));
    memset(&f->own_target, 0, sizeof(f->own_target));
    f->superseded = f->linked = 0;
    f->lister = -1;
    f->nchanges = 0;
    f->visit = 0;
  }
  silence = read_daypage(files, n, daypage, norm, ctx);
  for (i = 0; i < n; i++) read_changes(files, n, (long)i, norm, ctx);
  for (i = 0; i < n; i++) {
    emd_vfile *f = &files[i];
    long x = (long)i, s;
    emd_str ext;
    if (silence && !f->linked) f->superseded = 1;
    f->is_current = !f->superseded;
    if (!f->superseded) {
      f->current_path = f->path;
      continue;
    }
    /* Follow "superseded by" to the end; marks are this file's number + 1,
    ** so no clearing between files. */
    f->visit = (unsigned)i + 1;
    for (;;) {
      ext.p = NULL;
      ext.n = 0;
      s = succ(files, n, x, &ext);
      if (s == -1) break; /* x has no successor: the chain ends at x */
      if (s == -2) {      /* leaves the folder: ends at that path */
        f->current_path = ext;
        x = -1;
        break;
      }
      if (files[s].visit == (unsigned)i + 1) break; /* a cycle closes */
      files[s].visit = (unsigned)i + 1;
      x = s;
    }
    if (x >= 0 && x != (long)i) f->current_path = files[x].path;
  }
}
