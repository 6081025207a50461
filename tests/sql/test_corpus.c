/* SPDX-License-Identifier: MIT */
/*
** test_corpus.c - integration test: a generated archive (tests/corpus/gen_corpus.py)
** scanned through SQL must show exactly the rows the generator computed
** from its own model of each event, in all four tables and in both table
** forms (table-valued function and CREATE VIRTUAL TABLE).
**
**   EVENTMD_CORPUS=build/corpus-2400 build/test_corpus
**
** $EVENTMD_CORPUS holds archive/ and expected.sql (tables exp_events,
** exp_sources, exp_related, exp_changes).  At least 2,000 event files.
*/
#include "testutil.h"

static const char *corpus_dir(void) {
  const char *d = getenv("EVENTMD_CORPUS");
  if (!d)
    fail_msg(
        "set EVENTMD_CORPUS to a folder made by tests/corpus/gen_corpus.py");
  return d;
}

/* The columns compared for each table. */
static const struct {
  const char *table;
  const char *cols;
} tables[] = {
    {"events",
     "path, date, title, topic, summary, cover_image, day_index, is_current, "
     "current_path, n_sources, n_related, n_changes, size, mtime, problem"},
    {"sources", "event_path, ordinal, name, url, domain"},
    {"related", "event_path, ordinal, title, target, target_date, context"},
    {"changes",
     "event_path, ordinal, title, target, changed_at, label, is_current"},
};

static sqlite3 *load_expected(char **root) {
  sqlite3 *db = tu_open();
  const char *d = corpus_dir();
  char path[4096], *sql, *err = NULL;
  snprintf(path, sizeof(path), "%s/expected.sql", d);
  sql = tu_slurp(path, NULL);
  if (!sql) fail_msg("cannot read %s (run tests/corpus/gen_corpus.py)", path);
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    fail_msg("loading %s: %s", path, err);
  free(sql);
  *root = sqlite3_mprintf("%s/archive", d);
  return db;
}

/* Compare one table, in one form: `src` is a FROM clause.  Returns the
** number of rows that differ (printing a few). */
static long compare(sqlite3 *db, int t, const char *src) {
  long bad = 0;
  int dir;
  for (dir = 0; dir < 2; dir++) {
    char *q = dir == 0
                  ? sqlite3_mprintf(
                        "SELECT %s FROM exp_%s EXCEPT SELECT %s FROM %s",
                        tables[t].cols, tables[t].table, tables[t].cols, src)
                  : sqlite3_mprintf(
                        "SELECT %s FROM %s EXCEPT SELECT %s FROM exp_%s",
                        tables[t].cols, src, tables[t].cols, tables[t].table);
    char *rows = tu_query(db, "%s", q);
    if (!strncmp(rows, "ERROR", 5)) fail_msg("%s: %s", q, rows);
    if (*rows) {
      char *p = rows;
      int shown = 0;
      while (*p) {
        char *nl = strchr(p, '\n');
        if (shown++ < 3)
          print_error("%s %s row: %.*s\n", dir == 0 ? "missing" : "unexpected",
                      tables[t].table, (int)(nl - p), p);
        bad++;
        p = nl + 1;
      }
    }
    free(rows);
    sqlite3_free(q);
  }
  return bad;
}

static void check_form(sqlite3 *db, int tvf, const char *root) {
  int t;
  long bad = 0;
  for (t = 0; t < 4; t++) {
    char *src = tvf ? sqlite3_mprintf("eventmd_%s('%q')", tables[t].table, root)
                    : sqlite3_mprintf("temp.t_%s", tables[t].table);
    sqlite3_int64 want =
        tu_int(db, "SELECT count(*) FROM exp_%s", tables[t].table);
    sqlite3_int64 got = tu_int(db, "SELECT count(*) FROM %s", src);
    print_message("  %-8s %-28s %lld rows (expected %lld)\n", tables[t].table,
                  tvf ? "table-valued function" : "CREATE VIRTUAL TABLE",
                  (long long)got, (long long)want);
    if (got != want) bad++;
    bad += compare(db, t, src);
    sqlite3_free(src);
  }
  assert_int_equal(bad, 0);
}

static void test_table_valued(void **state) {
  char *root;
  sqlite3 *db = load_expected(&root);
  (void)state;
  assert_true(tu_int(db, "SELECT count(*) FROM exp_events") >= 2000);
  check_form(db, 1, root);
  sqlite3_free(root);
  sqlite3_close(db);
}

static void test_create_virtual_table(void **state) {
  char *root;
  sqlite3 *db = load_expected(&root);
  int t;
  (void)state;
  for (t = 0; t < 4; t++)
    tu_exec(db, "CREATE VIRTUAL TABLE temp.t_%s USING eventmd_%s(root='%q')",
            tables[t].table, tables[t].table, root);
  check_form(db, 0, root);
  sqlite3_free(root);
  sqlite3_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_valued),
      cmocka_unit_test(test_create_virtual_table),
  };
  return cmocka_run_group_tests_name("corpus", tests, NULL, NULL);
}
