/*
** scan.c - the machinery the four virtual tables share (see scan.h).
**
** A scan turns a root folder into a stream of *entries* (event files, and the
** folders and special files that get a row with a problem), in path order.
** An entry comes either from the walker (walk.c) or, when the query names
** paths (path = / IN), from looking those paths up directly.  Each entry is
** stat()ed; when the query needs the file's contents the entry is read
** (readfile.c) and parsed (parse.c) unless the connection's cache (cache.c)
** holds a parse of that exact version.  The events table shows one row per
** entry; the child tables show one row per item of the parsed event.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"
#include "text.h"

/* ------------------------------------------------------------------------
** The virtual table.
*/
typedef struct emd_table {
  sqlite3_vtab base;          /* base class; must be first */
  const emd_table_def *def;   /* which table */
  emd_conn *conn;             /* the connection's state */
  char *root;                 /* root= argument, or NULL (table-valued use) */
  size_t max_size;            /* max_size= argument: larger files not read */
  int follow_symlinks;        /* follow_symlinks= argument */
} emd_table;

/* One entry of a scan: a row of eventmd_events. */
typedef struct emd_entry {
  int kind;            /* EMD_ITEM_* */
  char *relpath;       /* root-relative path as on disk (owned) */
  size_t relpath_len;  /* its length */
  char *disp;          /* "/" + relpath, U+FFFD for bad bytes (owned) */
  int disp_len;        /* its length */
  int name_bad;        /* relpath is not valid UTF-8 */
  emd_dir *dir;        /* folder holding the file (a reference) */
  const char *name;    /* file name, inside relpath */
  int follow;          /* name is a link the table follows */
  int err;             /* errno of an EMD_ITEM_FOLDER entry */
  int have_stat;       /* st is set */
  struct stat st;      /* the file's stat() */
  char path_date[11];  /* date of the path, or "" */
  int prepared;        /* read/parse done as far as the query needs */
  emd_parsed *parsed;  /* the parsed file (a reference), or NULL */
  int read_status;     /* EMD_READ_* of the read attempt */
  int read_err;        /* errno of EMD_READ_ERROR */
  char *markdown;      /* file text, when the query shows it (owned) */
  size_t markdown_len; /* its length */
} emd_entry;

enum { MODE_EMPTY, MODE_WALK, MODE_LOOKUP };

/* The cursor. */
struct emd_cursor {
  sqlite3_vtab_cursor base; /* base class; must be first */
  emd_table *tab;           /* the table */
  int flags;                /* EMD_IDX_* of the plan */
  char *root;               /* root in use (owned copy) */
  int rootfd;               /* open root folder, or -1 */
  char *root_real;          /* realpath of root when following links */
  int mode;                 /* MODE_* */
  emd_walk *walk;           /* MODE_WALK */
  char **paths;             /* MODE_LOOKUP: sorted, distinct relpaths */
  int npaths;               /* number of paths */
  int ipath;                /* next path */
  emd_datefilter df;        /* date constraints for pruning */
  char **df_strings;        /* storage for df's strings */
  int ndf_strings;
  emd_entry cur;            /* the current entry */
  uint32_t row;             /* child tables: index inside cur's items */
  int eof;                  /* no current row */
};

/* ------------------------------------------------------------------------
** The planner contract.
**
** xBestIndex picks at most one way to narrow the scan and tells xFilter
** through idxNum (bits below) and idxStr (one letter per xFilter argument,
** in argv order):
**
**   'r'  root = ?        (the hidden root column, i.e. the table-valued
**                         function's argument)
**   'p'  path = ?        (event_path for the child tables)
**   'P'  path IN (...)   handled all at once with sqlite3_vtab_in()
**   'e'  date = ?        'E'  date IN (...) all at once
**   'g'  date > ?        'G'  date >= ?
**   'l'  date < ?        'L'  date <= ?
**
** Path constraints win over date constraints: they open only the files
** named.  Date constraints prune day folders (never change the rows: SQLite
** still checks every constraint, omit is never set).  Constraints with a
** collating sequence other than BINARY are not used.
*/
#define EMD_IDX_ORDERED 0x01  /* rows come in path order; ORDER BY consumed */
#define EMD_IDX_PARSE 0x02    /* some column used needs the parsed file */
#define EMD_IDX_MARKDOWN 0x04 /* the markdown column is used */
#define EMD_IDX_NOROOT 0x08   /* no root: xFilter reports the error */

#define MAX_DATE_CONS 8

static int is_binary(sqlite3_index_info *info, int i) {
  const char *coll = sqlite3_vtab_collation(info, i);
  return !coll || sqlite3_stricmp(coll, "BINARY") == 0;
}

static int xBestIndex(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  emd_table *tab = (emd_table *)vtab;
  const emd_table_def *def = tab->def;
  int i, argc = 0, iroot = -1, ipath = -1, path_in = 0, ndate = 0;
  int idate[MAX_DATE_CONS];
  char code[MAX_DATE_CONS + 3];
  int flags = 0;
  double rows, cost;
  sqlite3_uint64 used = info->colUsed;

  for (i = 0; i < info->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &info->aConstraint[i];
    if (c->iColumn == def->col_root && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
      /* A root that is there but not usable yet: ask for another plan. */
      if (!c->usable) {
        if (!tab->root) return SQLITE_CONSTRAINT;
        continue;
      }
      if (iroot < 0) iroot = i;
      continue;
    }
    if (!c->usable || !is_binary(info, i)) continue;
    if (c->iColumn == def->col_path && c->op == SQLITE_INDEX_CONSTRAINT_EQ &&
        (ipath < 0 || path_in)) {
      /* Prefer a single value over an IN list. */
      int in = sqlite3_vtab_in(info, i, -1);
      if (ipath < 0 || !in) {
        ipath = i;
        path_in = in;
      }
      continue;
    }
    if (c->iColumn == def->col_date && def->col_date >= 0 &&
        ndate < MAX_DATE_CONS &&
        (c->op == SQLITE_INDEX_CONSTRAINT_EQ ||
         c->op == SQLITE_INDEX_CONSTRAINT_GT ||
         c->op == SQLITE_INDEX_CONSTRAINT_GE ||
         c->op == SQLITE_INDEX_CONSTRAINT_LT ||
         c->op == SQLITE_INDEX_CONSTRAINT_LE)) {
      idate[ndate++] = i;
    }
  }

  if (iroot >= 0) {
    info->aConstraintUsage[iroot].argvIndex = ++argc;
    info->aConstraintUsage[iroot].omit = 1; /* xFilter checks it */
    code[argc - 1] = 'r';
  } else if (!tab->root) {
    flags |= EMD_IDX_NOROOT;
  }

  if (ipath >= 0) {
    info->aConstraintUsage[ipath].argvIndex = ++argc;
    if (path_in) sqlite3_vtab_in(info, ipath, 1);
    code[argc - 1] = path_in ? 'P' : 'p';
    rows = path_in ? 10 : 1;
    if (def->child) rows *= 5;
    cost = 10 * rows;
    if (!path_in && !def->child) info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
  } else {
    int k, has_eq = 0, has_range = 0;
    for (k = 0; k < ndate; k++) {
      const struct sqlite3_index_constraint *c =
          &info->aConstraint[idate[k]];
      char ch;
      switch (c->op) {
        case SQLITE_INDEX_CONSTRAINT_EQ:
          ch = sqlite3_vtab_in(info, idate[k], -1) ? 'E' : 'e';
          if (ch == 'E') sqlite3_vtab_in(info, idate[k], 1);
          has_eq = 1;
          break;
        case SQLITE_INDEX_CONSTRAINT_GT: ch = 'g'; has_range = 1; break;
        case SQLITE_INDEX_CONSTRAINT_GE: ch = 'G'; has_range = 1; break;
        case SQLITE_INDEX_CONSTRAINT_LT: ch = 'l'; has_range = 1; break;
        default: ch = 'L'; has_range = 1; break;
      }
      info->aConstraintUsage[idate[k]].argvIndex = ++argc;
      code[argc - 1] = ch;
    }
    if (has_eq) {
      rows = 10;
      cost = 1000;
    } else if (has_range) {
      rows = 10000;
      cost = 100000;
    } else {
      rows = def->child ? 500000 : 100000;
      cost = 1000000;
    }
  }
  if (flags & EMD_IDX_NOROOT) cost = 1e15; /* any plan with a root is better */
  code[argc] = 0;

  /* ORDER BY path [, anything] (path is unique) or, for child tables,
  ** event_path [, ordinal], ascending, comes out of the walk in order. */
  if (info->nOrderBy >= 1 && info->aOrderBy[0].iColumn == def->col_path &&
      !info->aOrderBy[0].desc) {
    int ok = 1;
    if (def->child) {
      for (i = 1; i < info->nOrderBy; i++)
        if (info->aOrderBy[i].iColumn != 1 || info->aOrderBy[i].desc) ok = 0;
    }
    if (ok) {
      info->orderByConsumed = 1;
      flags |= EMD_IDX_ORDERED;
    }
  }

  if (def->child || (used & ~def->meta_cols)) flags |= EMD_IDX_PARSE;
  if (def->col_markdown >= 0 && (used & ((sqlite3_uint64)1 << def->col_markdown)))
    flags |= EMD_IDX_MARKDOWN;

  info->idxNum = flags;
  info->estimatedRows = (sqlite3_int64)rows;
  info->estimatedCost = cost;
  if (argc) {
    info->idxStr = sqlite3_mprintf("%s", code);
    if (!info->idxStr) return SQLITE_NOMEM;
    info->needToFreeIdxStr = 1;
  }
  return SQLITE_OK;
}

/* ------------------------------------------------------------------------
** Entries.
*/
static void entry_clear(emd_entry *e) {
  emd_free(e->relpath);
  emd_free(e->disp);
  emd_dir_release(e->dir);
  emd_parsed_release(e->parsed);
  emd_free(e->markdown);
  memset(e, 0, sizeof(*e));
}

/* Fill e's path fields from relpath (copied). 0 or SQLITE_NOMEM. */
static int entry_set_path(emd_entry *e, const char *relpath, size_t len,
                          size_t name_off) {
  emd_utf8_info u;
  e->relpath = emd_strndup(relpath, len);
  if (!e->relpath) return SQLITE_NOMEM;
  e->relpath_len = len;
  e->name = e->relpath + name_off;
  emd_utf8_scan(&u, relpath, len);
  e->name_bad = !u.valid || u.has_nul;
  e->disp = emd_malloc(u.repaired_len + 2);
  if (!e->disp) return SQLITE_NOMEM;
  e->disp[0] = '/';
  e->disp_len = 1 + (int)emd_utf8_repair(e->disp + 1, relpath, len);
  e->disp[e->disp_len] = 0;
  if (!eventmd_path_date(e->path_date, e->disp, (size_t)e->disp_len))
    e->path_date[0] = 0;
  return SQLITE_OK;
}

/* stat() a file entry.  Returns 0 = keep, 1 = vanished (skip). */
static int entry_stat(emd_cursor *cur, emd_entry *e) {
  int flags = e->follow ? 0 : AT_SYMLINK_NOFOLLOW;
  if (e->kind == EMD_ITEM_FOLDER) return 0;
  EMD_COUNT(&cur->tab->conn->stats, files_stated, 1);
  if (fstatat(e->dir->fd, e->name, &e->st, flags) != 0) {
    if (errno == ENOENT) return 1;
    e->read_status = EMD_READ_ERROR;
    e->read_err = errno;
    e->prepared = 1;
    return 0;
  }
  e->have_stat = 1;
  if (e->kind == EMD_ITEM_FILE && !S_ISREG(e->st.st_mode)) {
    e->kind = S_ISLNK(e->st.st_mode) ? EMD_ITEM_LINK : EMD_ITEM_SPECIAL;
  }
  return 0;
}

/* Cache key: root, a NUL, relpath.  Returns a new string or NULL. */
static char *cache_key(emd_cursor *cur, const emd_entry *e, size_t *len) {
  size_t rl = strlen(cur->root);
  char *k = emd_malloc(rl + 1 + e->relpath_len);
  if (!k) return NULL;
  memcpy(k, cur->root, rl + 1);
  memcpy(k + rl + 1, e->relpath, e->relpath_len);
  *len = rl + 1 + e->relpath_len;
  return k;
}

/* Parse bytes of e into a new emd_parsed.  SQLITE_OK or SQLITE_NOMEM. */
static void *parser_malloc(void *ctx, size_t n) {
  (void)ctx;
  return emd_malloc(n);
}
static void *parser_realloc(void *ctx, void *p, size_t n) {
  (void)ctx;
  return emd_realloc(p, n);
}
static void parser_free(void *ctx, void *p) {
  (void)ctx;
  emd_free(p);
}
static const eventmd_allocator parser_alloc = {parser_malloc, parser_realloc,
                                               parser_free, NULL};

static int parse_bytes(emd_cursor *cur, emd_entry *e, const emd_read *rd,
                       emd_parsed **out) {
  eventmd_parse_options opts;
  eventmd_event *ev = NULL;
  memset(&opts, 0, sizeof(opts));
  opts.alloc = &parser_alloc;
  EMD_COUNT(&cur->tab->conn->stats, files_parsed, 1);
  if (eventmd_parse(&ev, rd->data, rd->len, e->disp, &opts) != EVENTMD_OK)
    return SQLITE_NOMEM;
  *out = emd_parsed_new(ev, &rd->st, (off_t)rd->len);
  return *out ? SQLITE_OK : SQLITE_NOMEM;
}

/* Keep the text of the file for the markdown column (valid UTF-8). */
static int keep_markdown(emd_entry *e, emd_read *rd) {
  emd_utf8_info u;
  emd_utf8_scan(&u, rd->data, rd->len);
  if (u.valid) {
    e->markdown = rd->data;
    e->markdown_len = rd->len;
    rd->data = NULL;
    return SQLITE_OK;
  }
  e->markdown = emd_malloc(u.repaired_len + 1);
  if (!e->markdown) return SQLITE_NOMEM;
  e->markdown_len = emd_utf8_repair(e->markdown, rd->data, rd->len);
  e->markdown[e->markdown_len] = 0;
  return SQLITE_OK;
}

/* Read and parse e as far as the plan needs.  *gone is set when the file
** vanished since the walk.  Returns SQLITE_OK or an error code. */
static int entry_prepare(emd_cursor *cur, emd_entry *e, int want_markdown,
                         int *gone) {
  emd_conn *conn = cur->tab->conn;
  emd_read rd;
  char *key = NULL;
  size_t keylen = 0;
  int rc = SQLITE_OK;
  *gone = 0;
  if (e->prepared) return SQLITE_OK;
  e->prepared = 1;
  if (e->kind != EMD_ITEM_FILE || !e->have_stat) return SQLITE_OK;
  if ((size_t)e->st.st_size > cur->tab->max_size) {
    e->read_status = EMD_READ_TOO_LARGE;
    return SQLITE_OK;
  }
  key = cache_key(cur, e, &keylen);
  if (!key) return SQLITE_NOMEM;
  if (!want_markdown) {
    e->parsed = emd_cache_get(conn->cache, key, keylen, &e->st);
    if (e->parsed) {
      EMD_COUNT(&conn->stats, cache_hits, 1);
      emd_free(key);
      return SQLITE_OK;
    }
    EMD_COUNT(&conn->stats, cache_misses, 1);
  }
  if (emd_read_file(&rd, e->dir->fd, e->name, e->follow, cur->root_real,
                    cur->tab->max_size, &conn->stats)) {
    emd_free(key);
    return SQLITE_NOMEM;
  }
  if (rd.status == EMD_READ_GONE) {
    *gone = 1;
  } else if (rd.status != EMD_READ_OK) {
    e->read_status = rd.status;
    e->read_err = rd.err;
    if (rd.status != EMD_READ_TOO_LARGE && rd.status != EMD_READ_ERROR) {
      e->kind = rd.status == EMD_READ_SPECIAL ? EMD_ITEM_SPECIAL
                : rd.status == EMD_READ_LINK  ? EMD_ITEM_LINK
                                              : EMD_ITEM_FILE;
    }
  } else {
    /* The version read is the one shown: size and times from its fstat. */
    e->st = rd.st;
    e->st.st_size = (off_t)rd.len;
    if (want_markdown) {
      e->parsed = emd_cache_get(conn->cache, key, keylen, &rd.st);
      if (e->parsed) EMD_COUNT(&conn->stats, cache_hits, 1);
      rc = keep_markdown(e, &rd);
    }
    if (rc == SQLITE_OK && !e->parsed) {
      rc = parse_bytes(cur, e, &rd, &e->parsed);
      if (rc == SQLITE_OK) emd_cache_put(conn->cache, key, keylen, e->parsed);
    }
  }
  emd_free(rd.data);
  emd_free(key);
  return rc;
}

/* ------------------------------------------------------------------------
** Sources of entries: the walk, or a list of paths.
*/

/* Make cur->cur from a walk item. */
static int entry_from_item(emd_cursor *cur, const emd_walk_item *it) {
  emd_entry *e = &cur->cur;
  int rc = entry_set_path(e, it->relpath, it->relpath_len,
                          (size_t)(it->name - it->relpath));
  if (rc) return rc;
  e->kind = it->kind;
  e->err = it->err;
  e->follow = it->follow;
  e->dir = emd_dir_ref(it->dir);
  return SQLITE_OK;
}

/* Is p (as given in a query, with a leading '/') a path the walk could
** yield?  No "..", ".", empty or hidden components.  Returns the relpath
** length (p+1 ..) or -1. */
static int lookup_path_ok(const char *p, size_t n) {
  size_t i = 1, start;
  if (n < 2 || p[0] != '/' || memchr(p, 0, n)) return -1;
  while (i < n) {
    start = i;
    while (i < n && p[i] != '/') i++;
    if (i == start) return -1;          /* "//" */
    if (p[start] == '.') return -1;     /* ".", "..", hidden */
    if (i < n) i++;                     /* the slash */
  }
  return (int)(n - 1);
}

/* Look up the relpath rel: open its folders one by one, then classify the
** last component like the walk would.  Returns SQLITE_OK with cur->cur set,
** SQLITE_DONE when there is no such row, or an error. */
static int entry_lookup(emd_cursor *cur, const char *rel) {
  emd_entry *e = &cur->cur;
  size_t len = strlen(rel), i = 0, last;
  int folder = len > 0 && rel[len - 1] == '/';
  int fd, rc, follow = cur->tab->follow_symlinks;
  char comp[NAME_MAX + 1];
  struct stat st;

  fd = fcntl(cur->rootfd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return SQLITE_DONE;
  /* The folders: all components but the last. */
  last = folder ? len - 1 : len;
  while (last > 0 && rel[last - 1] != '/') last--;
  if (folder && last == 0 && len == 0) {
    close(fd);
    return SQLITE_DONE;
  }
  while (i < last) {
    const char *slash = strchr(rel + i, '/');
    size_t n = (size_t)(slash - (rel + i));
    int nfd;
    if (n > NAME_MAX) break;
    memcpy(comp, rel + i, n);
    comp[n] = 0;
    nfd = openat(fd, comp,
                 O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    close(fd);
    if (nfd < 0) return SQLITE_DONE;
    fd = nfd;
    i += n + 1;
  }
  if (i < last || (len - last) > NAME_MAX + 1) {
    close(fd);
    return SQLITE_DONE;
  }
  memcpy(comp, rel + last, len - last - (size_t)folder);
  comp[len - last - (size_t)folder] = 0;
  if (follow && !emd_fd_inside(fd, cur->root_real)) {
    close(fd);
    return SQLITE_DONE;
  }
  if (folder) {
    /* A folder gets a row only when it cannot be opened. */
    int sub = openat(fd, comp,
                     O_RDONLY | O_DIRECTORY | O_CLOEXEC |
                         (follow ? 0 : O_NOFOLLOW));
    int err = sub < 0 ? errno : 0;
    if (sub >= 0) {
      if (follow && !emd_fd_inside(sub, cur->root_real)) err = EXDEV;
      close(sub);
    }
    if (!err || err == ENOENT || err == ENOTDIR || (!follow && err == ELOOP)) {
      close(fd);
      return SQLITE_DONE;
    }
    e->kind = EMD_ITEM_FOLDER;
    e->err = err;
  } else {
    if (!emd_is_event_name(comp, strlen(comp)) ||
        fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      close(fd);
      return SQLITE_DONE;
    }
    if (S_ISDIR(st.st_mode)) {
      close(fd);
      return SQLITE_DONE;
    }
    if (S_ISLNK(st.st_mode)) {
      struct stat tst;
      if (!follow) {
        e->kind = EMD_ITEM_LINK;
      } else if (fstatat(fd, comp, &tst, 0) != 0) {
        e->kind = EMD_ITEM_LINK;
      } else if (S_ISDIR(tst.st_mode)) {
        close(fd);
        return SQLITE_DONE;
      } else {
        e->kind = S_ISREG(tst.st_mode) ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL;
        e->follow = 1;
      }
    } else {
      e->kind = S_ISREG(st.st_mode) ? EMD_ITEM_FILE : EMD_ITEM_SPECIAL;
    }
  }
  e->dir = emd_dir_new(fd);
  if (!e->dir) return SQLITE_NOMEM;
  rc = entry_set_path(e, rel, len, last);
  return rc;
}

/* Move cur->cur to the next entry of the source (unprepared, unstat'ed).
** SQLITE_OK, SQLITE_DONE at the end, or an error. */
static int source_next(emd_cursor *cur) {
  entry_clear(&cur->cur);
  if (cur->mode == MODE_WALK) {
    emd_walk_item it;
    int r = emd_walk_next(cur->walk, &it);
    if (r < 0) return SQLITE_NOMEM;
    if (r == 0) return SQLITE_DONE;
    return entry_from_item(cur, &it);
  }
  if (cur->mode == MODE_LOOKUP) {
    while (cur->ipath < cur->npaths) {
      int rc = entry_lookup(cur, cur->paths[cur->ipath++]);
      if (rc != SQLITE_DONE) return rc;
      entry_clear(&cur->cur);
    }
  }
  return SQLITE_DONE;
}

/* Rows the current entry gives a child table. */
static uint32_t child_rows(emd_cursor *cur) {
  const emd_entry *e = &cur->cur;
  if (!e->parsed) return 0;
  return cur->tab->def->nrows(e->parsed->ev);
}

/* Advance to the next row. */
static int advance(emd_cursor *cur) {
  const emd_table_def *def = cur->tab->def;
  if (def->child && !cur->eof && cur->row + 1 < child_rows(cur)) {
    cur->row++;
    return SQLITE_OK;
  }
  for (;;) {
    int gone = 0, rc;
    rc = source_next(cur);
    if (rc == SQLITE_DONE) {
      cur->eof = 1;
      return SQLITE_OK;
    }
    if (rc) return rc;
#if SQLITE_VERSION_NUMBER >= 3041000
    /* Skipping entries can take a while; newer SQLite lets us look. */
    if (sqlite3_is_interrupted(cur->tab->conn->db)) return SQLITE_INTERRUPT;
#endif
    if (entry_stat(cur, &cur->cur)) continue; /* vanished */
    if (cur->flags & (EMD_IDX_PARSE | EMD_IDX_MARKDOWN)) {
      rc = entry_prepare(cur, &cur->cur, cur->flags & EMD_IDX_MARKDOWN, &gone);
      if (rc) return rc;
      if (gone) continue;
    }
    cur->row = 0;
    if (def->child && child_rows(cur) == 0) continue;
    cur->eof = 0;
    return SQLITE_OK;
  }
}

/* ------------------------------------------------------------------------
** Cursor methods.
*/
static void cursor_reset(emd_cursor *c) {
  int i;
  entry_clear(&c->cur);
  emd_walk_close(c->walk);
  c->walk = NULL;
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
  if (c->rootfd >= 0) close(c->rootfd);
  c->rootfd = -1;
  emd_free(c->root);
  c->root = NULL;
  free(c->root_real); /* from realpath(): the C library's */
  c->root_real = NULL;
  c->mode = MODE_EMPTY;
  c->eof = 1;
  c->row = 0;
}

static int xOpen(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  emd_cursor *c = emd_malloc(sizeof(*c));
  if (!c) return SQLITE_NOMEM;
  memset(c, 0, sizeof(*c));
  c->tab = (emd_table *)vtab;
  c->rootfd = -1;
  c->eof = 1;
  *out = &c->base;
  return SQLITE_OK;
}

static int xClose(sqlite3_vtab_cursor *base) {
  emd_cursor *c = (emd_cursor *)base;
  cursor_reset(c);
  emd_free(c);
  return SQLITE_OK;
}

/* Set the vtab's error message (freeing the previous one). */
static int set_error(emd_cursor *c, int rc, const char *fmt, ...) {
  va_list ap;
  sqlite3_free(c->base.pVtab->zErrMsg);
  va_start(ap, fmt);
  c->base.pVtab->zErrMsg = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add one path value of a path = / IN constraint to the lookup list. */
static int add_lookup(emd_cursor *c, sqlite3_value *v, int *cap) {
  const char *p;
  int n, rl;
  if (sqlite3_value_type(v) != SQLITE_TEXT) return SQLITE_OK; /* no match */
  p = (const char *)sqlite3_value_text(v);
  n = sqlite3_value_bytes(v);
  if (!p) return SQLITE_NOMEM;
  rl = lookup_path_ok(p, (size_t)n);
  if (rl < 0) return SQLITE_OK; /* nothing could have that path */
  if (c->npaths == *cap) {
    int ncap = *cap ? *cap * 2 : 8;
    char **np = emd_realloc(c->paths, (size_t)ncap * sizeof(char *));
    if (!np) return SQLITE_NOMEM;
    c->paths = np;
    *cap = ncap;
  }
  c->paths[c->npaths] = emd_strndup(p + 1, (size_t)rl);
  if (!c->paths[c->npaths]) return SQLITE_NOMEM;
  c->npaths++;
  return SQLITE_OK;
}

/* Keep a copy of a date constraint's text value; NULL when unusable. */
static const char *df_string(emd_cursor *c, sqlite3_value *v, int *err) {
  char **np, *s;
  if (sqlite3_value_type(v) != SQLITE_TEXT) return NULL;
  np = emd_realloc(c->df_strings, (size_t)(c->ndf_strings + 1) * sizeof(char *));
  if (!np) {
    *err = SQLITE_NOMEM;
    return NULL;
  }
  c->df_strings = np;
  s = emd_strndup((const char *)sqlite3_value_text(v),
                  (size_t)sqlite3_value_bytes(v));
  if (!s) {
    *err = SQLITE_NOMEM;
    return NULL;
  }
  c->df_strings[c->ndf_strings++] = s;
  return s;
}

/* Add a date = value to the filter's allowed list (first = / IN wins). */
static int df_add_eq(emd_cursor *c, const char *s) {
  const char **np = emd_realloc((void *)c->df.eq,
                                (size_t)(c->df.neq + 1) * sizeof(char *));
  if (!np) return SQLITE_NOMEM;
  c->df.eq = np;
  c->df.eq[c->df.neq++] = s;
  return SQLITE_OK;
}

static int xFilter(sqlite3_vtab_cursor *base, int idxNum, const char *idxStr,
                   int argc, sqlite3_value **argv) {
  emd_cursor *c = (emd_cursor *)base;
  emd_table *tab = c->tab;
  const char *root = tab->root;
  int i, rc = SQLITE_OK, cap = 0, have_eq = 0;
  emd_walk_opts wo;

  cursor_reset(c);
  c->flags = idxNum;
  EMD_COUNT(&tab->conn->stats, statements, 1);
  if (idxNum & EMD_IDX_NOROOT)
    return set_error(c, SQLITE_ERROR,
                     "eventmd: %s needs a root folder: %s('/path/to/archive')",
                     tab->def->name, tab->def->name);

  c->df.neq = -1;
  for (i = 0; i < argc && idxStr && idxStr[i]; i++) {
    sqlite3_value *v = argv[i];
    const char *s;
    switch (idxStr[i]) {
      case 'r':
        if (sqlite3_value_type(v) != SQLITE_TEXT)
          return set_error(c, SQLITE_ERROR,
                           "eventmd: root must be a folder path (text)");
        s = (const char *)sqlite3_value_text(v);
        if (tab->root && strcmp(s, tab->root) != 0) return SQLITE_OK; /* empty */
        root = s;
        break;
      case 'p':
        rc = add_lookup(c, v, &cap);
        c->mode = MODE_LOOKUP;
        break;
      case 'P': {
        sqlite3_value *x;
        c->mode = MODE_LOOKUP;
        for (rc = sqlite3_vtab_in_first(v, &x); rc == SQLITE_OK && x;
             rc = sqlite3_vtab_in_next(v, &x)) {
          rc = add_lookup(c, x, &cap);
          if (rc) break;
        }
        if (rc == SQLITE_DONE) rc = SQLITE_OK;
        break;
      }
      case 'e':
      case 'E': {
        /* Only the first = / IN narrows; the others SQLite checks. */
        int first = !have_eq;
        have_eq = 1;
        if (!first) break;
        c->df.neq = 0;
        if (idxStr[i] == 'e') {
          s = df_string(c, v, &rc);
          if (s) rc = df_add_eq(c, s);
          else if (!rc) c->df.neq = -1; /* not text: no pruning */
        } else {
          sqlite3_value *x;
          for (rc = sqlite3_vtab_in_first(v, &x); rc == SQLITE_OK && x;
               rc = sqlite3_vtab_in_next(v, &x)) {
            s = df_string(c, x, &rc);
            if (rc) break;
            if (!s) {
              c->df.neq = -1; /* a value that is not text: no pruning */
              break;
            }
            rc = df_add_eq(c, s);
            if (rc) break;
          }
          if (rc == SQLITE_DONE) rc = SQLITE_OK;
        }
        c->df.active = 1;
        break;
      }
      case 'g':
      case 'G':
        s = df_string(c, v, &rc);
        if (s && (!c->df.lo || strcmp(s, c->df.lo) > 0 ||
                  (strcmp(s, c->df.lo) == 0 && idxStr[i] == 'g'))) {
          c->df.lo = s;
          c->df.lo_incl = idxStr[i] == 'G';
        }
        c->df.active = 1;
        break;
      case 'l':
      case 'L':
        s = df_string(c, v, &rc);
        if (s && (!c->df.hi || strcmp(s, c->df.hi) < 0 ||
                  (strcmp(s, c->df.hi) == 0 && idxStr[i] == 'l'))) {
          c->df.hi = s;
          c->df.hi_incl = idxStr[i] == 'L';
        }
        c->df.active = 1;
        break;
      default:
        break;
    }
    if (rc) return rc;
  }
  if (!root)
    return set_error(c, SQLITE_ERROR, "eventmd: %s needs a root folder",
                     tab->def->name);
  c->root = emd_strndup(root, strlen(root));
  if (!c->root) return SQLITE_NOMEM;
  c->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (c->rootfd < 0)
    return set_error(c, SQLITE_ERROR,
                     "eventmd: root '%s' is not a readable directory (%s)",
                     root, strerror(errno));
  if (tab->follow_symlinks) {
    c->root_real = realpath(root, NULL);
    if (!c->root_real) return SQLITE_NOMEM;
  }

  if (c->mode == MODE_LOOKUP) {
    int j, k = 0;
    qsort(c->paths, (size_t)c->npaths, sizeof(char *), cmp_str);
    for (j = 0; j < c->npaths; j++) {
      if (k > 0 && strcmp(c->paths[k - 1], c->paths[j]) == 0) {
        emd_free(c->paths[j]);
        continue;
      }
      c->paths[k++] = c->paths[j];
    }
    c->npaths = k;
  } else {
    int err;
    memset(&wo, 0, sizeof(wo));
    wo.follow_symlinks = tab->follow_symlinks;
    wo.root_real = c->root_real;
    wo.date = c->df.active ? &c->df : NULL;
    err = emd_walk_open(&c->walk, c->rootfd, NULL, &wo, &tab->conn->stats);
    if (err == ENOMEM) return SQLITE_NOMEM;
    if (err)
      return set_error(c, SQLITE_ERROR,
                       "eventmd: root '%s' is not a readable directory (%s)",
                       root, strerror(err));
    c->mode = MODE_WALK;
  }
  c->eof = 0;
  return advance(c);
}

static int xNext(sqlite3_vtab_cursor *base) {
  return advance((emd_cursor *)base);
}

static int xEof(sqlite3_vtab_cursor *base) {
  return ((emd_cursor *)base)->eof;
}

static int xColumn(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int col) {
  emd_cursor *c = (emd_cursor *)base;
  c->tab->def->column(ctx, c, col);
  return SQLITE_OK;
}

/* Rowids: a 63-bit hash of the path on disk (plus the item's index for
** child rows), so a path keeps its rowid whatever the plan or query. */
static int xRowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  emd_cursor *c = (emd_cursor *)base;
  uint64_t h = emd_hash64(c->cur.relpath, c->cur.relpath_len);
  if (c->tab->def->child) {
    h ^= (uint64_t)(c->row + 1) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
  }
  *rowid = (sqlite3_int64)(h & 0x7FFFFFFFFFFFFFFFULL);
  return SQLITE_OK;
}

/* ------------------------------------------------------------------------
** What column functions ask of the current row.
*/
const char *emd_row_path(emd_cursor *cur, int *len) {
  *len = cur->cur.disp_len;
  return cur->cur.disp;
}

const eventmd_event *emd_row_event(emd_cursor *cur) {
  int gone;
  emd_entry *e = &cur->cur;
  if (!e->prepared && entry_prepare(cur, e, 0, &gone) != SQLITE_OK) return NULL;
  return e->parsed ? e->parsed->ev : NULL;
}

const char *emd_row_date(emd_cursor *cur) {
  const eventmd_event *ev;
  if (cur->cur.path_date[0]) return cur->cur.path_date;
  if (cur->cur.kind != EMD_ITEM_FILE) return NULL;
  ev = emd_row_event(cur);
  return ev ? ev->date : NULL;
}

uint32_t emd_row_index(emd_cursor *cur) { return cur->row; }

const char *emd_row_root(emd_cursor *cur) { return cur->root; }

int emd_row_stat(emd_cursor *cur, sqlite3_int64 *size, sqlite3_int64 *mtime) {
  if (!cur->cur.have_stat) return 0;
  *size = (sqlite3_int64)cur->cur.st.st_size;
  *mtime = (sqlite3_int64)cur->cur.st.st_mtim.tv_sec;
  return 1;
}

void emd_result_text(sqlite3_context *ctx, const char *s) {
  if (s) sqlite3_result_text(ctx, s, -1, SQLITE_TRANSIENT);
  else sqlite3_result_null(ctx);
}

void emd_result_problem(sqlite3_context *ctx, emd_cursor *cur) {
  emd_entry *e = &cur->cur;
  const eventmd_event *ev = NULL;
  const char *parts[4];
  char buf[256], folder[300];
  int n = 0, i;
  sqlite3_str *s;
  if (e->name_bad) parts[n++] = "file name is not valid UTF-8";
  switch (e->kind) {
    case EMD_ITEM_SPECIAL:
      parts[n++] = "not a regular file";
      break;
    case EMD_ITEM_LINK:
      parts[n++] = "symbolic link not followed";
      break;
    case EMD_ITEM_FOLDER:
      if (e->err == ELOOP)
        parts[n++] = "symbolic link loop";
      else if (e->err == EXDEV)
        parts[n++] = "symbolic link leads outside the root";
      else {
        snprintf(folder, sizeof(folder), "unreadable folder: %s",
                 strerror(e->err));
        parts[n++] = folder;
      }
      break;
    default:
      ev = emd_row_event(cur);
      if (e->read_status != EMD_READ_OK) {
        const char *p =
            emd_read_problem(e->read_status, e->read_err, buf, sizeof(buf));
        if (p) parts[n++] = p;
      }
      if (ev && ev->problem) parts[n++] = ev->problem;
  }
  if (n == 0) {
    sqlite3_result_null(ctx);
    return;
  }
  s = sqlite3_str_new(NULL);
  for (i = 0; i < n; i++) {
    if (i) sqlite3_str_appendall(s, "; ");
    sqlite3_str_appendall(s, parts[i]);
  }
  i = sqlite3_str_length(s);
  {
    char *t = sqlite3_str_finish(s);
    if (!t) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    sqlite3_result_text(ctx, t, i, sqlite3_free);
  }
}

void emd_result_markdown(sqlite3_context *ctx, emd_cursor *cur) {
  emd_entry *e = &cur->cur;
  if (!e->markdown && e->kind == EMD_ITEM_FILE && !e->prepared) {
    int gone;
    if (entry_prepare(cur, e, 1, &gone) != SQLITE_OK) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
  }
  if (e->markdown)
    sqlite3_result_text64(ctx, e->markdown, e->markdown_len, SQLITE_TRANSIENT,
                          SQLITE_UTF8);
  else
    sqlite3_result_null(ctx);
}

/* ------------------------------------------------------------------------
** Creating and connecting.
**
** CREATE VIRTUAL TABLE t USING eventmd_events(root='/data/archive',
**                                             max_size=8388608,
**                                             follow_symlinks=0);
** Without arguments (the table-valued function) the root comes from the
** hidden root column: SELECT * FROM eventmd_events('/data/archive').
*/

/* Unquote an argument value ('x', "x" or x) into a new string. */
static char *unquote(const char *v) {
  size_t n = strlen(v), i, o = 0;
  char q, *out;
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
  while (n && (*v == ' ' || *v == '\t')) v++, n--;
  if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
    q = v[0];
    out = sqlite3_malloc64(n);
    if (!out) return NULL;
    for (i = 1; i + 1 < n; i++) {
      out[o++] = v[i];
      if (v[i] == q && v[i + 1] == q) i++;
    }
    out[o] = 0;
    return out;
  }
  return sqlite3_mprintf("%.*s", (int)n, v);
}

static int parse_bool(const char *s, int *out) {
  if (!strcmp(s, "1") || !sqlite3_stricmp(s, "true") || !sqlite3_stricmp(s, "yes") ||
      !sqlite3_stricmp(s, "on")) {
    *out = 1;
    return 1;
  }
  if (!strcmp(s, "0") || !sqlite3_stricmp(s, "false") || !sqlite3_stricmp(s, "no") ||
      !sqlite3_stricmp(s, "off")) {
    *out = 0;
    return 1;
  }
  return 0;
}

static int parse_size(const char *s, size_t *out) {
  char *end;
  unsigned long long v;
  if (!*s || *s == '-' || *s == '+') return 0;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno || *end || v == 0) return 0;
  *out = (size_t)v;
  return 1;
}

static int check_root(const char *root, char **err) {
  int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *err = sqlite3_mprintf("eventmd: root '%s' is not a readable directory (%s)",
                           root, strerror(errno));
    return SQLITE_ERROR;
  }
  close(fd);
  return SQLITE_OK;
}

static int xConnect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                    sqlite3_vtab **out, char **err) {
  const emd_table_def *def = NULL;
  emd_conn *conn = aux;
  emd_table *tab = NULL;
  int i, rc, seen_root = 0, seen_max = 0, seen_follow = 0;
  const emd_table_def *defs[] = {&emd_events_def, &emd_sources_def,
                                 &emd_related_def, &emd_changes_def};
  char *val = NULL;

  for (i = 0; i < 4; i++)
    if (!sqlite3_stricmp(argv[0], defs[i]->name)) def = defs[i];
  if (!def) {
    *err = sqlite3_mprintf("eventmd: unknown module '%s'", argv[0]);
    return SQLITE_ERROR;
  }
  tab = sqlite3_malloc64(sizeof(*tab));
  if (!tab) return SQLITE_NOMEM;
  memset(tab, 0, sizeof(*tab));
  tab->def = def;
  tab->conn = emd_conn_ref(conn);
  tab->max_size = EMD_DEFAULT_MAX_SIZE;

  for (i = 3; i < argc; i++) {
    const char *a = argv[i], *eq = strchr(a, '=');
    size_t kl;
    const char *k = a;
    if (!eq) {
      *err = sqlite3_mprintf(
          "eventmd: malformed argument '%s': expected name=value", a);
      goto fail;
    }
    while (*k == ' ' || *k == '\t') k++;
    kl = (size_t)(eq - k);
    while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t')) kl--;
    sqlite3_free(val);
    val = unquote(eq + 1);
    if (!val) {
      rc = SQLITE_NOMEM;
      goto fail_rc;
    }
#define KEY(s) (kl == sizeof(s) - 1 && !sqlite3_strnicmp(k, s, (int)kl))
    if (KEY("root")) {
      if (seen_root++) goto twice;
      if (!*val) {
        *err = sqlite3_mprintf("eventmd: root is empty");
        goto fail;
      }
      tab->root = val;
      val = NULL;
    } else if (KEY("max_size")) {
      if (seen_max++) goto twice;
      if (!parse_size(val, &tab->max_size)) {
        *err = sqlite3_mprintf(
            "eventmd: malformed argument '%s': max_size must be a positive "
            "number of bytes",
            a);
        goto fail;
      }
    } else if (KEY("follow_symlinks")) {
      if (seen_follow++) goto twice;
      if (!parse_bool(val, &tab->follow_symlinks)) {
        *err = sqlite3_mprintf(
            "eventmd: malformed argument '%s': follow_symlinks must be 0 or 1",
            a);
        goto fail;
      }
    } else {
      *err = sqlite3_mprintf(
          "eventmd: unknown argument '%.*s' (expected root, max_size or "
          "follow_symlinks)",
          (int)kl, k);
      goto fail;
    }
#undef KEY
    continue;
  twice:
    *err = sqlite3_mprintf("eventmd: argument '%.*s' given twice", (int)kl, k);
    goto fail;
  }
  sqlite3_free(val);
  val = NULL;
  if (argc > 3 && !tab->root) {
    *err = sqlite3_mprintf("eventmd: %s needs root='/path/to/archive'",
                           def->name);
    goto fail;
  }
  if (tab->root && check_root(tab->root, err) != SQLITE_OK) goto fail;

  rc = sqlite3_declare_vtab(db, def->schema);
  if (rc != SQLITE_OK) goto fail_rc;
  sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
  *out = &tab->base;
  return SQLITE_OK;

fail:
  rc = SQLITE_ERROR;
fail_rc:
  sqlite3_free(val);
  if (tab) {
    emd_conn_release(tab->conn);
    sqlite3_free(tab->root);
    sqlite3_free(tab);
  }
  return rc;
}

static int xDisconnect(sqlite3_vtab *vtab) {
  emd_table *tab = (emd_table *)vtab;
  emd_conn_release(tab->conn);
  sqlite3_free(tab->root);
  sqlite3_free(tab);
  return SQLITE_OK;
}

static const sqlite3_module emd_module = {
    /* iVersion    */ 0,
    /* xCreate     */ xConnect,
    /* xConnect    */ xConnect,
    /* xBestIndex  */ xBestIndex,
    /* xDisconnect */ xDisconnect,
    /* xDestroy    */ xDisconnect,
    /* xOpen       */ xOpen,
    /* xClose      */ xClose,
    /* xFilter     */ xFilter,
    /* xNext       */ xNext,
    /* xEof        */ xEof,
    /* xColumn     */ xColumn,
    /* xRowid      */ xRowid,
    /* xUpdate     */ NULL,
    /* xBegin      */ NULL,
    /* xSync       */ NULL,
    /* xCommit     */ NULL,
    /* xRollback   */ NULL,
    /* xFindMethod */ NULL,
    /* xRename     */ NULL,
    /* xSavepoint  */ NULL,
    /* xRelease    */ NULL,
    /* xRollbackTo */ NULL,
    /* xShadowName */ NULL};

int emd_register_tables(sqlite3 *db, emd_conn *conn) {
  const emd_table_def *defs[] = {&emd_events_def, &emd_sources_def,
                                 &emd_related_def, &emd_changes_def};
  int i, rc = SQLITE_OK;
  for (i = 0; i < 4 && rc == SQLITE_OK; i++) {
    rc = sqlite3_create_module_v2(db, defs[i]->name, &emd_module,
                                  emd_conn_ref(conn), emd_conn_release);
  }
  return rc;
}
