/*
** vtab.c - the SQLite side of the four tables: arguments, the planner
** contract (xBestIndex and xFilter) and the module.  The scan itself is in
** scan.c; each table's columns are in table_*.c.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan.h"

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
/* idxNum bits are EMD_IDX_* (scan.h). */

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
      const struct sqlite3_index_constraint *c = &info->aConstraint[idate[k]];
      char ch;
      switch (c->op) {
        case SQLITE_INDEX_CONSTRAINT_EQ:
          ch = sqlite3_vtab_in(info, idate[k], -1) ? 'E' : 'e';
          if (ch == 'E') sqlite3_vtab_in(info, idate[k], 1);
          has_eq = 1;
          break;
        case SQLITE_INDEX_CONSTRAINT_GT:
          ch = 'g';
          has_range = 1;
          break;
        case SQLITE_INDEX_CONSTRAINT_GE:
          ch = 'G';
          has_range = 1;
          break;
        case SQLITE_INDEX_CONSTRAINT_LT:
          ch = 'l';
          has_range = 1;
          break;
        default:
          ch = 'L';
          has_range = 1;
          break;
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
  ** event_path [, ordinal], ascending, comes out of the walk in order.
  ** ORDER BY date [, path] ascending (events) comes out of a date-ordered
  ** scan (dateorder.c) unless paths are looked up. */
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
  } else if (info->nOrderBy >= 1 && def->col_date >= 0 && ipath < 0 &&
             info->aOrderBy[0].iColumn == def->col_date &&
             !info->aOrderBy[0].desc &&
             (info->nOrderBy == 1 ||
              (info->nOrderBy >= 2 &&
               info->aOrderBy[1].iColumn == def->col_path &&
               !info->aOrderBy[1].desc))) {
    info->orderByConsumed = 1;
    flags |= EMD_IDX_DATEORDER;
  }

  if (def->child || (used & ~def->meta_cols)) flags |= EMD_IDX_PARSE;
  if (def->col_markdown >= 0 &&
      (used & ((sqlite3_uint64)1 << def->col_markdown)))
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

/* Add one path value of a path = / IN constraint to the lookup list. */
static int add_lookup(emd_cursor *c, sqlite3_value *v, int *cap) {
  const char *p;
  int n, rl;
  if (sqlite3_value_type(v) != SQLITE_TEXT) return SQLITE_OK; /* no match */
  p = (const char *)sqlite3_value_text(v);
  n = sqlite3_value_bytes(v);
  if (!p) return SQLITE_NOMEM;
  rl = emd_lookup_path_ok(p, (size_t)n);
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
  const char *t;
  if (sqlite3_value_type(v) != SQLITE_TEXT) return NULL;
  /* A value holding a NUL byte compares beyond it: not used for pruning. */
  t = (const char *)sqlite3_value_text(v);
  if (!t) {
    *err = SQLITE_NOMEM;
    return NULL;
  }
  if (memchr(t, 0, (size_t)sqlite3_value_bytes(v))) return NULL;
  np =
      emd_realloc(c->df_strings, (size_t)(c->ndf_strings + 1) * sizeof(char *));
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
  const char **np =
      emd_realloc((void *)c->df.eq, (size_t)(c->df.neq + 1) * sizeof(char *));
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

  emd_cursor_reset(c);
  c->flags = idxNum;
  EMD_COUNT(&tab->conn->stats, scans, 1);
  if (idxNum & EMD_IDX_NOROOT)
    return emd_cursor_error(
        c, SQLITE_ERROR,
        "eventmd: %s needs a root folder: %s('/path/to/archive')",
        tab->def->name, tab->def->name);

  c->df.neq = -1;
  for (i = 0; i < argc && idxStr && idxStr[i]; i++) {
    sqlite3_value *v = argv[i];
    const char *s;
    switch (idxStr[i]) {
      case 'r':
        if (sqlite3_value_type(v) != SQLITE_TEXT)
          return emd_cursor_error(c, SQLITE_ERROR,
                                  "eventmd: root must be a folder path (text)");
        s = (const char *)sqlite3_value_text(v);
        if (!s) return SQLITE_NOMEM;
        if ((int)strlen(s) != sqlite3_value_bytes(v))
          return emd_cursor_error(
              c, SQLITE_ERROR,
              "eventmd: root must be a folder path (it holds a "
              "NUL byte)");
        if (tab->root && strcmp(s, tab->root) != 0)
          return SQLITE_OK; /* empty */
        root = s;
        break;
      case 'p':
        rc = add_lookup(c, v, &cap);
        c->mode = EMD_MODE_LOOKUP;
        break;
      case 'P': {
        sqlite3_value *x;
        c->mode = EMD_MODE_LOOKUP;
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
          if (s)
            rc = df_add_eq(c, s);
          else if (!rc)
            c->df.neq = -1; /* not text: no pruning */
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
      default: break;
    }
    if (rc) return rc;
  }
  if (!root)
    return emd_cursor_error(c, SQLITE_ERROR, "eventmd: %s needs a root folder",
                            tab->def->name);
  c->root = emd_strndup(root, strlen(root));
  if (!c->root) return SQLITE_NOMEM;
  return emd_cursor_start(c);
}

/* ------------------------------------------------------------------------
** Cursor methods: scan.c does the work.
*/
static int xOpen(sqlite3_vtab *vtab, sqlite3_vtab_cursor **out) {
  emd_cursor *c;
  int rc = emd_cursor_new((emd_table *)vtab, &c);
  *out = c ? &c->base : NULL;
  return rc;
}

static int xClose(sqlite3_vtab_cursor *base) {
  emd_cursor_free((emd_cursor *)base);
  return SQLITE_OK;
}

static int xNext(sqlite3_vtab_cursor *base) {
  return emd_cursor_next((emd_cursor *)base);
}

static int xEof(sqlite3_vtab_cursor *base) {
  return ((emd_cursor *)base)->eof;
}

static int xColumn(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int col) {
  emd_cursor *c = (emd_cursor *)base;
  c->tab->def->column(ctx, c, col);
  return SQLITE_OK;
}

static int xRowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid) {
  return emd_cursor_rowid((emd_cursor *)base, rowid);
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
  if (!strcmp(s, "1") || !sqlite3_stricmp(s, "true") ||
      !sqlite3_stricmp(s, "yes") || !sqlite3_stricmp(s, "on")) {
    *out = 1;
    return 1;
  }
  if (!strcmp(s, "0") || !sqlite3_stricmp(s, "false") ||
      !sqlite3_stricmp(s, "no") || !sqlite3_stricmp(s, "off")) {
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
    *err =
        sqlite3_mprintf("eventmd: root '%s' is not a readable directory (%s)",
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
  tab->rootfd = -1;
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
    *err =
        sqlite3_mprintf("eventmd: %s needs root='/path/to/archive'", def->name);
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
  emd_table_close_root(tab);
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
