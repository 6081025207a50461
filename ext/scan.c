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
#include <unistd.h>

#include "dateorder.h"
#include "text.h"

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
  emd_ahead_init(&c->ahead);
  *out = c;
  return SQLITE_OK;
}

void emd_cursor_reset(emd_cursor *c) {
  int i;
  emd_ahead_stop(&c->ahead); /* workers first: they use the fds below */
  c->cur = NULL;
  emd_walk_close(c->walk);
  c->walk = NULL;
  emd_dateorder_close(c->dorder);
  c->dorder = NULL;
  for (i = 0; i < c->npaths; i++) emd_free(c->paths[i]);
  emd_free(c->paths);
  c->paths = NULL;
  c->npaths = c->ipath = 0;
  for (i = 0; i < c->ndf_strings; i++) emd_free(c->df_strings[i]);
  emd_free(c->df_strings);
  c->df_strings = NULL;
  c->ndf_strings = 0;
  emd_free((void *)c->df.eq);
  memset(&c->df, 0, sizeof(c->df));
  c->rootfd = -1; /* the table's: not closed here */
  emd_free(c->root);
  c->root = NULL;
  free(c->root_real); /* from realpath(): the C library's */
  c->root_real = NULL;
  c->mode = EMD_MODE_EMPTY;
  c->eof = 1;
  c->row = 0;
}

void emd_cursor_free(emd_cursor *c) {
  emd_cursor_reset(c);
  emd_ahead_free(&c->ahead);
  emd_free(c);
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
  int r;
#if SQLITE_VERSION_NUMBER >= 3041000
  /* Skipping folders can take a while; newer SQLite lets us look. */
  if (sqlite3_is_interrupted(c->tab->conn->db)) return SQLITE_INTERRUPT;
#endif
  r = emd_walk_next(c->walk, &it);
  if (r < 0) return SQLITE_NOMEM;
  if (r == 0) return SQLITE_DONE;
  return emd_entry_set(slot, it.kind, it.relpath, it.relpath_len,
                       (size_t)(it.name - it.relpath), it.dir, it.follow,
                       it.err);
}

/* The paths of a path = / IN constraint, in order. */
static int fill_from_paths(void *ctx, emd_entry *slot) {
  emd_cursor *c = ctx;
  while (c->ipath < c->npaths) {
    int rc = emd_entry_lookup(slot, c->rootfd, c->tab->follow_symlinks,
                              c->root_real, c->paths[c->ipath++]);
    if (rc != SQLITE_DONE) return rc;
  }
  return SQLITE_DONE;
}

/* Date order: dateorder.c. */
static int fill_from_dateorder(void *ctx, emd_entry *slot) {
  emd_cursor *c = ctx;
#if SQLITE_VERSION_NUMBER >= 3041000
  if (sqlite3_is_interrupted(c->tab->conn->db)) return SQLITE_INTERRUPT;
#endif
  return emd_dateorder_next(c->dorder, slot);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void emd_table_close_root(emd_table *tab) {
  if (tab->rootfd >= 0) close(tab->rootfd);
  tab->rootfd = -1;
  emd_free(tab->rootfd_path);
  tab->rootfd_path = NULL;
}

/* The root folder, open.  A table keeps the last one open: one stat() (its
** identity and change time unchanged) replaces an open() and a close() per
** scan, which matters for lookups by path.  -1 with errno on failure. */
static int root_fd(emd_table *tab, const char *root) {
  struct stat st;
  int fd;
  if (tab->rootfd >= 0 && !strcmp(tab->rootfd_path, root) &&
      stat(root, &st) == 0 && st.st_dev == tab->rootfd_st.st_dev &&
      st.st_ino == tab->rootfd_st.st_ino &&
      st.st_ctim.tv_sec == tab->rootfd_st.st_ctim.tv_sec &&
      st.st_ctim.tv_nsec == tab->rootfd_st.st_ctim.tv_nsec)
    return tab->rootfd;
  emd_table_close_root(tab);
  fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  if (fstat(fd, &tab->rootfd_st) != 0 ||
      !(tab->rootfd_path = emd_strndup(root, strlen(root)))) {
    int err = errno ? errno : ENOMEM;
    close(fd);
    errno = err;
    return -1;
  }
  tab->rootfd = fd;
  return fd;
}

int emd_cursor_start(emd_cursor *c) {
  emd_table *tab = c->tab;
  emd_fill_fn fill;
  c->rootfd = root_fd(tab, c->root);
  if (c->rootfd < 0 && errno == ENOMEM) return SQLITE_NOMEM;
  if (c->rootfd < 0)
    return emd_cursor_error(
        c, SQLITE_ERROR, "eventmd: root '%s' is not a readable directory (%s)",
        c->root, strerror(errno));
  if (tab->follow_symlinks) {
    c->root_real = realpath(c->root, NULL);
    if (!c->root_real && errno == ENOMEM) return SQLITE_NOMEM;
    if (!c->root_real)
      return emd_cursor_error(
          c, SQLITE_ERROR,
          "eventmd: root '%s' is not a readable directory (%s)", c->root,
          strerror(errno));
  }
  c->sc.conn = tab->conn;
  c->sc.root = c->root;
  c->sc.rootlen = strlen(c->root);
  c->sc.root_real = c->root_real;
  c->sc.max_size = tab->max_size;
  c->sc.follow_symlinks = tab->follow_symlinks;
  emd_links_init(&c->links, c->rootfd);
  c->sc.want_parse = tab->def->child || (c->flags & EMD_IDX_PARSE);
  c->sc.want_markdown = (c->flags & EMD_IDX_MARKDOWN) != 0;
  if (c->mode == EMD_MODE_LOOKUP) {
    int j, k = 0;
    if (c->npaths > 1)
      qsort(c->paths, (size_t)c->npaths, sizeof(char *), cmp_str);
    for (j = 0; j < c->npaths; j++) {
      if (k > 0 && strcmp(c->paths[k - 1], c->paths[j]) == 0) {
        emd_free(c->paths[j]);
        continue;
      }
      c->paths[k++] = c->paths[j];
    }
    c->npaths = k;
    fill = fill_from_paths;
  } else {
    emd_walk_opts wo;
    int err;
    memset(&wo, 0, sizeof(wo));
    wo.follow_symlinks = tab->follow_symlinks;
    wo.root_real = c->root_real;
    wo.date = c->df.active ? &c->df : NULL;
    wo.sums = tab->conn->sums;
    if (c->flags & EMD_IDX_DATEORDER) {
      int rc = emd_dateorder_open(&c->dorder, c->rootfd, &wo, &tab->conn->stats,
                                  &c->sc, emd_ahead_scratch(&c->ahead));
      if (rc == SQLITE_CANTOPEN)
        return emd_cursor_error(
            c, SQLITE_ERROR, "eventmd: root '%s' is not a readable directory",
            c->root);
      if (rc != SQLITE_OK) return rc;
      c->mode = EMD_MODE_DATE;
      fill = fill_from_dateorder;
    } else {
      err = emd_walk_open(&c->walk, c->rootfd, NULL, &wo, &tab->conn->stats);
      if (err == ENOMEM) return SQLITE_NOMEM;
      if (err)
        return emd_cursor_error(
            c, SQLITE_ERROR,
            "eventmd: root '%s' is not a readable directory (%s)", c->root,
            strerror(err));
      c->mode = EMD_MODE_WALK;
      fill = fill_from_walk;
    }
  }
  /* Lookups of a few paths are done one by one, without workers. */
  emd_ahead_start(
      &c->ahead, &c->sc, fill, c,
      c->mode != EMD_MODE_LOOKUP || c->npaths > 64 ? tab->conn->threads : 1);
  c->eof = 0;
  c->cur = NULL;
  return emd_cursor_next(c);
}

/* Rows the current entry gives a child table. */
static uint32_t child_rows(emd_cursor *c) {
  if (!c->cur || !c->cur->parsed) return 0;
  return emd_rec_count(c->cur->parsed->rec, c->tab->def->list);
}

int emd_cursor_next(emd_cursor *c) {
  const emd_table_def *def = c->tab->def;
  if (c->eof) return SQLITE_OK;
  c->row_decoded = 0;
  if (def->child && c->cur && c->row + 1 < child_rows(c)) {
    c->row++;
    return SQLITE_OK;
  }
  for (;;) {
    int rc = emd_ahead_next(&c->ahead, &c->cur);
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
    if (def->child && child_rows(c) == 0) continue;
    /* A file outside day folders whose heading date fails the date
    ** constraints can never be a row of the result: skip it here rather
    ** than hand it to SQLite (the constraints are ANDed, and SQLite checks
    ** them again anyway). */
    if (c->df.active && !def->child && !c->cur->path_date[0]) {
      const char *d = emd_row_date(c);
      if (!d || !emd_datefilter_overlaps(&c->df, d, d)) continue;
    }
    return SQLITE_OK;
  }
}

/* Rowids: a hash of the path on disk (mixed with the item's index for
** child rows), so a path keeps its rowid whatever the plan or query.  53
** bits, so that clients keeping numbers as doubles (JavaScript, BI tools)
** see them exactly. */
int emd_cursor_rowid(emd_cursor *c, sqlite3_int64 *rowid) {
  uint64_t h = emd_hash64(c->cur->relpath, c->cur->relpath_len);
  if (c->tab->def->child) {
    h ^= (uint64_t)(c->row + 1) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
  }
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
  return e->parsed ? e->parsed->rec : NULL;
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
    emd_rec_row(c->cur->parsed->rec, c->tab->def->list, c->row, c->fields);
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
  return c->root;
}

int emd_row_stat(emd_cursor *c, sqlite3_int64 *size, sqlite3_int64 *mtime) {
  if (!c->cur->have_stat) return 0;
  *size = (sqlite3_int64)c->cur->st.st_size;
  *mtime = (sqlite3_int64)c->cur->st.st_mtim.tv_sec;
  return 1;
}

void emd_result_domain(sqlite3_context *ctx, emd_str url) {
  char *out;
  size_t n;
  if (!url.p) return;
  out = sqlite3_malloc64(url.n + 1);
  if (!out) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (emd_url_domain(url.p, url.n, out, &n))
    sqlite3_result_text(ctx, out, (int)n, sqlite3_free);
  else
    sqlite3_free(out);
}

void emd_result_str(sqlite3_context *ctx, emd_str s) {
  if (s.p)
    sqlite3_result_text(ctx, s.n ? s.p : "", (int)s.n, SQLITE_TRANSIENT);
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
    emd_result_text(ctx, c->root);
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
