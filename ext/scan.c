/* SPDX-License-Identifier: MIT */
/*
** scan.c - running a scan: the cursor the four tables share.
**
** A scan turns a root folder into a stream of entries (entry.h), in path
** order: from the walker (walk.c), or, when the query names paths
** (path = / IN), by looking those paths up directly.  The read-ahead
** (readahead.c) processes entries ahead of the row SQLite is reading.  The
** events table shows one row per entry; the child tables one row per item
** of the parsed event (entries without items give no rows).
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cachefile.h"
#include "dateorder.h"
#include "foldersums.h"
#include "text.h"

/* ------------------------------------------------------------------------
** Plans.
*/
void emd_plan_init(emd_plan *p) {
  memset(p, 0, sizeof(*p));
  p->mode = EMD_MODE_WALK;
  p->df.neq = -1;
  p->rowid_lo = 0;
  p->rowid_hi = INT64_MAX;
}

void emd_plan_free(emd_plan *p) {
  int i;
  for (i = 0; i < p->npaths; i++) emd_free(p->paths[i]);
  emd_free(p->paths);
  for (i = 0; i < p->ndf_strings; i++) emd_free(p->df_strings[i]);
  emd_free(p->df_strings);
  emd_free((void *)p->df.eq);
  emd_free(p->root);
  emd_plan_init(p);
}

int emd_plan_add_path(emd_plan *p, sqlite3_value *v) {
  const char *s;
  int n, rl;
  p->mode = EMD_MODE_LOOKUP;
  if (sqlite3_value_type(v) != SQLITE_TEXT) return SQLITE_OK; /* no match */
  s = (const char *)sqlite3_value_text(v);
  n = sqlite3_value_bytes(v);
  if (!s) return SQLITE_NOMEM;
  rl = emd_walk_path_ok(s, (size_t)n);
  if (rl < 0) return SQLITE_OK; /* nothing could have that path */
  if (p->npaths == p->cappaths) {
    int cap = p->cappaths ? p->cappaths * 2 : 8;
    char **np = emd_realloc(p->paths, (size_t)cap * sizeof(char *));
    if (!np) return SQLITE_NOMEM;
    p->paths = np;
    p->cappaths = cap;
  }
  p->paths[p->npaths] = emd_strndup(s + 1, (size_t)rl);
  if (!p->paths[p->npaths]) return SQLITE_NOMEM;
  p->npaths++;
  return SQLITE_OK;
}

/* Keep a copy of a date constraint's text value; NULL when unusable (not
** text, or holding a NUL byte, which compares beyond it). */
static const char *df_string(emd_plan *p, sqlite3_value *v, int *rc) {
  char **np, *s;
  const char *t;
  if (sqlite3_value_type(v) != SQLITE_TEXT) return NULL;
  t = (const char *)sqlite3_value_text(v);
  if (!t) {
    *rc = SQLITE_NOMEM;
    return NULL;
  }
  if (memchr(t, 0, (size_t)sqlite3_value_bytes(v))) return NULL;
  np =
      emd_realloc(p->df_strings, (size_t)(p->ndf_strings + 1) * sizeof(char *));
  if (!np) {
    *rc = SQLITE_NOMEM;
    return NULL;
  }
  p->df_strings = np;
  s = emd_strndup(t, (size_t)sqlite3_value_bytes(v));
  if (!s) {
    *rc = SQLITE_NOMEM;
    return NULL;
  }
  p->df_strings[p->ndf_strings++] = s;
  return s;
}

int emd_plan_add_date(emd_plan *p, int op, sqlite3_value *v, int first) {
  int rc = SQLITE_OK;
  const char *s = df_string(p, v, &rc);
  emd_datefilter *f = &p->df;
  if (rc != SQLITE_OK) return rc;
  f->active = 1;
  switch (op) {
    case 'e':
      /* Only the first = / IN narrows; SQLite checks the others. */
      if (!first || f->neq == -2) break;
      if (!s) {
        f->neq = -2; /* a value that is not text: this list cannot prune */
        break;
      }
      {
        int n = f->neq < 0 ? 0 : f->neq;
        const char **np =
            emd_realloc((void *)f->eq, (size_t)(n + 1) * sizeof(char *));
        if (!np) return SQLITE_NOMEM;
        f->eq = np;
        f->eq[n] = s;
        f->neq = n + 1;
      }
      break;
    case 'g':
    case 'G':
      if (s && (!f->lo || strcmp(s, f->lo) > 0 ||
                (strcmp(s, f->lo) == 0 && op == 'g'))) {
        f->lo = s;
        f->lo_incl = op == 'G';
      }
      break;
    default:
      if (s && (!f->hi || strcmp(s, f->hi) < 0 ||
                (strcmp(s, f->hi) == 0 && op == 'l'))) {
        f->hi = s;
        f->hi_incl = op == 'L';
      }
      break;
  }
  return SQLITE_OK;
}

void emd_plan_add_rowid(emd_plan *p, int op, sqlite3_value *v) {
  sqlite3_int64 r, lo = 0, hi = INT64_MAX;
  int t = sqlite3_value_numeric_type(v);
  p->mode = EMD_MODE_ROWID;
  if (t != SQLITE_INTEGER) return; /* SQLite checks it: no narrowing */
  r = sqlite3_value_int64(v);
  /* Rowids are 0 .. 2^53 - 1 (emd_path_rowid). */
  switch (op) {
    case 'i': lo = hi = r; break;
    case 'j':
      lo = r == INT64_MAX ? INT64_MAX : r + 1;
      hi = r == INT64_MAX ? -1 : hi;
      break;
    case 'J': lo = r; break;
    case 'k': hi = r <= 0 ? -1 : r - 1; break;
    default: hi = r < 0 ? -1 : r; break;
  }
  if (lo > p->rowid_lo) p->rowid_lo = lo;
  if (hi < p->rowid_hi) p->rowid_hi = hi;
}

/* ------------------------------------------------------------------------
** Cursor life.
*/
int emd_cursor_new(emd_table *tab, emd_cursor **out) {
  emd_cursor *c = emd_malloc(sizeof(*c));
  *out = NULL;
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->tab = tab;
  c->rootfd = -1;
  c->eof = 1;
  emd_plan_init(&c->plan);
  emd_ahead_init(&c->ahead);
  *out = c;
  return SQLITE_OK;
}

void emd_cursor_reset(emd_cursor *c) {
  emd_ahead_stop(&c->ahead); /* workers first: they use the fds below */
  emd_conn_statement_done(c->tab->conn); /* the cache file's writes */
  c->cur = NULL;
  emd_walk_close(c->walk);
  c->walk = NULL;
  emd_dateorder_close(c->dorder);
  c->dorder = NULL;
  emd_links_clear(&c->links);
  emd_plan_free(&c->plan);
  c->ipath = 0;
  c->rootfd = -1;     /* the table's: not closed here */
  free(c->root_real); /* from realpath(): the C library's */
  c->root_real = NULL;
  c->eof = 1;
  c->row = 0;
}

void emd_cursor_free(emd_cursor *c) {
  emd_cursor_reset(c);
  sqlite3_finalize(c->tick);
  emd_ahead_free(&c->ahead);
  emd_free(c);
}

static int64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* About a thousand VM instructions: enough for a progress handler set to
** run every few hundred, cheap enough (tens of microseconds) every 10 ms. */
#define TICK_SQL                                                    \
  "WITH RECURSIVE t(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM t " \
  "WHERE x < 100) SELECT count(*) FROM t"

int emd_cursor_yield(emd_cursor *c) {
  sqlite3 *db = c->tab->conn->db;
  int64_t now;
  int rc;
#if SQLITE_VERSION_NUMBER >= 3041000
  if (sqlite3_is_interrupted(db)) return SQLITE_INTERRUPT;
#endif
  now = mono_ns();
  if (now < c->next_yield) return SQLITE_OK;
  c->next_yield = now + EMD_YIELD_NS;
  if (!c->tick) {
    /* Prepared on first need only: short statements never pay for it.
    ** The cursor finalizes it, so the connection can always be closed. */
    rc = sqlite3_prepare_v2(db, TICK_SQL, -1, &c->tick, NULL);
    if (rc != SQLITE_OK) return rc == SQLITE_INTERRUPT ? rc : SQLITE_OK;
  }
  rc = sqlite3_step(c->tick);
  sqlite3_reset(c->tick);
  if (rc == SQLITE_ROW || rc == SQLITE_DONE) return SQLITE_OK;
  /* Out of memory is that, not an interrupt; anything else the tick meets
  ** is the interrupt or the progress handler asking to stop. */
  return rc == SQLITE_NOMEM ? SQLITE_NOMEM : SQLITE_INTERRUPT;
}

int emd_cursor_yield_cb(void *c) {
  return emd_cursor_yield(c);
}

int emd_cursor_error(emd_cursor *c, int rc, const char *fmt, ...) {
  va_list ap;
  sqlite3_free(c->base.pVtab->zErrMsg);
  va_start(ap, fmt);
  c->base.pVtab->zErrMsg = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  return rc;
}

/* ------------------------------------------------------------------------
** Sources of entries.
*/

/* The walk: one entry per item. */
static int fill_from_walk(void *ctx, emd_entry *slot) {
  emd_cursor *c = ctx;
  emd_walk_item it;
  int rc = emd_cursor_yield(c);
  if (rc != SQLITE_OK) return rc;
  rc = emd_walk_next(c->walk, &it);
  if (rc != SQLITE_ROW) return rc;
  return emd_entry_set(slot, it.kind, it.relpath, it.relpath_len,
                       (size_t)(it.name - it.relpath), it.dir, it.follow,
                       it.err, it.day);
}

/* The paths of a path = / IN constraint, in order. */
static int fill_from_paths(void *ctx, emd_entry *slot) {
  emd_cursor *c = ctx;
  emd_walk_opts wo;
  memset(&wo, 0, sizeof(wo));
  wo.follow_symlinks = c->tab->follow_symlinks;
  wo.root_real = c->root_real;
  wo.no_watch = c->no_watch;
  if (!c->no_watch && !c->tab->follow_symlinks) {
    wo.sums = c->tab->conn->sums;
    wo.rootdir = c->tab->rootdir;
    wo.known_file = emd_entry_known_file;
    wo.known_ctx = c->tab->conn->cache;
  }
  while (c->ipath < c->plan.npaths) {
    emd_walk_item it;
    int yrc = emd_cursor_yield(c);
    if (yrc != SQLITE_OK) return yrc;
    struct stat st;
    int have_st, rc;
    rc = emd_walk_lookup(&it, c->rootfd, &wo, c->plan.paths[c->ipath++], &st,
                         &have_st);
    if (rc == SQLITE_DONE) continue;
    if (rc != SQLITE_ROW) return rc;
    rc = emd_entry_set(slot, it.kind, it.relpath, it.relpath_len,
                       (size_t)(it.name - it.relpath), it.dir, it.follow,
                       it.err, NULL);
    emd_dir_release(it.dir); /* the entry holds its own reference */
    if (rc == SQLITE_OK && have_st) {
      slot->st = st; /* the stat just made is the entry's: no second one */
      slot->have_stat = 1;
    }
    return rc;
  }
  return SQLITE_DONE;
}

/* Date or rowid order: dateorder.c. */
static int fill_from_dateorder(void *ctx, emd_entry *slot) {
  emd_cursor *c = ctx;
  int rc = emd_cursor_yield(c);
  return rc != SQLITE_OK ? rc : emd_dateorder_next(c->dorder, slot);
}

/* Path order of two lookup paths: the order of the paths as shown. */
static int cmp_path(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  return emd_shown_cmp(x, strlen(x), y, strlen(y));
}

void emd_table_close_root(emd_table *tab) {
  emd_dir_release(tab->rootdir);
  tab->rootdir = NULL;
  if (tab->rootfd >= 0) close(tab->rootfd);
  tab->rootfd = -1;
  emd_free(tab->rootfd_path);
  tab->rootfd_path = NULL;
}

/* The error for a root that cannot be used. */
static int root_error(emd_cursor *c, int err) {
  if (err == ENOMEM) return SQLITE_NOMEM;
  return emd_cursor_error(c, SQLITE_ERROR,
                          "eventmd: root '%s' is not a readable directory (%s)",
                          c->plan.root, strerror(err));
}

/* The root folder, open.  A table keeps the last one open: one stat() (its
** identity and change time unchanged, the allowed roots unchanged)
** replaces a check, an open() and a close() per scan, which matters for
** lookups by path.  SQLITE_OK with *fd, or an error with the table's
** message set. */
static int root_fd(emd_cursor *c, const char *root, int *fd) {
  emd_table *tab = c->tab;
  struct stat st;
  char *msg = NULL;
  int rc;
  if (tab->rootfd >= 0 && !strcmp(tab->rootfd_path, root) &&
      tab->rootfd_gen == tab->conn->roots_gen && stat(root, &st) == 0 &&
      st.st_dev == tab->rootfd_st.st_dev &&
      st.st_ino == tab->rootfd_st.st_ino &&
      st.st_ctim.tv_sec == tab->rootfd_st.st_ctim.tv_sec &&
      st.st_ctim.tv_nsec == tab->rootfd_st.st_ctim.tv_nsec) {
    *fd = tab->rootfd;
    return SQLITE_OK;
  }
  emd_table_close_root(tab);
  /* The one root check (confinement included) before anything is read. */
  rc = emd_conn_check_root(tab->conn, root, &msg);
  if (rc != SQLITE_OK) {
    if (!msg) return SQLITE_NOMEM;
    sqlite3_free(c->base.pVtab->zErrMsg);
    c->base.pVtab->zErrMsg = msg;
    return rc;
  }
  *fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0 || fstat(*fd, &tab->rootfd_st) != 0) {
    int err = errno;
    if (*fd >= 0) close(*fd);
    *fd = -1;
    return root_error(c, err);
  }
  tab->rootfd_path = emd_strndup(root, strlen(root));
  if (!tab->rootfd_path) {
    close(*fd);
    *fd = -1;
    return SQLITE_NOMEM;
  }
  tab->rootfd = *fd;
  tab->rootfd_gen = tab->conn->roots_gen;
  return SQLITE_OK;
}

/* Replace each lookup path that shows U+FFFD by the names on disk shown
** that way (what the scan shows is what a lookup accepts). */
static int expand_paths(emd_cursor *c, const emd_walk_opts *wo) {
  emd_plan *p = &c->plan;
  char **out = NULL;
  int nout = 0, cap = 0, j, rc = SQLITE_OK;
  for (j = 0; j < p->npaths; j++)
    if (memmem(p->paths[j], strlen(p->paths[j]), "\xEF\xBF\xBD", 3)) break;
  if (j == p->npaths) return SQLITE_OK; /* the usual case: nothing to do */
  for (j = 0; j < p->npaths; j++) {
    char **v = &p->paths[j];
    int nv = 1, k;
    if (rc == SQLITE_OK &&
        memmem(p->paths[j], strlen(p->paths[j]), "\xEF\xBF\xBD", 3)) {
      rc = emd_walk_expand_shown(c->rootfd, wo, p->paths[j], &v, &nv);
      emd_free(p->paths[j]);
      p->paths[j] = NULL;
      if (rc != SQLITE_OK) continue;
    }
    for (k = 0; k < nv; k++) {
      if (rc == SQLITE_OK && nout == cap) {
        char **np;
        cap = cap ? cap * 2 : 16;
        np = emd_realloc(out, (size_t)cap * sizeof(char *));
        if (!np)
          rc = SQLITE_NOMEM;
        else
          out = np;
      }
      if (rc == SQLITE_OK)
        out[nout++] = v[k];
      else
        emd_free(v[k]);
    }
    if (v != &p->paths[j]) emd_free(v);
    p->paths[j] = NULL; /* moved */
  }
  emd_free(p->paths);
  p->paths = out;
  p->npaths = p->cappaths = nout;
  if (rc != SQLITE_OK) {
    for (j = 0; j < nout; j++) emd_free(out[j]);
    p->npaths = 0;
  }
  return rc;
}

/* Sort the lookup paths (as shown) and drop repeats. */
static void sort_paths(emd_plan *p) {
  int j, k = 0;
  if (p->npaths > 1)
    qsort(p->paths, (size_t)p->npaths, sizeof(char *), cmp_path);
  for (j = 0; j < p->npaths; j++) {
    if (k > 0 && strcmp(p->paths[k - 1], p->paths[j]) == 0) {
      emd_free(p->paths[j]);
      continue;
    }
    p->paths[k++] = p->paths[j];
  }
  p->npaths = k;
}

int emd_cursor_start(emd_cursor *c, emd_plan *plan) {
  emd_table *tab = c->tab;
  emd_fill_fn fill = NULL;
  emd_walk_opts wo;
  int rc, err = 0, flags;
  c->plan = *plan;
  emd_plan_init(plan); /* taken over */
  flags = c->plan.flags;
  c->next_yield = mono_ns() + EMD_YIELD_NS;
  if (c->plan.empty || c->plan.rowid_lo > c->plan.rowid_hi)
    return SQLITE_OK; /* eof */
  /* What changed since the last statement, before anything is trusted. */
  emd_watch_drain();
  rc = root_fd(c, c->plan.root, &c->rootfd);
  if (rc != SQLITE_OK) return rc;
  if (tab->follow_symlinks) {
    c->root_real = realpath(c->plan.root, NULL);
    if (!c->root_real) return root_error(c, errno);
  }
  c->sc.conn = tab->conn;
  c->sc.root_real = c->root_real;
  c->sc.max_size = tab->max_size;
  c->sc.follow_symlinks = tab->follow_symlinks;

  c->sc.want_parse = tab->def->child || (flags & EMD_IDX_PARSE);
  c->sc.want_markdown = (flags & EMD_IDX_MARKDOWN) != 0;
  c->sc.want_stat = (flags & EMD_IDX_STAT) != 0;
  c->sc.folder_batches = 0; /* a walk's only (below) */
  memset(&wo, 0, sizeof(wo));
  wo.follow_symlinks = tab->follow_symlinks;
  wo.root_real = c->root_real;
  wo.date = c->plan.df.active ? &c->plan.df : NULL;
  wo.sums = tab->conn->sums;
  {
    emd_cache_stats cs;
    emd_cache_get_stats(tab->conn->cache, &cs);
    c->no_watch = wo.no_watch = cs.limit == 0;
  }
  /* Followed links lead to files whose changes the folders' watches do not
  ** see: then nothing a statement learnt of a folder is kept for the next. */
  emd_links_init(&c->links, c->rootfd, (uint64_t)tab->rootfd_st.st_dev,
                 (uint64_t)tab->rootfd_st.st_ino,
                 !c->no_watch && !tab->follow_symlinks, &tab->memo);
  if (c->plan.mode == EMD_MODE_LOOKUP) {
    if (!c->no_watch && !tab->follow_symlinks && !tab->rootdir) {
      /* Files the archive is known to hold are reached from it without a
      ** system call (fill_from_paths, lookup.c). */
      int fd = fcntl(c->rootfd, F_DUPFD_CLOEXEC, 3);
      if (fd >= 0) tab->rootdir = emd_dir_new(fd, &tab->rootfd_st, 1);
    }
    rc = expand_paths(c, &wo);
    if (rc != SQLITE_OK) return rc;
    sort_paths(&c->plan);
    fill = fill_from_paths;
  } else if (c->plan.mode == EMD_MODE_ROWID || (flags & EMD_IDX_ROWIDORDER) ||
             (flags & EMD_IDX_DATEORDER)) {
    int order = (flags & EMD_IDX_DATEORDER) ? EMD_ORDER_DATE : EMD_ORDER_ROWID;
    rc = emd_dateorder_open(&c->dorder, order, c->rootfd, &wo,
                            &tab->conn->stats, &c->sc,
                            emd_ahead_scratch(&c->ahead), c->plan.rowid_lo,
                            c->plan.rowid_hi, emd_cursor_yield_cb, c, &err);
    if (rc == SQLITE_CANTOPEN) return root_error(c, err);
    if (rc != SQLITE_OK) return rc;
    fill = fill_from_dateorder;
  } else {
    c->sc.folder_batches = tab->conn->cf != NULL;
    rc = emd_walk_open(&c->walk, c->rootfd, NULL, &wo, &tab->conn->stats, &err);
    if (rc == SQLITE_CANTOPEN) return root_error(c, err);
    if (rc != SQLITE_OK) return rc;
    fill = fill_from_walk;
  }
  /* Lookups of a few paths are done one by one, without workers. */
  emd_ahead_start(&c->ahead, &c->sc, fill, c,
                  c->plan.mode != EMD_MODE_LOOKUP || c->plan.npaths > 64
                      ? tab->conn->threads
                      : 1);
  c->eof = 0;
  c->cur = NULL;
  return emd_cursor_next(c);
}

/* Rows the current entry gives a child table. */
static uint32_t child_rows(emd_cursor *c) {
  if (!c->cur || !emd_entry_rec(c->cur)) return 0;
  return emd_rec_count(emd_entry_rec(c->cur), c->tab->def->list);
}

/* The records of the next few entries into the CPU's cache, in steps (see
** emd_rec_prefetch): a warm scan otherwise waits on each record's first
** bytes, then its row offsets, then its rows, one miss after another. */
static void prefetch_ahead(emd_cursor *c) {
  int t = c->tab->def->child ? c->tab->def->list : -1;
  uint32_t k;
  for (k = 1; k <= 3; k++) {
    emd_entry *e = emd_ahead_peek(&c->ahead, k);
    const emd_rec *r = e ? emd_entry_rec(e) : NULL;
    if (r) emd_rec_prefetch(r, t, (int)(k - 1));
  }
}

int emd_cursor_next(emd_cursor *c) {
  const emd_table_def *def = c->tab->def;
  if (c->eof) return SQLITE_OK;
  c->row_decoded = 0;
  if (def->child && c->cur && c->row + 1 < child_rows(c)) {
    c->row++;
    return SQLITE_OK;
  }
  /* A long first scan writes the cache file as it goes (its queue is
  ** bounded). */
  if (c->tab->conn->cf &&
      emd_cachefile_queued(c->tab->conn->cf) > EMD_CACHEFILE_FLUSH_AT)
    emd_cachefile_flush(c->tab->conn->cf);
  for (;;) {
    int rc = emd_cursor_yield(c);
    if (rc == SQLITE_OK) rc = emd_ahead_next(&c->ahead, &c->cur);
    if (rc != SQLITE_OK) {
      c->cur = NULL;
      c->eof = 1;
      return rc;
    }
    if (!c->cur) {
      c->eof = 1;
      return SQLITE_OK;
    }
    c->row = 0;
    prefetch_ahead(c);
    if (def->child && child_rows(c) == 0) continue;
    /* A file outside day folders whose heading date fails the date
    ** constraints can never be a row of the result: skip it here rather
    ** than hand it to SQLite (the constraints are ANDed, and SQLite checks
    ** them again anyway). */
    if (c->plan.df.active && !def->child && !c->cur->path_date[0]) {
      const char *d = emd_row_date(c);
      if (!d || !emd_datefilter_overlaps(&c->plan.df, d, d)) continue;
    }
    return SQLITE_OK;
  }
}

/* Rowids depend on the path on disk alone, whatever the plan or query, and
** have 53 bits, so that clients keeping numbers as doubles (JavaScript, BI
** tools) see them exactly.  An event's is its path date's day number, then
** a hash of the path (emd_path_rowid): rowid order is date order, so a
** browser paging by rowid reads only the days it shows.  A child row's is
** a hash of the path mixed with the row's position. */
int emd_cursor_rowid(emd_cursor *c, sqlite3_int64 *rowid) {
  uint64_t h;
  if (!c->tab->def->child) {
    *rowid =
        (sqlite3_int64)emd_path_rowid(c->cur->relpath, c->cur->relpath_len);
    return SQLITE_OK;
  }
  /* Child rows: the path's hash mixed with the row's position. */
  h = emd_hash64(c->cur->relpath, c->cur->relpath_len);
  h ^= (uint64_t)(c->row + 1) * 0x9E3779B97F4A7C15ULL;
  h ^= h >> 31;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 29;
  *rowid = (sqlite3_int64)(h & 0x1FFFFFFFFFFFFFULL);
  return SQLITE_OK;
}

/* ------------------------------------------------------------------------
** What column functions ask of the current row.
*/
const char *emd_row_path(emd_cursor *c, int *len) {
  *len = c->cur->disp_len;
  return c->cur->disp;
}

int emd_row_is_file(emd_cursor *c) {
  return c->cur->kind != EMD_ITEM_FOLDER;
}

const emd_rec *emd_row_rec(emd_cursor *c) {
  emd_entry *e = c->cur;
  if (!e->prepared && emd_entry_prepare(&c->sc, e, emd_ahead_scratch(&c->ahead),
                                        0) != SQLITE_OK)
    return NULL;
  return emd_entry_rec(e);
}

const char *emd_row_date(emd_cursor *c) {
  const emd_rec *r;
  emd_str hd;
  if (c->cur->path_date[0]) return c->cur->path_date;
  if (c->cur->kind != EMD_ITEM_FILE) return NULL;
  r = emd_row_rec(c);
  if (!r) return NULL;
  hd = emd_rec_field(r, EMD_F_HEADING_DATE);
  if (!hd.p || hd.n != EMD_DATE_LEN) return NULL;
  memcpy(c->cur->heading_date, hd.p, EMD_DATE_LEN);
  c->cur->heading_date[EMD_DATE_LEN] = 0;
  return c->cur->heading_date;
}

const emd_str *emd_row_fields(emd_cursor *c) {
  if (!c->row_decoded) {
    emd_rec_row(emd_entry_rec(c->cur), c->tab->def->list, c->row, c->fields);
    c->row_decoded = 1;
  }
  return c->fields;
}

const emd_rowfolder *emd_row_folder(emd_cursor *c, int versions,
                                    emd_rowfolder *out) {
  if (emd_folder_row(out, &c->sc, &c->links, c->cur,
                     emd_ahead_scratch(&c->ahead), versions) != SQLITE_OK)
    return NULL;
  return out;
}

emd_str emd_row_link(emd_cursor *c, emd_str href) {
  return emd_links_norm(&c->links, href);
}

const char *emd_row_root(emd_cursor *c) {
  return c->plan.root;
}

int emd_row_stat(emd_cursor *c, sqlite3_int64 *size, sqlite3_int64 *mtime) {
  if (!c->cur->have_stat) return 0;
  *size = (sqlite3_int64)c->cur->st.st_size;
  *mtime = (sqlite3_int64)c->cur->st.st_mtim.tv_sec;
  return 1;
}

void emd_result_str(sqlite3_context *ctx, emd_str s) {
  if (s.p)
    sqlite3_result_text(ctx, s.n ? s.p : "", (int)s.n, SQLITE_TRANSIENT);
  else
    sqlite3_result_null(ctx);
}

void emd_result_recstr(sqlite3_context *ctx, emd_str s) {
  if (s.p)
    sqlite3_result_text(ctx, s.p, -1, SQLITE_TRANSIENT);
  else
    sqlite3_result_null(ctx);
}

void emd_result_text(sqlite3_context *ctx, const char *s) {
  if (s)
    sqlite3_result_text(ctx, s, -1, SQLITE_TRANSIENT);
  else
    sqlite3_result_null(ctx);
}

int emd_child_column(sqlite3_context *ctx, emd_cursor *c, int col,
                     int col_root) {
  if (col == 0) {
    sqlite3_result_text(ctx, c->cur->disp, c->cur->disp_len, SQLITE_TRANSIENT);
  } else if (col == 1) {
    sqlite3_result_int64(ctx, (sqlite3_int64)c->row + 1);
  } else if (col == col_root) {
    emd_result_text(ctx, c->plan.root);
  } else {
    return 0;
  }
  return 1;
}

void emd_result_problem(sqlite3_context *ctx, emd_cursor *c) {
  int nomem;
  char *p;
  if (c->cur->kind == EMD_ITEM_FILE) (void)emd_row_rec(c);
  p = emd_entry_problem(c->cur, &nomem);
  if (p)
    sqlite3_result_text(ctx, p, -1, sqlite3_free);
  else if (nomem)
    sqlite3_result_error_nomem(ctx);
  else
    sqlite3_result_null(ctx);
}

void emd_result_markdown(sqlite3_context *ctx, emd_cursor *c) {
  emd_entry *e = c->cur;
  if (!e->markdown && e->kind == EMD_ITEM_FILE &&
      emd_entry_prepare(&c->sc, e, emd_ahead_scratch(&c->ahead), 1) !=
          SQLITE_OK) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (e->markdown)
    sqlite3_result_text64(ctx, e->markdown, e->markdown_len, SQLITE_TRANSIENT,
                          SQLITE_UTF8);
  else
    sqlite3_result_null(ctx);
}
