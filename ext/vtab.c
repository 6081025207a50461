/* SPDX-License-Identifier: MIT */
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
#include "vtab.h"

/* ------------------------------------------------------------------------
** The planner contract.
**
** xBestIndex picks the ways to narrow the scan and tells xFilter through
** idxNum (EMD_IDX_* bits, scan.h) and idxStr (one letter per xFilter
** argument, in argv order):
**
**   'r'  root = ?        (the hidden root column, i.e. the table-valued
**                         function's argument)
**   'p'  path = ?        (event_path for the child tables)
**   'P'  path IN (...)   handled all at once with sqlite3_vtab_in()
**   'e'  date = ?        'E'  date IN (...) all at once
**   'g'  date > ?        'G'  date >= ?
**   'l'  date < ?        'L'  date <= ?
**   'i'  rowid = ?       'j'  rowid > ?   'J'  rowid >= ?
**                        'k'  rowid < ?   'K'  rowid <= ?
**
** Path constraints win over everything else: they open only the files
** named.  Date constraints prune day folders; rowid constraints (events
** only) bound the path dates read, since an event's rowid begins with its
** path date (scan.c).  Neither ever changes the rows: SQLite still checks
** every constraint (omit is set for the root only).  Constraints with a
** collating sequence other than BINARY are not used.
**
** ORDER BY consumed: path (event_path, ordinal for child tables) from the
** walk; date [, path] from the date-ordered scan; rowid from the
** rowid-ordered scan (events, no path constraint).  A rowid bound is used
** only when it does not stand in the way of the order asked for.
*/

#define MAX_DATE_CONS 8  /* date constraints passed to xFilter, at most */
#define MAX_ROWID_CONS 4 /* rowid constraints, likewise */
#define COL_ROWID (-1)   /* SQLite's column number for the rowid */
#define COL_ORDINAL 1    /* every child table's ordinal column */

/* Planner costs and row estimates: relative, so that SQLite prefers the
** narrowest scan and never a plan without a root. */
#define COST_LOOKUP 10.0       /* per path named */
#define COST_DAYS 1000.0       /* date = / IN, rowid =: a few day folders */
#define COST_RANGE 100000.0    /* a date or rowid range */
#define COST_SCAN 1000000.0    /* the whole tree */
#define COST_NO_ROOT 1e15      /* no root: any plan with one is better */
#define ROWS_PER_DAY 10        /* rows of a day, or of a path list */
#define ROWS_RANGE 10000       /* rows of a range */
#define ROWS_SCAN 100000       /* rows of an archive */
#define CHILD_ROWS_PER_EVENT 5 /* child rows per event file */

const emd_table_def *const emd_table_defs[EMD_NTABLES_SQL] = {
    &emd_events_def, &emd_sources_def, &emd_related_def, &emd_changes_def};

static int is_binary(sqlite3_index_info *info, int i) {
  const char *coll = sqlite3_vtab_collation(info, i);
  return !coll || sqlite3_stricmp(coll, "BINARY") == 0;
}

static int is_range_op(int op) {
  return op == SQLITE_INDEX_CONSTRAINT_GT || op == SQLITE_INDEX_CONSTRAINT_GE ||
         op == SQLITE_INDEX_CONSTRAINT_LT || op == SQLITE_INDEX_CONSTRAINT_LE;
}

/* The idxStr letter of a comparison: `letters` gives =, >, >=, <, <=. */
static char op_letter(int op, const char *letters) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return letters[0];
    case SQLITE_INDEX_CONSTRAINT_GT: return letters[1];
    case SQLITE_INDEX_CONSTRAINT_GE: return letters[2];
    case SQLITE_INDEX_CONSTRAINT_LT: return letters[3];
    default: return letters[4];
  }
}

/* Which ORDER BY the scan can deliver: EMD_IDX_ORDERED, _DATEORDER,
** _ROWIDORDER or 0. */
static int order_kind(const emd_table_def *def, sqlite3_index_info *info,
                      int have_path) {
  const struct sqlite3_index_orderby *o = info->aOrderBy;
  int i;
  if (info->nOrderBy < 1 || o[0].desc) return 0;
  if (o[0].iColumn == def->col_path) {
    if (def->child)
      for (i = 1; i < info->nOrderBy; i++)
        if (o[i].iColumn != COL_ORDINAL || o[i].desc) return 0;
    return EMD_IDX_ORDERED;
  }
  if (have_path || def->child) return 0;
  if (o[0].iColumn == def->col_date &&
      (info->nOrderBy == 1 || (o[1].iColumn == def->col_path && !o[1].desc)))
    return EMD_IDX_DATEORDER;
  if (o[0].iColumn == COL_ROWID && info->nOrderBy == 1)
    return EMD_IDX_ROWIDORDER;
  return 0;
}

static int xBestIndex(sqlite3_vtab *vtab, sqlite3_index_info *info) {
  emd_table *tab = (emd_table *)vtab;
  const emd_table_def *def = tab->def;
  int i, argc = 0, iroot = -1, ipath = -1, path_in = 0, ndate = 0, nrowid = 0;
  int idate[MAX_DATE_CONS], irowid[MAX_ROWID_CONS];
  char code[MAX_DATE_CONS + MAX_ROWID_CONS + 3];
  int flags = 0, order, has_eq = 0, has_range = 0;
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
    if (!c->usable) continue;
    if (c->iColumn == COL_ROWID && !def->child && nrowid < MAX_ROWID_CONS &&
        (c->op == SQLITE_INDEX_CONSTRAINT_EQ || is_range_op(c->op))) {
      irowid[nrowid++] = i;
      continue;
    }
    if (!is_binary(info, i)) continue;
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
        (c->op == SQLITE_INDEX_CONSTRAINT_EQ || is_range_op(c->op)))
      idate[ndate++] = i;
  }

  if (iroot >= 0) {
    info->aConstraintUsage[iroot].argvIndex = ++argc;
    info->aConstraintUsage[iroot].omit = 1; /* xFilter checks it */
    code[argc - 1] = 'r';
  } else if (!tab->root) {
    flags |= EMD_IDX_NOROOT;
  }

  order = order_kind(def, info, ipath >= 0);
  if (ipath >= 0) {
    info->aConstraintUsage[ipath].argvIndex = ++argc;
    if (path_in) sqlite3_vtab_in(info, ipath, 1);
    code[argc - 1] = path_in ? 'P' : 'p';
    rows = path_in ? ROWS_PER_DAY : 1;
    if (def->child) rows *= CHILD_ROWS_PER_EVENT;
    cost = COST_LOOKUP * rows;
    if (!path_in && !def->child) info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
  } else {
    int k;
    for (k = 0; k < ndate; k++) {
      const struct sqlite3_index_constraint *c = &info->aConstraint[idate[k]];
      char ch = op_letter(c->op, "egGlL");
      if (ch == 'e') {
        if (sqlite3_vtab_in(info, idate[k], -1)) {
          ch = 'E';
          sqlite3_vtab_in(info, idate[k], 1);
        }
        has_eq = 1;
      } else {
        has_range = 1;
      }
      info->aConstraintUsage[idate[k]].argvIndex = ++argc;
      code[argc - 1] = ch;
    }
    /* Rowid bounds read the tree in rowid order: not when another order is
    ** to be delivered. */
    if (order == 0 || order == EMD_IDX_ROWIDORDER) {
      for (k = 0; k < nrowid; k++) {
        const struct sqlite3_index_constraint *c =
            &info->aConstraint[irowid[k]];
        char ch = op_letter(c->op, "ijJkK");
        if (ch == 'i')
          has_eq = 1;
        else
          has_range = 1;
        info->aConstraintUsage[irowid[k]].argvIndex = ++argc;
        code[argc - 1] = ch;
      }
    }
    if (has_eq) {
      rows = ROWS_PER_DAY;
      cost = COST_DAYS;
    } else if (has_range) {
      rows = ROWS_RANGE;
      cost = COST_RANGE;
    } else {
      rows = def->child ? ROWS_SCAN * CHILD_ROWS_PER_EVENT : ROWS_SCAN;
      cost = COST_SCAN;
    }
  }
  if (flags & EMD_IDX_NOROOT) cost = COST_NO_ROOT;
  code[argc] = 0;
  if (order) {
    info->orderByConsumed = 1;
    flags |= order;
  }

  if (def->child || (used & ~def->meta_cols)) flags |= EMD_IDX_PARSE;
  if (used & def->stat_cols) flags |= EMD_IDX_STAT;
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

/* The error text for a table used without a root. */
static int no_root(emd_cursor *c) {
  const char *name = c->tab->def->name;
  return emd_cursor_error(
      c, SQLITE_ERROR,
      "eventmd: %s needs a root folder: %s('/path/to/archive')", name, name);
}

static int xFilter(sqlite3_vtab_cursor *base, int idxNum, const char *idxStr,
                   int argc, sqlite3_value **argv) {
  emd_cursor *c = (emd_cursor *)base;
  emd_table *tab = c->tab;
  const char *root = tab->root;
  emd_plan plan;
  int i, rc = SQLITE_OK, have_eq = 0;

  emd_cursor_reset(c);
  EMD_COUNT(&tab->conn->stats, scans, 1);
  if (idxNum & EMD_IDX_NOROOT) return no_root(c);
  emd_plan_init(&plan);
  plan.flags = idxNum;
  for (i = 0; i < argc && idxStr && idxStr[i] && rc == SQLITE_OK; i++) {
    sqlite3_value *v = argv[i], *x;
    const char *s;
    switch (idxStr[i]) {
      case 'r':
        if (sqlite3_value_type(v) != SQLITE_TEXT) {
          rc = emd_cursor_error(c, SQLITE_ERROR,
                                "eventmd: root must be a folder path (text)");
          break;
        }
        s = (const char *)sqlite3_value_text(v);
        if (!s) {
          rc = SQLITE_NOMEM;
          break;
        }
        if ((int)strlen(s) != sqlite3_value_bytes(v)) {
          rc = emd_cursor_error(
              c, SQLITE_ERROR,
              "eventmd: root must be a folder path (it holds a NUL byte)");
          break;
        }
        if (tab->root && strcmp(s, tab->root) != 0)
          plan.empty = 1; /* another root: no rows */
        root = s;
        break;
      case 'p': rc = emd_plan_add_path(&plan, v); break;
      case 'P':
        plan.mode = EMD_MODE_LOOKUP;
        for (rc = sqlite3_vtab_in_first(v, &x); rc == SQLITE_OK && x;
             rc = sqlite3_vtab_in_next(v, &x))
          if ((rc = emd_plan_add_path(&plan, x)) != SQLITE_OK) break;
        if (rc == SQLITE_DONE) rc = SQLITE_OK;
        break;
      case 'e': rc = emd_plan_add_date(&plan, 'e', v, !have_eq++); break;
      case 'E': {
        int first = !have_eq++;
        for (rc = sqlite3_vtab_in_first(v, &x); rc == SQLITE_OK && x;
             rc = sqlite3_vtab_in_next(v, &x))
          if ((rc = emd_plan_add_date(&plan, 'e', x, first)) != SQLITE_OK)
            break;
        if (rc == SQLITE_DONE) rc = SQLITE_OK;
        break;
      }
      case 'g':
      case 'G':
      case 'l':
      case 'L': rc = emd_plan_add_date(&plan, idxStr[i], v, 0); break;
      case 'i':
      case 'j':
      case 'J':
      case 'k':
      case 'K': emd_plan_add_rowid(&plan, idxStr[i], v); break;
      default: break;
    }
  }
  if (rc == SQLITE_OK && !root) rc = no_root(c);
  if (rc == SQLITE_OK && !(plan.root = emd_strndup(root, strlen(root))))
    rc = SQLITE_NOMEM;
  if (rc != SQLITE_OK) {
    emd_plan_free(&plan);
    return rc;
  }
  return emd_cursor_start(c, &plan);
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

/* A byte count 1..EMD_MAX_SIZE_LIMIT in decimal. */
static int parse_size(const char *s, size_t *out) {
  char *end;
  unsigned long long v;
  if (!*s || *s == '-' || *s == '+') return 0;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno || *end || v == 0 || v > EMD_MAX_SIZE_LIMIT) return 0;
  *out = (size_t)v;
  return 1;
}

static int xConnect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                    sqlite3_vtab **out, char **err) {
  const emd_table_def *def = NULL;
  emd_conn *conn = aux;
  emd_table *tab = NULL;
  int i, rc, seen_root = 0, seen_max = 0, seen_follow = 0;
  char *val = NULL;

  for (i = 0; i < EMD_NTABLES_SQL; i++)
    if (!sqlite3_stricmp(argv[0], emd_table_defs[i]->name))
      def = emd_table_defs[i];
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
            "eventmd: malformed argument '%s': max_size must be a number of "
            "bytes from 1 to 1073741824",
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
  /* Without arguments this is either the table-valued function (the table
  ** SQLite makes under the module's own name) or a CREATE that forgot the
  ** root: the latter is an error now, not at its first query. */
  if (!tab->root && (argc > 3 || sqlite3_stricmp(argv[2], argv[0]) != 0)) {
    *err =
        sqlite3_mprintf("eventmd: %s needs root='/path/to/archive'", def->name);
    goto fail;
  }
  if (tab->root) {
    rc = emd_conn_check_root(conn, tab->root, err);
    if (rc != SQLITE_OK) goto fail_rc;
  }

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
  emd_foldermemo_clear(&tab->memo); /* before the cache it refers to goes */
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
  int i, rc = SQLITE_OK;
  for (i = 0; i < EMD_NTABLES_SQL && rc == SQLITE_OK; i++) {
    rc = sqlite3_create_module_v2(db, emd_table_defs[i]->name, &emd_module,
                                  emd_conn_ref(conn), emd_conn_release);
  }
  return rc;
}
