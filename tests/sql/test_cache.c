/* SPDX-License-Identifier: MIT */
/*
** test_cache.c - the parse cache as a whole (cache.c, watch.c,
** cachefile.c through SQL): scan resistance, liveness with validation by
** the watch, the persistent cache file across processes.
**
**   build/test_cache
*/
#include <sys/wait.h>

#include "testutil.h"

#define STAT(db, key) TU_STAT(db, key)

static void write_event(const char *root, int i, const char *title) {
  char rel[64], *md;
  snprintf(rel, sizeof(rel), "news/2018/%d/%d/e%d.md", i / 28 % 12 + 1,
           i % 28 + 1, i);
  md = sqlite3_mprintf(
      "### [2018-01-1](/news/2018/01/1/index.md)\n# %s %d\n\nA summary that "
      "takes some room in the record, so that the cache fills.\n\n"
      "### Source:\n\n1. [A](http://a.com/%d)\n",
      title, i, i);
  tu_writes(root, rel, md);
  sqlite3_free(md);
}

/* Write file i with title, then see it through a scan on the next
** statement. */
static void edit_and_see(sqlite3 *db, const char *root, int i,
                         const char *title) {
  char want[64];
  write_event(root, i, title);
  snprintf(want, sizeof(want), "%s %d\n", title, i);
  tu_expect(db, want,
            "SELECT title FROM eventmd_events('%q') WHERE title LIKE '%% %d'",
            root, i);
}

static char *archive(int n) {
  char *root = tu_tmpdir();
  int i;
  for (i = 0; i < n; i++) write_event(root, i, "Title");
  return root;
}

/* A full events scan that needs every file's parse. */
static void full_scan(sqlite3 *db, const char *root) {
  tu_exec(db, "SELECT count(*), sum(length(title)) FROM eventmd_events('%q')",
          root);
}

/* A warm walk reaches the folders it knows without a stat(), by what
** their parents' watches vouch for: a month folder swapped for another by
** rename, or a day folder removed and made again, shows at once. */
static void test_folders_swapped_live(void **state) {
  char *root = archive(60), from[4096], to[4096];
  sqlite3 *db = tu_open();
  const char *q =
      "SELECT count(*) || ' ' || group_concat(title, ',') FROM "
      "(SELECT title FROM eventmd_events('%q') WHERE path LIKE "
      "'/news/2018/2/%%' ORDER BY path)";
  (void)state;
  tu_later(1);
  full_scan(db, root);
  full_scan(db, root);
  {
    /* Month 2 holds files 28 to 55. */
    char *before = tu_query(db, q, root);
    assert_int_equal(strncmp(before, "28 Title 28,", 12), 0);
    free(before);
  }
  /* Month 2 swapped for a folder holding one other file. */
  snprintf(from, sizeof(from), "%s/news/2018/2", root);
  snprintf(to, sizeof(to), "%s/news/2018/2-old", root);
  assert_int_equal(rename(from, to), 0);
  tu_writes(root, "news/2018/2/9/new.md",
            "### [2018-02-9](/news/2018/02/9/index.md)\n# Swapped in\n");
  tu_expect(db, "1 Swapped in\n", q, root);
  /* The day folder removed and made again with another file. */
  tu_rmrf(from);
  tu_writes(root, "news/2018/2/9/again.md",
            "### [2018-02-9](/news/2018/02/9/index.md)\n# Made again\n");
  tu_expect(db, "1 Made again\n", q, root);
  tu_later(0);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* A warm lookup by path reaches a file the archive is known to hold with
** no system call on the way (the watches vouch for each folder and for the
** file), and still sees every change made before the statement: the file
** rewritten, removed, its day folder renamed, or swapped for a link. */
static void test_lookup_known_live(void **state) {
  char *root = archive(60), *out = tu_tmpdir(), from[4096], to[4096];
  sqlite3 *db = tu_open();
  const char *q = "SELECT title FROM eventmd_events('%q') WHERE path = '%q'";
  const char *p30 = "/news/2018/2/3/e30.md", *p31 = "/news/2018/2/4/e31.md";
  (void)state;
  tu_later(1);
  full_scan(db, root);
  full_scan(db, root);
  tu_expect(db, "Title 30\n", q, root, p30);
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  tu_expect(db, "Title 30\n", q, root, p30);
  assert_int_equal(STAT(db, "files_stated"), 0);
  assert_int_equal(STAT(db, "folders_opened"), 0);
  write_event(root, 30, "Retitled");
  tu_expect(db, "Retitled 30\n", q, root, p30);
  tu_expect(db, "Retitled 30\n", q, root, p30);
  snprintf(from, sizeof(from), "%s/news/2018/2/3/e30.md", root);
  assert_int_equal(unlink(from), 0);
  tu_expect(db, "", q, root, p30);
  /* A folder named like an event file is no row, as in a scan. */
  assert_int_equal(mkdir(from, 0755), 0);
  tu_expect(db, "", "SELECT path FROM eventmd_events('%q') WHERE path = '%q'",
            root, p30);
  assert_int_equal(rmdir(from), 0);
  /* Day folder 4 renamed to 40: the old path has no row, the new one has. */
  tu_expect(db, "Title 31\n", q, root, p31);
  snprintf(from, sizeof(from), "%s/news/2018/2/4", root);
  snprintf(to, sizeof(to), "%s/news/2018/2/40", root);
  assert_int_equal(rename(from, to), 0);
  tu_expect(db, "", q, root, p31);
  tu_expect(db, "Title 31\n", q, root, "/news/2018/2/40/e31.md");
  /* Month 2 swapped for a link to a folder outside the root holding the
  ** same names: nothing is read through it. */
  tu_expect(db, "Title 32\n", q, root, "/news/2018/2/5/e32.md");
  tu_writes(out, "5/e32.md", "# Outside the root\n");
  snprintf(from, sizeof(from), "%s/news/2018/2", root);
  snprintf(to, sizeof(to), "%s/news/2018/2-moved", root);
  assert_int_equal(rename(from, to), 0);
  assert_int_equal(symlink(out, from), 0);
  tu_expect(db, "", q, root, "/news/2018/2/5/e32.md");
  tu_expect(db, "Title 32\n", q, root, "/news/2018/2-moved/5/e32.md");
  tu_later(0);
  sqlite3_close(db);
  tu_rmrf(root);
  tu_rmrf(out);
  free(root);
  free(out);
}

/* A followed link's target lies in another folder, whose changes the
** link's folder's watch never sees: an edit of the target (same size) is
** shown by the next statement, through a scan and through a lookup. */
static void test_followed_link_live(void **state) {
  char *root = archive(1), link[4096];
  sqlite3 *db = tu_open();
  (void)state;
  tu_writes(root, "targets/t.md", "# Before\n");
  snprintf(link, sizeof(link), "%s/news/links/l.md", root);
  tu_mkdirs(root, "news/links/l.md");
  assert_int_equal(symlink("../../targets/t.md", link), 0);
  tu_later(1); /* nothing counts as just written: the watch could vouch */
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.f USING eventmd_events(root='%q', "
          "follow_symlinks=1)",
          root);
  tu_expect(db, "Before\n",
            "SELECT title FROM f WHERE path = '/news/links/l.md'");
  tu_expect(db, "Before\n", "SELECT title FROM f WHERE path LIKE '%%/l.md'");
  tu_writes(root, "targets/t.md", "# Behind\n");
  tu_expect(db, "Behind\n", "SELECT title FROM f WHERE path LIKE '%%/l.md'");
  tu_writes(root, "targets/t.md", "# Beyond\n");
  tu_expect(db, "Beyond\n",
            "SELECT title FROM f WHERE path = '/news/links/l.md'");
  tu_later(0);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* A looping scan larger than the bound keeps a resident part: a repeated
** full scan with the bound at half of what the archive needs still hits. */
static void test_scan_resistance(void **state) {
  char *root = archive(1200);
  sqlite3 *db = tu_open();
  sqlite3_int64 need, hits, misses;
  int k;
  (void)state;
  tu_later(1);
  full_scan(db, root);
  need = STAT(db, "cache_bytes");
  tu_exec(db, "SELECT eventmd_config('cache_bytes', %lld)", need / 2);
  for (k = 0; k < 3; k++)
    tu_exec(db, "SELECT count(*), sum(length(title)) FROM eventmd_events('%q')",
            root);
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  full_scan(db, root);
  hits = STAT(db, "cache_hits");
  misses = STAT(db, "cache_misses");
  print_message("  bound %lld of %lld bytes: %lld hits, %lld misses\n",
                need / 2, need, hits, misses);
  assert_true(hits * 100 >= (hits + misses) * 40);
  assert_true(STAT(db, "cache_bytes") <= need / 2);
  tu_later(0);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* Warm scans need no stat() while the watch vouches; with the watch off,
** one per file. */
static void test_watch_saves_stats(void **state) {
  char *root = archive(200);
  sqlite3 *db = tu_open();
  (void)state;
  tu_later(1);
  full_scan(db, root);
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  full_scan(db, root);
  assert_int_equal(STAT(db, "files_stated"), 0);
  assert_int_equal(STAT(db, "cache_unstated"), 200);
  tu_exec(db, "SELECT eventmd_config('watch', 0)");
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  full_scan(db, root);
  assert_int_equal(STAT(db, "files_stated"), 200);
  assert_int_equal(STAT(db, "cache_hits"), 200);
  tu_exec(db, "SELECT eventmd_config('watch', 1)");
  tu_later(0);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* Live, with and without the watch: a change in the same second with the
** same size, and a change by a process that has exited. */
static void test_live_validation(void **state) {
  int watch;
  (void)state;
  for (watch = 1; watch >= 0; watch--) {
    char *root = archive(3);
    sqlite3 *db = tu_open();
    pid_t pid;
    int status;
    tu_exec(db, "SELECT eventmd_config('watch', %d)", watch);
    tu_expect(db, "Title 1\n",
              "SELECT title FROM eventmd_events('%q') WHERE title LIKE '%% 1'",
              root);
    /* Same size, same second. */
    edit_and_see(db, root, 1, "Tidle");
    edit_and_see(db, root, 1, "Title");
    /* Another process writes and exits. */
    pid = fork();
    if (pid == 0) {
      char rel[64], *md;
      FILE *f;
      snprintf(rel, sizeof(rel), "%s/news/2018/1/2/e1.md", root);
      md = sqlite3_mprintf(
          "### [2018-01-1](/news/2018/01/1/index.md)\n# Other 1\n");
      f = fopen(rel, "w");
      if (!f) _exit(1);
      fputs(md, f);
      fclose(f);
      _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 0);
    tu_expect(db, "Other 1\n",
              "SELECT title FROM eventmd_events('%q') WHERE title LIKE '%% 1'",
              root);
    tu_exec(db, "SELECT eventmd_config('watch', 1)");
    sqlite3_close(db);
    tu_rmrf(root);
    free(root);
  }
}

/* The end of a cache-file test: the clock back, its folders removed. */
static void done_with(char *root, char *dir, char *cf) {
  tu_later(0);
  tu_rmrf(dir);
  tu_rmrf(root);
  sqlite3_free(cf);
  free(dir);
  free(root);
}

/* One connection answers sql (on root) with the cache file cf and closes,
** which writes the file; a new one (returned, open) must answer alike with
** every record (hits of them) from the file, parsing nothing.  From here
** on, files written a moment ago count as old (tu_later: done_with() sets
** the clock back), so their records are trusted and written. */
static sqlite3 *written_then_read(const char *cf, const char *sql,
                                  const char *root, int hits) {
  sqlite3 *db;
  char *want, *got;
  tu_later(1);
  db = tu_open();
  tu_exec(db, "SELECT eventmd_config('cache_file', '%q')", cf);
  want = tu_query(db, sql, root);
  sqlite3_close(db); /* writes what is queued */
  db = tu_open();
  tu_exec(db, "SELECT eventmd_config('cache_file', '%q')", cf);
  got = tu_query(db, sql, root);
  assert_string_equal(got, want);
  assert_int_equal(STAT(db, "files_parsed"), 0);
  assert_int_equal(STAT(db, "cache_file_hits"), hits);
  free(want);
  free(got);
  return db;
}

/* In a child process: a connection with the cache file, one full scan;
** exits with files_parsed (capped at 250) or 255 on error. */
static void child_scan(const char *root, const char *cf, int *parsed) {
  pid_t pid = fork();
  int status;
  assert_true(pid >= 0);
  if (pid == 0) {
    sqlite3 *db;
    char *r;
    sqlite3_int64 n;
    db = tu_child_open(255);
    r = tu_query(db, "SELECT eventmd_config('cache_file', '%q')", cf);
    if (!strncmp(r, "ERROR", 5)) {
      fprintf(stderr, "%s\n", r);
      _exit(255);
    }
    free(r);
    r = tu_query(db,
                 "SELECT count(*) FROM eventmd_events('%q') WHERE "
                 "title IS NOT NULL",
                 root);
    if (!strncmp(r, "ERROR", 5)) _exit(255);
    free(r);
    r = tu_query(db, "SELECT json_extract(eventmd_stats(), '$.files_parsed')");
    n = atoll(r);
    free(r);
    sqlite3_close(db);
    _exit(n > 250 ? 250 : (int)n);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  *parsed = WEXITSTATUS(status);
  assert_true(*parsed != 255);
}

static void test_cache_file_across_processes(void **state) {
  char *root = archive(120), *dir = tu_tmpdir(), *cf;
  int parsed, status, k;
  pid_t pids[2];
  (void)state;
  cf = sqlite3_mprintf("%s/cache.db", dir);
  tu_later(1); /* the files count as settled: their parses are written */
  child_scan(root, cf, &parsed);
  assert_int_equal(parsed, 120);
  /* A new process over the unchanged archive parses nothing. */
  child_scan(root, cf, &parsed);
  assert_int_equal(parsed, 0);
  /* One file changed: that one only. */
  write_event(root, 7, "Changed");
  child_scan(root, cf, &parsed);
  assert_int_equal(parsed, 1);
  /* Two processes writing the same cache file at once (all changed). */
  for (k = 0; k < 120; k++) write_event(root, k, "Again");
  for (k = 0; k < 2; k++) {
    pids[k] = fork();
    if (pids[k] == 0) {
      int p2;
      (void)p2;
      child_scan(root, cf, &p2);
      _exit(0);
    }
  }
  for (k = 0; k < 2; k++) {
    assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  child_scan(root, cf, &parsed);
  assert_int_equal(parsed, 0);
  done_with(root, dir, cf);
}

/* A connection that finds the archive in the cache file takes each record
** from it without keeping it, then warms its memory cache from the file in
** the background: later scans hit memory, and a file changed since still
** shows its new text. */
static void test_cache_file_warming(void **state) {
  char *root = archive(300), *dir = tu_tmpdir(), *cf;
  sqlite3 *db;
  int waited;
  (void)state;
  cf = sqlite3_mprintf("%s/cache.db", dir);
  tu_later(1);
  db = tu_open();
  tu_exec(db, "SELECT eventmd_config('cache_file', '%q')", cf);
  full_scan(db, root);
  assert_int_equal(STAT(db, "files_parsed"), 300);
  sqlite3_close(db); /* writes what is queued */
  db = tu_open();
  tu_exec(db, "SELECT eventmd_config('cache_file', '%q')", cf);
  full_scan(db, root);
  assert_int_equal(STAT(db, "files_parsed"), 0);
  assert_int_equal(STAT(db, "cache_file_hits"), 300);
  full_scan(db, root); /* while warming runs: the same rows, no parse */
  assert_int_equal(STAT(db, "files_parsed"), 0);
  for (waited = 0; STAT(db, "cache_entries") < 300 && waited < 10000;
       waited += 10)
    usleep(10000);
  assert_int_equal(STAT(db, "cache_entries"), 300);
  assert_int_equal(STAT(db, "cache_file_warmed"), 300);
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  full_scan(db, root);
  assert_int_equal(STAT(db, "cache_hits"), 300);
  assert_int_equal(STAT(db, "files_parsed"), 0);
  write_event(root, 7, "Changed");
  tu_expect(db, "Changed 7\n",
            "SELECT title FROM eventmd_events('%q') WHERE path = "
            "'/news/2018/1/8/e7.md'",
            root);
  full_scan(db, root);
  assert_int_equal(STAT(db, "files_parsed"), 1);
  sqlite3_close(db);
  done_with(root, dir, cf);
}

/* A connection's first scan over folders it knows only from the cache
** file: records come a folder at a time, each still checked against its
** file, and the folders are not watched yet; a file changed before any of
** the next statements shows in it. */
static void test_cache_file_first_scan(void **state) {
  char *root = archive(90), *dir = tu_tmpdir(), *cf;
  const char *all =
      "SELECT group_concat(path || '=' || title, ',') FROM "
      "(SELECT path, title FROM eventmd_events('%q') ORDER BY "
      "path)";
  sqlite3 *db;
  int k;
  (void)state;
  for (k = 0; k < 6; k++) { /* a folder of several files */
    char rel[64], md[128];
    snprintf(rel, sizeof(rel), "news/2018/2/3/x%d.md", k);
    snprintf(md, sizeof(md),
             "### [2018-02-3](/news/2018/02/3/index.md)\n"
             "# Extra %d\n",
             k);
    tu_writes(root, rel, md);
  }
  cf = sqlite3_mprintf("%s/cache.db", dir);
  db = written_then_read(cf, all, root, 96);
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  edit_and_see(db, root, 40, "Edited");
  assert_int_equal(STAT(db, "files_parsed"), 1);
  edit_and_see(db, root, 41, "Again");
  edit_and_see(db, root, 40, "Thrice");
  sqlite3_close(db);
  done_with(root, dir, cf);
}

/* Records larger than a page (64 KiB: overflow pages, which the batch's
** blob handle reads across), and a folder whose records pass the bound of
** one folder's batch (16 MiB: then asked for one by one): a new process
** still takes every one from the cache file and shows them as they are. */
static void test_cache_file_big_records(void **state) {
  char *root = tu_tmpdir(), *dir = tu_tmpdir(), *cf, *md;
  const char *q =
      "SELECT count(*), sum(length(summary)), group_concat(title, ',') FROM "
      "(SELECT title, summary FROM eventmd_events('%q') ORDER BY path)";
  size_t big[2] = {100000, 800000};
  int files[2] = {3, 24}, f, k;
  (void)state;
  for (f = 0; f < 2; f++) {
    char *summary = malloc(big[f] + 1);
    assert_non_null(summary);
    memset(summary, 'x', big[f]);
    summary[big[f]] = 0;
    for (k = 0; k < files[f]; k++) {
      char rel[64];
      snprintf(rel, sizeof(rel), "news/2019/1/%d/big%d.md", f + 1, k);
      summary[k] = (char)('a' + k % 26); /* each file its own text */
      md = sqlite3_mprintf(
          "### [2019-01-%d](/news/2019/01/%d/index.md)\n# Big %d %d\n\n%s\n",
          f + 1, f + 1, f, k, summary);
      tu_writes(root, rel, md);
      sqlite3_free(md);
    }
    free(summary);
  }
  cf = sqlite3_mprintf("%s/cache.db", dir);
  sqlite3_close(written_then_read(cf, q, root, 27));
  done_with(root, dir, cf);
}

/* Records written by another connection after this one learnt where each
** folder's records lie are still found (asked for one by one), not parsed
** again. */
static void test_cache_file_written_since(void **state) {
  char *root = archive(30), *dir = tu_tmpdir(), *cf;
  const char *q =
      "SELECT title FROM eventmd_events('%q') WHERE title LIKE "
      "'%% 12'";
  sqlite3 *a, *b;
  (void)state;
  cf = sqlite3_mprintf("%s/cache.db", dir);
  tu_later(1);
  a = tu_open();
  tu_exec(a, "SELECT eventmd_config('cache_file', '%q')", cf);
  full_scan(a, root);
  sqlite3_close(a);
  b = tu_open();
  tu_exec(b, "SELECT eventmd_config('cache_file', '%q')", cf);
  tu_expect(b, "Title 12\n", q, root); /* b reads the file's layout */
  write_event(root, 12, "Newer");
  a = tu_open();
  tu_exec(a, "SELECT eventmd_config('cache_file', '%q')", cf);
  tu_expect(a, "Newer 12\n", q, root);
  assert_int_equal(STAT(a, "files_parsed"), 1);
  sqlite3_close(a); /* its record goes to the end of the file */
  tu_exec(b, "SELECT eventmd_config('reset_stats')");
  tu_expect(b, "Newer 12\n", q, root);
  assert_int_equal(STAT(b, "files_parsed"), 0);
  sqlite3_close(b);
  done_with(root, dir, cf);
}

static void test_cache_file_refusals(void **state) {
  char *root = archive(5), *dir = tu_tmpdir(), *p;
  sqlite3 *db = tu_open();
  size_t len;
  char *before, *after;
  (void)state;
  /* Something else at the path: refused, not touched. */
  p = sqlite3_mprintf("%s/notes.txt", dir);
  tu_writes(dir, "notes.txt", "my notes, not a cache\n");
  before = tu_slurp(p, &len);
  {
    char *r = tu_query(db, "SELECT eventmd_config('cache_file', '%q')", p);
    assert_true(!strncmp(r, "ERROR: eventmd: cache file", 26));
    free(r);
  }
  after = tu_slurp(p, NULL);
  assert_string_equal(before, after);
  free(before);
  free(after);
  sqlite3_free(p);
  /* A truncated cache file of eventmd's is rebuilt, not trusted. */
  p = sqlite3_mprintf("%s/cache.db", dir);
  tu_later(1);
  tu_exec(db, "SELECT eventmd_config('cache_file', '%q')", p);
  full_scan(db, root);
  tu_exec(db, "SELECT eventmd_config('cache_file', NULL)");
  assert_int_equal(truncate(p, 1024), 0);
  tu_exec(db, "SELECT eventmd_config('cache_file', '%q')", p);
  tu_expect(db, "5\n",
            "SELECT count(*) FROM eventmd_events('%q') WHERE title IS NOT "
            "NULL",
            root);
  /* Locked: the setting is refused. */
  tu_exec(db, "SELECT eventmd_config('lock')");
  tu_expect(db, "ERROR: eventmd: settings are locked for this connection",
            "SELECT eventmd_config('cache_file', NULL)");
  tu_later(0);
  sqlite3_close(db);
  /* Confined: not settable from SQL. */
  setenv("EVENTMD_ROOTS", root, 1);
  db = tu_open();
  unsetenv("EVENTMD_ROOTS");
  tu_expect(db,
            "ERROR: eventmd: the cache file cannot be set from SQL while roots "
            "are limited (use EVENTMD_CACHE_FILE)",
            "SELECT eventmd_config('cache_file', '%q')", p);
  sqlite3_close(db);
  sqlite3_free(p);
  tu_rmrf(dir);
  tu_rmrf(root);
  free(dir);
  free(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scan_resistance),
      cmocka_unit_test(test_watch_saves_stats),
      cmocka_unit_test(test_live_validation),
      cmocka_unit_test(test_followed_link_live),
      cmocka_unit_test(test_folders_swapped_live),
      cmocka_unit_test(test_lookup_known_live),
      cmocka_unit_test(test_cache_file_across_processes),
      cmocka_unit_test(test_cache_file_warming),
      cmocka_unit_test(test_cache_file_first_scan),
      cmocka_unit_test(test_cache_file_big_records),
      cmocka_unit_test(test_cache_file_written_since),
      cmocka_unit_test(test_cache_file_refusals),
  };
  return cmocka_run_group_tests_name("cache", tests, NULL, NULL);
}
