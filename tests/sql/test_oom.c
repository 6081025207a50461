/* SPDX-License-Identifier: MIT */
/*
** test_oom.c - out of memory, everywhere.
**
** A SQLITE_CONFIG_MALLOC wrapper makes the Nth SQLite allocation fail, for
** N = 1, 2, ... until a full scan of a fixture archive (the sample archive,
** bad files included) through all four tables succeeds: once transiently
** (only the Nth allocation fails) and once persistently (the Nth and every
** later one fail).  The parse cache's allocations (the C library's, through
** eventmd's cache fault hook) count and fail in the same sequence.  Every run must end in SQLITE_NOMEM or in exactly the
** rows of a run without faults, with no crash and no leak (SQLite's memory
** in use is back where it was once the connection is closed).
**
**   build/test_oom [ARCHIVE]     (default tests/sample)
*/
#include "testutil.h"

static sqlite3_mem_methods real_mem;
static int fail_at;    /* 0: no failure */
static int persistent; /* every allocation from fail_at on fails */
static int count;      /* allocations so far (atomic) */
static int failed;     /* a failure was injected in this run */

static int should_fail(void) {
  int n = __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
  if (fail_at && (n == fail_at || (persistent && n > fail_at))) {
    failed = 1;
    return 1;
  }
  return 0;
}

static void *oom_malloc(int n) {
  return should_fail() ? NULL : real_mem.xMalloc(n);
}
static void *oom_realloc(void *p, int n) {
  return should_fail() ? NULL : real_mem.xRealloc(p, n);
}

/* The parse cache's own allocations (the C library's) fail in the same
** sequence: eventmd's fault hook for them. */
extern int (*emd_cache_fault_hook)(void);
static int cache_fault(void) {
  return should_fail();
}

static const char *archive_dir = "tests/sample";

static const char *queries[] = {
    "SELECT path, date, title, summary, cover_image, day_index, is_current, "
    "n_sources, n_related, n_changes, size, problem FROM eventmd_events('%q') "
    "ORDER BY path",
    "SELECT * FROM eventmd_sources('%q') ORDER BY event_path, ordinal",
    "SELECT * FROM eventmd_related('%q') ORDER BY event_path, ordinal",
    "SELECT * FROM eventmd_changes('%q') ORDER BY event_path, ordinal",
    "SELECT path, length(markdown) FROM eventmd_events('%q') WHERE date >= "
    "'2016' "
    "ORDER BY date, path",
};
#define NQ (int)(sizeof(queries) / sizeof(queries[0]))
static char *expected[NQ];

/* One run: open, register, scan.  Returns 1 when every query gave its
** expected rows, 0 when something failed with SQLITE_NOMEM. */
static int one_run(int threads) {
  sqlite3 *db = NULL;
  char *err = NULL;
  int i, ok = 1;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
    sqlite3_close(db);
    return 0;
  }
  if (sqlite3_eventmd_init(db, &err, NULL) != SQLITE_OK) {
    sqlite3_free(err);
    sqlite3_close(db);
    return 0;
  }
  {
    char *sql =
        sqlite3_mprintf("SELECT eventmd_config('threads', %d)", threads);
    if (!sql || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) ok = 0;
    sqlite3_free(sql);
  }
  for (i = 0; i < NQ && ok; i++) {
    char *got = tu_query(db, queries[i], archive_dir);
    if (!strncmp(got, "ERROR: ", 7)) {
      if (sqlite3_errcode(db) != SQLITE_NOMEM &&
          strcmp(got, "ERROR: out of memory"))
        fail_msg(
            "query %d failed with something other than NOMEM at fault %d (%s): "
            "%s (code %d)",
            i, fail_at, persistent ? "persistent" : "transient", got,
            sqlite3_extended_errcode(db));
      ok = 0;
    } else if (expected[i] && strcmp(got, expected[i]) != 0) {
      fail_msg("query %d gave wrong rows under fault %d (%s):\n%s", i, fail_at,
               persistent ? "persistent" : "transient", got);
    } else if (!expected[i]) {
      expected[i] = strdup(got);
    }
    free(got);
  }
  sqlite3_close(db);
  return ok;
}

static void loop(int is_persistent, int threads) {
  int n, step = getenv("EVENTMD_QUICK") ? 7 : 1; /* lighter under valgrind */
  persistent = is_persistent;
  for (n = 1;; n += step) {
    sqlite3_int64 before = sqlite3_memory_used(), after;
    int ok;
    fail_at = n;
    count = 0;
    failed = 0;
    ok = one_run(threads);
    after = sqlite3_memory_used();
    if (after != before)
      fail_msg("leak with fault at %d (%s): %lld bytes", n,
               persistent ? "persistent" : "transient",
               (long long)(after - before));
    if (ok && !failed) {
      print_message(
          "  %s, %d thread%s: allocations 1..%d failed in turn (every "
          "%d%s); run %d needed no failure\n",
          persistent ? "persistent" : "transient", threads,
          threads == 1 ? "" : "s", n - 1, step, step == 1 ? "st" : "th", n);
      break;
    }
    if (n > 200000) fail_msg("runaway loop");
  }
  fail_at = 0;
}

static void test_oom(void **state) {
  int i;
  (void)state;
  fail_at = 0;
  assert_int_equal(one_run(1), 1); /* the expected rows */
  for (i = 0; i < NQ; i++) assert_non_null(expected[i]);
  loop(0, 1);
  loop(1, 1);
  /* With a read-ahead worker the order of allocations varies; the outcome
  ** must still be NOMEM or the right rows. */
  loop(1, 2);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_oom)};
  sqlite3_mem_methods m;
  if (argc > 1) archive_dir = argv[1];
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem);
  emd_cache_fault_hook = cache_fault;
  m = real_mem;
  m.xMalloc = oom_malloc;
  m.xRealloc = oom_realloc;
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK) {
    fprintf(stderr, "cannot install the failing allocator\n");
    return 1;
  }
  return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
