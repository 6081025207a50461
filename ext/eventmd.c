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
#include "foldersums.h"
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
  char *json;
  (void)argc;
  (void)argv;
  emd_cache_get_stats(c->cache, &cs);
  emd_watch_get_stats(&ws);
  json = sqlite3_mprintf(
      "{\"folders_opened\":%llu,\"folders_pruned\":%llu,"
      "\"files_stated\":%llu,\"files_read\":%llu,\"files_parsed\":%llu,"
      "\"cache_hits\":%llu,\"cache_misses\":%llu,\"cache_unstated\":%llu,"
      "\"cache_rejected\":%llu,\"cache_evicted\":%llu,"
      "\"cache_entries\":%llu,\"cache_bytes\":%llu,\"cache_limit\":%llu,"
      "\"folder_cache_bytes\":%llu,\"watches\":%llu,\"watch_events\":%llu,"
      "\"watch_overflows\":%llu,\"threads\":%d,\"scans\":%llu}",
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
      (unsigned long long)ws.overflows, c->threads,
      (unsigned long long)load(&s->scans));
  if (!json) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, json, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, 'J'); /* JSON, for json_extract and friends */
}

static void fn_config(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  emd_conn *c = sqlite3_user_data(ctx);
  emd_cache_stats cs;
  const char *name = (const char *)sqlite3_value_text(argv[0]);
  int set = argc > 1;
  sqlite3_int64 v = set ? sqlite3_value_int64(argv[1]) : 0;
  if (set && sqlite3_value_type(argv[1]) != SQLITE_INTEGER) {
    sqlite3_result_error(
        ctx, "eventmd: eventmd_config value must be an integer", -1);
    return;
  }
  if (!name) {
    sqlite3_result_error(ctx, "eventmd: eventmd_config needs a setting name",
                         -1);
    return;
  }
  if (!strcmp(name, "cache_bytes")) {
    if (set) {
      if (v < 0) {
        sqlite3_result_error(ctx, "eventmd: cache_bytes must be >= 0", -1);
        return;
      }
      emd_conn_set_cache_bytes(c, (size_t)v);
    }
    emd_cache_get_stats(c->cache, &cs);
    sqlite3_result_int64(ctx, (sqlite3_int64)cs.limit);
  } else if (!strcmp(name, "threads")) {
    if (set) {
      if (v < 1 || v > EMD_MAX_THREADS) {
        sqlite3_result_error(ctx, "eventmd: threads must be 1..64", -1);
        return;
      }
      c->threads = (int)v;
    }
    sqlite3_result_int(ctx, c->threads);
  } else if (!strcmp(name, "reset_stats")) {
    /* Workers of another open statement may be counting: atomic stores. */
    uint64_t *f = (uint64_t *)&c->stats;
    size_t k;
    for (k = 0; k < sizeof(c->stats) / sizeof(uint64_t); k++)
      __atomic_store_n(&f[k], 0, __ATOMIC_RELAXED);
    emd_cache_reset_stats(c->cache);
    sqlite3_result_null(ctx);
  } else {
    char *m = sqlite3_mprintf(
        "eventmd: unknown setting '%s' (expected cache_bytes, threads or "
        "reset_stats)",
        name);
    sqlite3_result_error(ctx, m ? m : "eventmd: unknown setting", -1);
    sqlite3_free(m);
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
  int i, rc, fd;
  if (!root || sqlite3_value_type(argv[0]) != SQLITE_TEXT ||
      (int)strlen(root) != sqlite3_value_bytes(argv[0])) {
    sqlite3_result_error(ctx, "eventmd: eventmd_attach needs a root folder",
                         -1);
    return;
  }
  if (!prefix) prefix = "";
  fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    char *m =
        sqlite3_mprintf("eventmd: root '%s' is not a readable directory (%s)",
                        root, strerror(errno));
    sqlite3_result_error(
        ctx, m ? m : "eventmd: root is not a readable directory", -1);
    sqlite3_free(m);
    return;
  }
  close(fd);
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
