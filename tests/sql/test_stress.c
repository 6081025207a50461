/* SPDX-License-Identifier: MIT */
/*
** test_stress.c - interrupts, concurrency and resources.
**
**   EVENTMD_CORPUS10K=build/corpus-10000 build/test_stress
**
** 1. sqlite3_interrupt() from another thread, and a progress handler, stop a
**    scan of a 10,000-file archive within 100 ms, also when the WHERE clause
**    matches nothing (rows are read but none come out).
** 2. Two connections in two threads scan while a third thread rewrites,
**    creates and deletes files: no crash, no error, no torn row (each row
**    comes from one version of its file).  Built with ThreadSanitizer by
**    `make tsan`.
** 3. After 10,000 statements, failed and interrupted ones included, open
**    file descriptors and sqlite3_memory_used() are back where they were.
** 4. A new connection with a cache file another wrote scans the 10,000-file
**    archive with four threads, which take each folder's records from the
**    file at once (fetching the next folder's ahead), and shows what a
**    scan without the file shows, parsing nothing.
*/
#include <dirent.h>
#include <pthread.h>
#include <time.h>

#include "testutil.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *corpus10k(void) {
  const char *d = getenv("EVENTMD_CORPUS10K");
  if (!d)
    fail_msg(
        "set EVENTMD_CORPUS10K to a 10,000-file corpus "
        "(tests/corpus/gen_corpus.py)");
  return d;
}

/* ------------------------------------------------------------------------
** 1. Interrupts.
*/
typedef struct interrupter {
  sqlite3 *db;
  double delay; /* seconds before interrupting */
  double fired; /* when it fired */
} interrupter;

static void *interrupt_later(void *arg) {
  interrupter *it = arg;
  struct timespec ts;
  ts.tv_sec = (time_t)it->delay;
  ts.tv_nsec = (long)((it->delay - (double)ts.tv_sec) * 1e9);
  nanosleep(&ts, NULL);
  it->fired = now();
  sqlite3_interrupt(it->db);
  return NULL;
}

static double deadline;
static int progress_stop(void *arg) {
  double *fired = arg;
  if (now() >= deadline) {
    if (*fired == 0) *fired = now();
    return 1;
  }
  return 0;
}

/* Run sql until it ends; returns the rc and when it ended. */
static int step_all(sqlite3 *db, const char *sql, double *ended, long *rows) {
  sqlite3_stmt *st;
  int rc;
  *rows = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) (*rows)++;
  *ended = now();
  sqlite3_finalize(st);
  return rc;
}

static void test_interrupts(void **state) {
  char root[4096];
  const char *queries[] = {
      /* rows flow, none match */
      "SELECT count(*) FROM eventmd_events('%s') WHERE title = 'no such title'",
      "SELECT * FROM eventmd_sources('%s') WHERE domain = 'no.such.domain'",
      /* date order: the walk is done before the first row */
      "SELECT path FROM eventmd_events('%s') WHERE summary = 'none' ORDER BY "
      "date",
      "SELECT count(*) FROM eventmd_events('%s') WHERE length(markdown) < 0",
  };
  size_t q;
  int how, threads;
  (void)state;
  snprintf(root, sizeof(root), "%s/archive", corpus10k());
  for (threads = 1; threads <= 2; threads++) {
    for (q = 0; q < sizeof(queries) / sizeof(queries[0]); q++) {
      for (how = 0; how < 2; how++) {
        sqlite3 *db = tu_open();
        char sql[8192];
        double ended, fired = 0, late;
        long rows;
        int rc;
        interrupter it;
        pthread_t th;
        /* Cache off: every file is read and parsed, so the scan is long. */
        tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)");
        tu_exec(db, "SELECT eventmd_config('threads', %d)", threads);
        snprintf(sql, sizeof(sql), queries[q], root);
        if (how == 0) {
          it.db = db;
          it.delay = 0.04;
          it.fired = 0;
          pthread_create(&th, NULL, interrupt_later, &it);
          rc = step_all(db, sql, &ended, &rows);
          pthread_join(th, NULL);
          fired = it.fired;
        } else {
          deadline = now() + 0.04;
          sqlite3_progress_handler(db, 100, progress_stop, &fired);
          rc = step_all(db, sql, &ended, &rows);
          sqlite3_progress_handler(db, 0, NULL, NULL);
        }
        late = ended - fired;
        print_message(
            "  %s, %d thread%s, query %zu: stopped %.1f ms after the %s\n",
            how ? "progress handler" : "sqlite3_interrupt", threads,
            threads > 1 ? "s" : "", q, late * 1e3,
            how ? "handler said stop" : "interrupt");
        assert_int_equal(rc, SQLITE_INTERRUPT);
        assert_true(fired > 0);
        assert_true(late < 0.100 * tu_time_scale());
        sqlite3_close(db);
      }
    }
  }
}

/* ------------------------------------------------------------------------
** 2. Concurrency.
*/
#define NFILES 60
static char *conc_dir;
static int stop_all; /* atomic */
static long torn, scans, errors_seen;

/* Version k of file i: title, summary and the number of sources agree. */
static void write_version(int i, int k, int atomic) {
  char rel[64], tmp[64], buf[4096], path[4096], tpath[4096];
  int j, n = 1 + k % 5, len;
  len = snprintf(buf, sizeof(buf),
                 "### [2015-01-02](/news/2015/1/2/index.md)\n\n# T%d\n\nS%d\n\n"
                 "### Source:\n\n",
                 k, k);
  for (j = 0; j < n; j++)
    len += snprintf(buf + len, sizeof(buf) - (size_t)len,
                    "1. [V%d](http://v%d.com/)\n", k, k);
  snprintf(rel, sizeof(rel), "news/2015/1/2/f%02d.md", i);
  if (!atomic) {
    tu_write(conc_dir, rel, buf, (size_t)len);
    return;
  }
  /* Replace atomically: write beside, then rename over. */
  snprintf(tmp, sizeof(tmp), "news/2015/1/2/.tmp%02d", i);
  tu_write(conc_dir, tmp, buf, (size_t)len);
  snprintf(tpath, sizeof(tpath), "%s/%s", conc_dir, tmp);
  snprintf(path, sizeof(path), "%s/%s", conc_dir, rel);
  rename(tpath, path);
}

static void *writer(void *arg) {
  unsigned seed = 7;
  int k = 1000;
  (void)arg;
  while (!__atomic_load_n(&stop_all, __ATOMIC_RELAXED)) {
    int i = (int)(rand_r(&seed) % NFILES), op = (int)(rand_r(&seed) % 10);
    char path[4096];
    snprintf(path, sizeof(path), "%s/news/2015/1/2/f%02d.md", conc_dir, i);
    if (op < 7)
      write_version(i, k++, 1);
    else if (op < 9)
      unlink(path);
    else
      write_version(i, k++, 1); /* (re)create */
  }
  return NULL;
}

static void *reader(void *arg) {
  int threads = (int)(intptr_t)arg;
  sqlite3 *db = tu_open();
  char sql[8192];
  tu_exec(db, "SELECT eventmd_config('threads', %d)", threads);
  snprintf(
      sql, sizeof(sql),
      "SELECT title, summary, n_sources, (SELECT group_concat(DISTINCT name) "
      "FROM eventmd_sources('%s') s WHERE s.event_path = e.path) "
      "FROM eventmd_events('%s') e",
      conc_dir, conc_dir);
  while (!__atomic_load_n(&stop_all, __ATOMIC_RELAXED)) {
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
      __atomic_add_fetch(&errors_seen, 1, __ATOMIC_RELAXED);
      continue;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const char *t = (const char *)sqlite3_column_text(st, 0);
      const char *s = (const char *)sqlite3_column_text(st, 1);
      int n = sqlite3_column_int(st, 2), k;
      if (!t || !s || t[0] != 'T' || s[0] != 'S' || strcmp(t + 1, s + 1) != 0) {
        __atomic_add_fetch(&torn, 1, __ATOMIC_RELAXED);
        continue;
      }
      k = atoi(t + 1);
      if (n != 1 + k % 5) __atomic_add_fetch(&torn, 1, __ATOMIC_RELAXED);
    }
    if (rc != SQLITE_DONE)
      __atomic_add_fetch(&errors_seen, 1, __ATOMIC_RELAXED);
    sqlite3_finalize(st);
    __atomic_add_fetch(&scans, 1, __ATOMIC_RELAXED);
  }
  sqlite3_close(db);
  return NULL;
}

static void test_concurrency(void **state) {
  pthread_t w, r1, r2;
  int i;
  double seconds = getenv("EVENTMD_STRESS_SECONDS")
                       ? atof(getenv("EVENTMD_STRESS_SECONDS"))
                       : 3;
  (void)state;
  conc_dir = tu_tmpdir();
  for (i = 0; i < NFILES; i++) write_version(i, i, 0);
  __atomic_store_n(&stop_all, 0, __ATOMIC_RELAXED);
  pthread_create(&w, NULL, writer, NULL);
  pthread_create(&r1, NULL, reader, (void *)(intptr_t)1);
  pthread_create(&r2, NULL, reader, (void *)(intptr_t)2);
  {
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
  }
  __atomic_store_n(&stop_all, 1, __ATOMIC_RELAXED);
  pthread_join(w, NULL);
  pthread_join(r1, NULL);
  pthread_join(r2, NULL);
  print_message(
      "  %ld scans by two connections while files changed: %ld torn rows, "
      "%ld errors\n",
      scans, torn, errors_seen);
  assert_true(scans > 10);
  assert_int_equal(torn, 0);
  assert_int_equal(errors_seen, 0);
  tu_rmrf(conc_dir);
  free(conc_dir);
}

/* ------------------------------------------------------------------------
** 3. Resources.
*/
static int open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int n = 0;
  while (d && (e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') n++;
  if (d) closedir(d);
  return n;
}

static void test_resources(void **state) {
  sqlite3 *db;
  char *d = tu_tmpdir(), root[4096];
  int fds0, fds1 = 0, i;
  sqlite3_int64 mem0, mem1 = 0;
  (void)state;
  snprintf(root, sizeof(root), "%s/archive", corpus10k());
  tu_writes(d, "news/2015/1/2/a.md", "# A\n");
  fds0 = open_fds();
  mem0 = sqlite3_memory_used();
  db = tu_open();
  tu_exec(
      db,
      "SELECT eventmd_config('cache_bytes', 0)"); /* memory: only SQLite's */
  for (i = 0; i < 10000; i++) {
    char *r;
    switch (i % 8) {
      case 0:
        r = tu_query(db, "SELECT count(*) FROM eventmd_events('%q')", d);
        break;
      case 1:
        r = tu_query(db, "SELECT * FROM eventmd_sources('/no/such/root')");
        break;
      case 2:
        r = tu_query(db,
                     "SELECT title FROM eventmd_events('%q') WHERE path = "
                     "'/news/2015/1/2/a.md'",
                     d);
        break;
      case 3:
        r = tu_query(db,
                     "CREATE VIRTUAL TABLE temp.x USING eventmd_events(bad)");
        break;
      case 4:
        r = tu_query(db, "SELECT * FROM eventmd_events('%q') ORDER BY date", d);
        break;
      case 5:
        r = tu_query(db,
                     "SELECT * FROM eventmd_changes('%q') WHERE event_path IN "
                     "('/x.md', '/news/2015/1/2/a.md')",
                     d);
        break;
      case 6: {
        /* Interrupted in the middle of a big scan. */
        sqlite3_stmt *st;
        char sql[8192];
        int k = 0;
        snprintf(sql, sizeof(sql), "SELECT * FROM eventmd_events('%s')", root);
        sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        while (sqlite3_step(st) == SQLITE_ROW)
          if (++k == 40) sqlite3_interrupt(db);
        sqlite3_finalize(st);
        r = NULL;
        break;
      }
      default: r = tu_query(db, "SELECT eventmd_stats()"); break;
    }
    free(r);
    if (i == 7) {
      /* One round of every kind of statement: the tables it made stay in
      ** the connection and keep their roots open; from here on nothing
      ** may grow. */
      fds1 = open_fds();
      mem1 = sqlite3_memory_used();
    }
  }
  print_message(
      "  fds: %d before, %d after the first 8 statements, %d after 10,000 "
      "(the tables keep their roots open)\n"
      "  sqlite3_memory_used: %lld after the first 8, %lld after 10,000\n",
      fds0, fds1, open_fds(), (long long)mem1,
      (long long)sqlite3_memory_used());
  assert_int_equal(open_fds(), fds1);
  /* A few bytes come and go with the last error message; a leak of even
  ** one byte per statement would show as 10,000. */
  assert_true(sqlite3_memory_used() <= mem1 + 256);
  sqlite3_close(db);
  assert_int_equal(open_fds(), fds0);
  assert_int_equal(sqlite3_memory_used(), mem0);
  tu_rmrf(d);
  free(d);
}

/* ------------------------------------------------------------------------
** 4. The cache file's folder batches, shared by threads.
*/
/* A new connection with the cache file cf and four threads answers sql
** (on root) with want, parsing nothing. */
static void from_cache_file(const char *cf, const char *sql, const char *root,
                            const char *want) {
  sqlite3 *db = tu_open();
  char *got;
  tu_exec(db, "SELECT eventmd_config('threads', 4)");
  tu_exec(db, "SELECT eventmd_config('cache_file', '%q')", cf);
  got = tu_query(db, sql, root);
  assert_string_equal(got, want);
  assert_int_equal(TU_STAT(db, "files_parsed"), 0);
  assert_true(TU_STAT(db, "cache_file_hits") >= 10000);
  free(got);
  sqlite3_close(db);
}

static void test_cache_file_threads(void **state) {
  char root[4096], *dir = tu_tmpdir(), *cf, *want, *want_versions;
  const char *sums =
      "SELECT count(*), sum(length(title)), sum(length(summary)), "
      "sum(n_sources), sum(n_related) FROM eventmd_events('%q')";
  const char *versions =
      "SELECT count(*), sum(is_current), sum(length(current_path)), "
      "sum(length(topic)) FROM eventmd_events('%q')";
  sqlite3 *db;
  (void)state;
  snprintf(root, sizeof(root), "%s/archive", corpus10k());
  cf = sqlite3_mprintf("%s/cache.db", dir);
  db = tu_open();
  tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)");
  want = tu_query(db, sums, root);
  want_versions = tu_query(db, versions, root);
  sqlite3_close(db);
  /* The file written (the files were written long ago: none is racy). */
  db = tu_open();
  tu_exec(db, "SELECT eventmd_config('cache_file', '%q')", cf);
  free(tu_query(db, versions, root)); /* the day pages too */
  sqlite3_close(db);
  /* Two new connections, each taking everything from the file. */
  from_cache_file(cf, sums, root, want);
  from_cache_file(cf, versions, root, want_versions);
  free(want);
  free(want_versions);
  tu_rmrf(dir);
  free(dir);
  sqlite3_free(cf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interrupts),
      cmocka_unit_test(test_concurrency),
      cmocka_unit_test(test_resources),
      cmocka_unit_test(test_cache_file_threads),
  };
  return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
