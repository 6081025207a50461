/* SPDX-License-Identifier: MIT */
/*
** eventmd.c - the entry point: registers the four tables and the SQL
** functions on one connection.
**
** Usage:
**   .load ./build/eventmd
**   SELECT eventmd_version();
**   SELECT eventmd_attach('/data/archive');  -- temp.events, temp.sources, ...
**   SELECT count(*) FROM events;
**
** SQL functions:
**   eventmd_version()              the version, e.g. '1.1.0'
**   eventmd_stats()                JSON counters of this connection
**   eventmd_config(name [, value]) read or set a setting:
**                                    'cache_bytes' parse cache bound (0 = off)
**                                    'cache_file'  persistent cache (a path)
**                                    'watch'       inotify validation (0/1)
**                                    'roots'       allowed roots ('a:b')
**                                    'lock'        settings read-only now
**                                    'threads'     read-ahead threads (1 = none)
**                                    'reset_stats' zero the counters
**   eventmd_attach(root [, prefix]) create TEMP tables prefix||events,
**                                  prefix||sources, prefix||related and
**                                  prefix||changes over root
*/
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "eventmd.h"
#include "cachefile.h"
#include "foldersums.h"
#include "vtab.h"
#include "walk.h"

/* ------------------------------------------------------------------------
** SQL functions.
*/
static void fn_version(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite3_result_text(ctx, EVENTMD_VERSION, -1, SQLITE_STATIC);
}

static uint64_t load(const uint64_t *p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void fn_stats(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  emd_conn *c = sqlite3_user_data(ctx);
  const emd_stats *s = &c->stats;
  emd_cache_stats cs;
  emd_watch_stats ws;
  emd_cachefile_stats fs;
  char *json, *cf_error = NULL;
  (void)argc;
  (void)argv;
  emd_cache_get_stats(c->cache, &cs);
  emd_watch_get_stats(&ws);
  memset(&fs, 0, sizeof(fs));
  if (c->cf) emd_cachefile_get_stats(c->cf, &fs);
  if (c->cf_error) {
    /* A JSON string: the message with " and \ escaped, controls dropped. */
    sqlite3_str *q = sqlite3_str_new(NULL);
    const char *m;
    sqlite3_str_appendchar(q, 1, '"');
    for (m = c->cf_error; *m; m++) {
      if (*m == '"' || *m == '\\') sqlite3_str_appendchar(q, 1, '\\');
      if ((unsigned char)*m >= 0x20) sqlite3_str_appendchar(q, 1, *m);
    }
    sqlite3_str_appendchar(q, 1, '"');
    cf_error = sqlite3_str_finish(q);
    if (!cf_error) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
  }
  json = sqlite3_mprintf(
      "{\"folders_opened\":%llu,\"folders_pruned\":%llu,"
      "\"files_stated\":%llu,\"files_read\":%llu,\"files_parsed\":%llu,"
      "\"cache_hits\":%llu,\"cache_misses\":%llu,\"cache_unstated\":%llu,"
      "\"cache_rejected\":%llu,\"cache_evicted\":%llu,"
      "\"cache_entries\":%llu,\"cache_bytes\":%llu,\"cache_limit\":%llu,"
      "\"folder_cache_bytes\":%llu,\"watches\":%llu,\"watch_events\":%llu,"
      "\"watch_overflows\":%llu,\"cache_file_hits\":%llu,"
      "\"cache_file_misses\":%llu,\"cache_file_written\":%llu,"
      "\"cache_file_dropped\":%llu,\"cache_file_rebuilt\":%llu,"
      "\"cache_file_warmed\":%llu,\"cache_file_error\":%s,\"threads\":%d,"
      "\"scans\":%llu}",
      (unsigned long long)load(&s->folders_opened),
      (unsigned long long)load(&s->folders_pruned),
      (unsigned long long)load(&s->files_stated),
      (unsigned long long)load(&s->files_read),
      (unsigned long long)load(&s->files_parsed), (unsigned long long)cs.hits,
      (unsigned long long)cs.misses, (unsigned long long)cs.unstated,
      (unsigned long long)cs.rejected, (unsigned long long)cs.evicted,
      (unsigned long long)cs.entries, (unsigned long long)cs.bytes,
      (unsigned long long)cs.limit,
      (unsigned long long)emd_foldersums_bytes(c->sums),
      (unsigned long long)ws.watches, (unsigned long long)ws.events,
      (unsigned long long)ws.overflows, (unsigned long long)fs.hits,
      (unsigned long long)fs.misses, (unsigned long long)fs.written,
      (unsigned long long)fs.dropped, (unsigned long long)fs.rebuilt,
      (unsigned long long)fs.warmed, cf_error ? cf_error : "null", c->threads,
      (unsigned long long)load(&s->scans));
  sqlite3_free(cf_error);
  if (!json) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, json, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J'); /* JSON, for json_extract and friends */
}

/* Report an error message made with sqlite3_mprintf (NULL: out of
** memory). */
static void result_error(sqlite3_context *ctx, char *m) {
  if (m)
    sqlite3_result_error(ctx, m, -1);
  else
    sqlite3_result_error_nomem(ctx);
  sqlite3_free(m);
}

/* The integer value of a setting, range-checked: 1 with *out set, or 0 with
** the error reported. */
static int int_value(sqlite3_context *ctx, const char *name, sqlite3_value *v,
                     sqlite3_int64 lo, sqlite3_int64 hi, sqlite3_int64 *out) {
  if (sqlite3_value_type(v) != SQLITE_INTEGER || sqlite3_value_int64(v) < lo ||
      sqlite3_value_int64(v) > hi) {
    result_error(ctx, sqlite3_mprintf("eventmd: %s must be an integer from "
                                      "%lld to %lld",
                                      name, lo, hi));
    return 0;
  }
  *out = sqlite3_value_int64(v);
  return 1;
}

/* eventmd_config(name [, value]): read or set a setting.  On a locked
** connection every change is refused. */
static void fn_config(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  emd_conn *c = sqlite3_user_data(ctx);
  emd_cache_stats cs;
  const char *name = (const char *)sqlite3_value_text(argv[0]);
  int set = argc > 1;
  sqlite3_int64 v = 0;
  if (!name) {
    sqlite3_result_error(ctx, "eventmd: eventmd_config needs a setting name",
                         -1);
    return;
  }
  if (c->locked && (set || !strcmp(name, "reset_stats"))) {
    sqlite3_result_error(ctx, EMD_LOCKED_MSG, -1);
    return;
  }
  if (!strcmp(name, "cache_bytes")) {
    if (set) {
      if (!int_value(ctx, name, argv[1], 0,
                     (sqlite3_int64)EMD_CACHE_BYTES_LIMIT, &v))
        return;
      emd_conn_set_cache_bytes(c, (size_t)v);
    }
    emd_cache_get_stats(c->cache, &cs);
    sqlite3_result_int64(ctx, (sqlite3_int64)cs.limit);
  } else if (!strcmp(name, "threads")) {
    if (set) {
      if (!int_value(ctx, name, argv[1], 1, EMD_MAX_THREADS, &v)) return;
      c->threads = (int)v;
    }
    sqlite3_result_int(ctx, c->threads);
  } else if (!strcmp(name, "watch")) {
    if (set) {
      if (!int_value(ctx, name, argv[1], 0, 1, &v)) return;
      emd_watch_set_enabled((int)v);
    }
    sqlite3_result_int(ctx, emd_watch_enabled());
  } else if (!strcmp(name, "cache_file")) {
    if (set) {
      char *msg = NULL;
      if (sqlite3_value_type(argv[1]) != SQLITE_TEXT &&
          sqlite3_value_type(argv[1]) != SQLITE_NULL) {
        sqlite3_result_error(ctx, "eventmd: cache_file must be a path (text)",
                             -1);
        return;
      }
      if (emd_conn_set_cache_file(c, (const char *)sqlite3_value_text(argv[1]),
                                  &msg) != SQLITE_OK) {
        result_error(ctx, msg);
        return;
      }
    }
    if (c->cf)
      sqlite3_result_text(ctx, emd_cachefile_path(c->cf), -1, SQLITE_TRANSIENT);
    else
      sqlite3_result_null(ctx);
  } else if (!strcmp(name, "roots")) {
    if (set) {
      char *msg = NULL;
      const char *list = (const char *)sqlite3_value_text(argv[1]);
      if (sqlite3_value_type(argv[1]) != SQLITE_TEXT &&
          sqlite3_value_type(argv[1]) != SQLITE_NULL) {
        sqlite3_result_error(
            ctx, "eventmd: roots must be folders separated by ':' (text)", -1);
        return;
      }
      if (emd_conn_set_roots(c, list, &msg) != SQLITE_OK) {
        result_error(ctx, msg);
        return;
      }
    }
    {
      sqlite3_str *out = sqlite3_str_new(NULL);
      int i;
      char *text;
      for (i = 0; i < c->nroots; i++)
        sqlite3_str_appendf(out, "%s%s", i ? ":" : "", c->roots[i]);
      text = sqlite3_str_finish(out);
      if (c->confined && text)
        sqlite3_result_text(ctx, text, -1, sqlite3_free);
      else if (c->confined)
        sqlite3_result_error_nomem(ctx);
      else {
        sqlite3_free(text);
        sqlite3_result_null(ctx); /* any root */
      }
    }
  } else if (!strcmp(name, "lock")) {
    /* No value: lock now (for the connection's lifetime). */
    if (set) {
      sqlite3_result_error(
          ctx, "eventmd: eventmd_config('lock') takes no value", -1);
      return;
    }
    c->locked = 1;
    sqlite3_result_int(ctx, 1);
  } else if (!strcmp(name, "reset_stats")) {
    /* Workers of another open statement may be counting: atomic stores. */
    uint64_t *f = (uint64_t *)&c->stats;
    size_t k;
    for (k = 0; k < sizeof(c->stats) / sizeof(uint64_t); k++)
      __atomic_store_n(&f[k], 0, __ATOMIC_RELAXED);
    emd_cache_reset_stats(c->cache);
    sqlite3_result_null(ctx);
  } else {
    result_error(
        ctx, sqlite3_mprintf("eventmd: unknown setting '%s' (expected "
                             "cache_bytes, cache_file, threads, watch, roots, "
                             "lock or reset_stats)",
                             name));
  }
}

/* eventmd_attach(root [, prefix]): TEMP tables over root, replacing any of
** the same names.  All four or none: the root is checked first, and the
** tables are replaced inside one savepoint. */
static void fn_attach(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  static const char *const kinds[] = {"events", "sources", "related",
                                      "changes"};
  sqlite3 *db = sqlite3_context_db_handle(ctx);
  const char *root = (const char *)sqlite3_value_text(argv[0]);
  const char *prefix =
      argc > 1 ? (const char *)sqlite3_value_text(argv[1]) : "";
  sqlite3_str *sql;
  char *text, *err = NULL;
  int i, rc;
  if (!root || sqlite3_value_type(argv[0]) != SQLITE_TEXT ||
      (int)strlen(root) != sqlite3_value_bytes(argv[0])) {
    sqlite3_result_error(ctx, "eventmd: eventmd_attach needs a root folder",
                         -1);
    return;
  }
  if (!prefix) prefix = "";
  rc = emd_conn_check_root(sqlite3_user_data(ctx), root, &err);
  if (rc != SQLITE_OK) {
    if (err)
      sqlite3_result_error(ctx, err, -1);
    else
      sqlite3_result_error_nomem(ctx);
    sqlite3_free(err);
    return;
  }
  sql = sqlite3_str_new(db);
  sqlite3_str_appendall(sql, "SAVEPOINT eventmd_attach;");
  for (i = 0; i < 4; i++)
    sqlite3_str_appendf(
        sql,
        "DROP TABLE IF EXISTS temp.\"%w%s\";"
        "CREATE VIRTUAL TABLE temp.\"%w%s\" USING eventmd_%s(root=%Q);",
        prefix, kinds[i], prefix, kinds[i], kinds[i], root);
  sqlite3_str_appendall(sql, "RELEASE eventmd_attach;");
  text = sqlite3_str_finish(sql);
  if (!text) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  rc = sqlite3_exec(db, text, NULL, NULL, &err);
  sqlite3_free(text);
  if (rc != SQLITE_OK) {
    sqlite3_exec(db, "ROLLBACK TO eventmd_attach; RELEASE eventmd_attach;",
                 NULL, NULL, NULL);
    if (err)
      sqlite3_result_error(ctx, err, -1);
    else
      sqlite3_result_error_code(ctx, rc);
    sqlite3_free(err);
    return;
  }
  sqlite3_result_text(ctx, root, -1, SQLITE_TRANSIENT);
}

typedef struct fn_def {
  const char *name;
  int nargs;
  int flags;
  void (*fn)(sqlite3_context *, int, sqlite3_value **);
} fn_def;

__attribute__((visibility("default"))) int sqlite3_eventmd_init(
    sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi) {
  static const fn_def fns[] = {
      {"eventmd_version", 0,
       SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, fn_version},
      {"eventmd_stats", 0, SQLITE_UTF8 | SQLITE_DIRECTONLY, fn_stats},
      {"eventmd_config", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, fn_config},
      {"eventmd_config", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, fn_config},
      {"eventmd_attach", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, fn_attach},
      {"eventmd_attach", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, fn_attach},
  };
  emd_conn *conn;
  size_t i;
  int rc;
  SQLITE_EXTENSION_INIT2(pApi);
  conn = emd_conn_new(db);
  if (!conn) {
    if (pzErrMsg) *pzErrMsg = sqlite3_mprintf("eventmd: out of memory");
    return SQLITE_NOMEM;
  }
  rc = emd_register_tables(db, conn);
  for (i = 0; rc == SQLITE_OK && i < sizeof(fns) / sizeof(fns[0]); i++) {
    rc = sqlite3_create_function_v2(db, fns[i].name, fns[i].nargs, fns[i].flags,
                                    emd_conn_ref(conn), fns[i].fn, NULL, NULL,
                                    emd_conn_release);
  }
  emd_conn_release(conn); /* the registrations hold their own references */
  if (rc != SQLITE_OK && pzErrMsg)
    *pzErrMsg =
        sqlite3_mprintf("eventmd: cannot register: %s", sqlite3_errstr(rc));
  return rc;
}
