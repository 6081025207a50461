/* SPDX-License-Identifier: MIT */
/*
** test_sql.c - the four tables through SQL, with cmocka: registration,
** arguments and their errors, both table forms, the seed's rows, live
** changes, bad input rows, rowids, pushdown plans and DIRECTONLY.
*/
#include "testutil.h"
#include "seed.h"

#define SEED_REL (SEED_PATH + 1) /* root-relative: no leading '/' */

static const char *EVENT_A =
    "### [2015-01-02](/news/2015/1/2/index.md)\n\n# Event A\n\nSummary A\n\n"
    "### Source:\n\n1. [Src](http://www.src.com/a)\n\n"
    "### Related:\n\n1. [B](/news/2015/01/03/b.md) _Context: X_\n";

static const char *EVENT_B =
    "### [2015-01-03](/news/2015/01/03/index.md)\n\n# Event B\n\n"
    "### Source:\n\n1. [One](http://one.org/)\n2. [Two](http://two.org/)\n";

/* A small archive in a temp folder: two events, an index page, a hidden file
** and a non-event file. */
static char *small_archive(void) {
  char *d = tu_tmpdir();
  tu_writes(d, "news/2015/1/2/a.md", EVENT_A);
  tu_writes(d, "news/2015/1/2/index.md", "# index\n");
  tu_writes(d, "news/2015/01/03/b.md", EVENT_B);
  tu_writes(d, "news/2015/01/03/.hidden.md", EVENT_B);
  tu_writes(d, ".git/x.md", EVENT_B);
  tu_writes(d, "news/notes.txt", "not an event\n");
  return d;
}

/* ------------------------------------------------------------------------
** Registration and arguments.
*/
static void test_registered(void **state) {
  sqlite3 *db = tu_open();
  (void)state;
  tu_expect(
      db, "eventmd_changes\neventmd_events\neventmd_related\neventmd_sources\n",
      "SELECT name FROM pragma_module_list WHERE name LIKE 'eventmd%%' "
      "ORDER BY 1");
  tu_expect(db,
            "eventmd_attach\neventmd_config\neventmd_stats\neventmd_version\n",
            "SELECT DISTINCT name FROM pragma_function_list "
            "WHERE name LIKE 'eventmd%%' ORDER BY 1");
  tu_expect(db, EVENTMD_VERSION "\n", "SELECT eventmd_version()");
  sqlite3_close(db);
}

static void test_argument_errors(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive();
  (void)state;
  tu_expect(
      db,
      "ERROR: eventmd: unknown argument 'colour' (expected root, max_size "
      "or follow_symlinks)",
      "CREATE VIRTUAL TABLE temp.t USING eventmd_events(root='%q', "
      "colour=blue)",
      d);
  tu_expect(db, "ERROR: eventmd: argument 'root' given twice",
            "CREATE VIRTUAL TABLE temp.t USING eventmd_events(root='%q', "
            "root='%q')",
            d, d);
  tu_expect(db, "ERROR: eventmd: malformed argument 'xyz': expected name=value",
            "CREATE VIRTUAL TABLE temp.t USING eventmd_events(xyz)");
  tu_expect(
      db,
      "ERROR: eventmd: malformed argument 'max_size=-4': max_size must be "
      "a number of bytes from 1 to 1073741824",
      "CREATE VIRTUAL TABLE temp.t USING eventmd_sources(root='%q', "
      "max_size=-4)",
      d);
  tu_expect(db,
            "ERROR: eventmd: malformed argument 'follow_symlinks=maybe': "
            "follow_symlinks must be 0 or 1",
            "CREATE VIRTUAL TABLE temp.t USING eventmd_related(root='%q', "
            "follow_symlinks=maybe)",
            d);
  tu_expect(
      db,
      "ERROR: eventmd: root '/no/such/archive' is not a readable directory "
      "(No such file or directory)",
      "CREATE VIRTUAL TABLE temp.t USING "
      "eventmd_changes(root='/no/such/archive')");
  tu_expect(
      db,
      "ERROR: eventmd: root '/no/such/archive' is not a readable directory "
      "(No such file or directory)",
      "SELECT * FROM eventmd_events('/no/such/archive')");
  tu_expect(db,
            "ERROR: eventmd: eventmd_sources needs a root folder: "
            "eventmd_sources('/path/to/archive')",
            "SELECT * FROM eventmd_sources");
  tu_expect(db, "ERROR: eventmd: root must be a folder path (text)",
            "SELECT * FROM eventmd_events(NULL)");
  tu_expect(db,
            "ERROR: eventmd: unknown setting 'speed' (expected cache_bytes, "
            "cache_file, threads, watch, roots, lock or reset_stats)",
            "SELECT eventmd_config('speed')");
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* ------------------------------------------------------------------------
** Both forms, columns, hidden columns.
*/
static void test_both_forms(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive();
  char *a, *b;
  (void)state;
  tu_exec(db, "CREATE VIRTUAL TABLE temp.ev USING eventmd_events(root='%q')",
          d);
  a = tu_query(db,
               "SELECT path, date, title, summary, n_sources, n_related, "
               "root FROM ev ORDER BY path");
  b = tu_query(db,
               "SELECT path, date, title, summary, n_sources, n_related, "
               "root FROM eventmd_events('%q') ORDER BY path",
               d);
  assert_string_equal(a, b);
  free(b);
  b = sqlite3_mprintf(
      "/news/2015/01/03/b.md|2015-01-03|Event B|~|2|0|%s\n"
      "/news/2015/1/2/a.md|2015-01-02|Event A|Summary A|1|1|%s\n",
      d, d);
  assert_string_equal(a, b);
  free(a);
  sqlite3_free(b);
  /* Column order and hidden columns. */
  tu_expect(db,
            "path|0\ndate|0\ntitle|0\ntopic|0\nsummary|0\ncover_image|0\n"
            "day_index|0\nis_current|0\ncurrent_path|0\nn_sources|0\n"
            "n_related|0\nn_changes|0\nsize|0\nmtime|0\nproblem|0\nroot|1\n"
            "markdown|1\n",
            "SELECT name, hidden FROM pragma_table_xinfo('ev')");
  tu_expect(db, "event_path\nordinal\nname\nurl\ndomain\nroot\n",
            "SELECT name FROM pragma_table_xinfo('eventmd_sources')");
  tu_expect(db,
            "event_path\nordinal\ntitle\ntarget\ntarget_date\ncontext\nroot\n",
            "SELECT name FROM pragma_table_xinfo('eventmd_related')");
  tu_expect(db,
            "event_path\nordinal\ntitle\ntarget\nchanged_at\nlabel\nis_"
            "current\nroot\n",
            "SELECT name FROM pragma_table_xinfo('eventmd_changes')");
  /* The markdown column is the file's text. */
  tu_expect(db, "1\n",
            "SELECT markdown = %Q FROM ev WHERE path = '/news/2015/01/03/b.md'",
            EVENT_B);
  /* A table's declared root wins: another root matches nothing. */
  tu_expect(db, "", "SELECT path FROM ev('/tmp')");
  tu_expect(db, "2\n", "SELECT count(*) FROM ev('%q')", d);
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* ------------------------------------------------------------------------
** The seed's rows through SQL (SPEC §3).
*/
static void test_seed_rows(void **state) {
  sqlite3 *db = tu_open();
  char *d = tu_tmpdir(), *seed;
  size_t len = 0;
  (void)state;
  seed = seed_read(&len);
  tu_write(d, SEED_REL, seed, len);
  tu_exec(db, "SELECT eventmd_attach('%q')", d);
  tu_expect(
      db,
      "2014-02-13|Russian leader makes surprise declaration of support for "
      "Field Marshal Sisi's presidential bid - which has not yet been "
      "announced|http://i.telegraph.co.uk/multimedia/archive/02820/"
      "Abdel-Fattah-al-Si_2820907k.jpg|/news/2014/02/13/index.md|3|5|3|1|~\n",
      "SELECT date, summary, cover_image, day_index, n_sources, n_related, "
      "n_changes, is_current, problem FROM events");
  tu_expect(db,
            "1|Al-Ahram|english.ahram.org.eg\n2|The Hindu|thehindu.com\n"
            "3|The Telegraph|telegraph.co.uk\n",
            "SELECT ordinal, name, domain FROM sources ORDER BY ordinal");
  tu_expect(db, "2017-10-09|Moscow\n",
            "SELECT target_date, context FROM related WHERE ordinal = 3");
  tu_expect(
      db, "2017-08-25 03:40:01|First version|0\n",
      "SELECT changed_at, label, is_current FROM changes WHERE ordinal = 1");
  tu_expect(db, "~|Current version|1|1\n",
            "SELECT changed_at, label, is_current, target = event_path "
            "FROM changes WHERE ordinal = 3");
  {
    char want[512];
    snprintf(want, sizeof(want), "/%s|%zu\n", SEED_REL, len);
    tu_expect(db, want, "SELECT path, size FROM events");
  }
  free(seed);
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* ------------------------------------------------------------------------
** Live: new, changed and deleted files show on the next statement.
*/
static void test_live(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive(), path[4096];
  struct timespec ts[2];
  (void)state;
  tu_exec(db, "SELECT eventmd_attach('%q')", d);
  tu_expect(db, "Event B\nEvent A\n", "SELECT title FROM events ORDER BY path");
  tu_writes(d, "news/2015/1/2/c.md", "# Event C\n");
  tu_expect(db, "3\n", "SELECT count(*) FROM events");
  /* Same size, same second: the cache must still see the change (ctime and
  ** nanoseconds are part of the identity). */
  tu_writes(d, "news/2015/1/2/c.md", "# Event D\n");
  tu_expect(db, "Event D\n",
            "SELECT title FROM events WHERE path LIKE '%%/c.md'");
  /* An older mtime written back is still a change (ctime moves). */
  snprintf(path, sizeof(path), "%s/news/2015/1/2/c.md", d);
  tu_writes(d, "news/2015/1/2/c.md", "# Event E\n");
  ts[0].tv_sec = ts[1].tv_sec = 1000000000;
  ts[0].tv_nsec = ts[1].tv_nsec = 0;
  utimensat(AT_FDCWD, path, ts, 0);
  tu_expect(db, "Event E|1000000000\n",
            "SELECT title, mtime FROM events WHERE path LIKE '%%/c.md'");
  tu_expect(db, "1\n",
            "SELECT count(*) FROM sources WHERE event_path LIKE '%%/a.md'");
  unlink(path);
  tu_expect(db, "2\n", "SELECT count(*) FROM events");
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* Folders unchanged for a while have their listings and summaries kept by
** the connection: a file added, renamed or removed in such a folder must
** still show on the next statement, and a year folder that gains a file
** of its own is no longer skipped by a date query. */
static void test_live_old_folders(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive(), path[4096], path2[4096];
  (void)state;
  tu_later(1); /* files written now count as old (no racy window) */
  tu_exec(db, "SELECT eventmd_attach('%q')", d);
  tu_expect(db, "2\n", "SELECT count(*) FROM events");
  tu_expect(db, "1\n", "SELECT count(*) FROM events WHERE date = '2015-01-02'");
  tu_writes(d, "news/2015/1/2/new.md", "# New\n");
  tu_expect(db, "3\n", "SELECT count(*) FROM events");
  snprintf(path, sizeof(path), "%s/news/2015/1/2/new.md", d);
  snprintf(path2, sizeof(path2), "%s/news/2015/1/2/renamed.md", d);
  assert_int_equal(rename(path, path2), 0);
  tu_expect(db, "/news/2015/1/2/a.md\n/news/2015/1/2/renamed.md\n",
            "SELECT path FROM events WHERE path GLOB '/news/2015/1/2/*' ORDER "
            "BY path");
  unlink(path2);
  tu_expect(db, "2\n", "SELECT count(*) FROM events");
  /* A file directly in the (pruned) year folder 2015, dated by heading. */
  tu_writes(d, "news/2015/stray.md", "### 2016-05-05\n# Stray\n");
  tu_expect(db, "/news/2015/stray.md\n",
            "SELECT path FROM events WHERE date = '2016-05-05'");
  /* Rowid order (a browser's pages) keeps what it learnt of year and month
  ** folders between statements: a file put in a month folder that held
  ** only day folders shows among the rows without a path date (rowid
  ** below 2^31) at once. */
  tu_expect(db, "1\n", "SELECT count(*) FROM events WHERE rowid < 2147483648");
  tu_expect(db, "1\n", "SELECT count(*) FROM events WHERE rowid < 2147483648");
  tu_writes(d, "news/2015/1/stray2.md", "### 2016-05-06\n# Stray too\n");
  tu_expect(db, "2\n", "SELECT count(*) FROM events WHERE rowid < 2147483648");
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
  tu_later(0);
}

/* ------------------------------------------------------------------------
** Bad input: every bad file has its row, with problem.
*/
static void test_problem_rows(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive(), big[300], path[4096];
  (void)state;
  memset(big, 'x', sizeof(big));
  tu_write(d, "p/nul.md", "# a\0b", 5);
  tu_write(d, "p/nul2.md", "### 2015-01-01\n# a\0b\n", 20);
  tu_writes(d, "p/utf8.md", "### 2015-01-01\n# caf\xE9\n");
  tu_write(d, "p/big.md", big, sizeof(big));
  tu_writes(d, "p/notitle.md", "### 2015-01-01\n\nno heading\n");
  tu_writes(d, "news/2015/01/04/diff.md", "### 2015-01-05\n# T\n");
  tu_writes(d, "p/\xFF\xFE.md", "### 2015-01-01\n# bad name\n");
  snprintf(path, sizeof(path), "%s/p/fifo.md", d);
  assert_int_equal(mkfifo(path, 0644), 0);
  snprintf(path, sizeof(path), "%s/p/link.md", d);
  assert_int_equal(symlink("nul2.md", path), 0);
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.ev USING eventmd_events(root='%q', "
          "max_size=200)",
          d);
  tu_expect(
      db,
      "/news/2015/01/04/diff.md|2015-01-04|date heading 2015-01-05 differs "
      "from path\n"
      "/p/big.md|~|too large\n"
      "/p/fifo.md|~|not a regular file\n"
      "/p/link.md|~|symbolic link not followed\n"
      "/p/notitle.md|2015-01-01|no title\n"
      "/p/nul.md|~|NUL bytes; no date\n"
      "/p/nul2.md|2015-01-01|NUL bytes\n"
      "/p/utf8.md|2015-01-01|invalid UTF-8\n"
      "/p/\xEF\xBF\xBD\xEF\xBF\xBD.md|2015-01-01|file name is not valid "
      "UTF-8\n",
      "SELECT path, date, problem FROM ev WHERE problem IS NOT NULL "
      "ORDER BY path");
  /* Nothing is lost: the clean files are all there too. */
  tu_expect(db, "11\n", "SELECT count(*) FROM ev");
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* ------------------------------------------------------------------------
** Rowids are stable for a path, whatever the plan.
*/
static void test_rowids(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive();
  (void)state;
  tu_exec(db, "SELECT eventmd_attach('%q')", d);
  tu_expect(
      db, "1\n",
      "SELECT (SELECT rowid FROM events WHERE path = '/news/2015/1/2/a.md') = "
      "(SELECT rowid FROM events WHERE +path = '/news/2015/1/2/a.md')");
  tu_expect(
      db, "1\n",
      "SELECT (SELECT rowid FROM events WHERE path = '/news/2015/1/2/a.md') = "
      "(SELECT rowid FROM events WHERE date = '2015-01-02')");
  tu_expect(db, "3|3\n", "SELECT count(*), count(DISTINCT rowid) FROM sources");
  tu_expect(
      db, "1\n",
      "SELECT (SELECT group_concat(rowid) FROM sources WHERE event_path = "
      "'/news/2015/01/03/b.md') = (SELECT group_concat(rowid) FROM sources "
      "WHERE +event_path = '/news/2015/01/03/b.md')");
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* ------------------------------------------------------------------------
** Pushdown: plans, and what the scan did (eventmd_stats).
*/
static void test_pushdown_plans(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive();
  (void)state;
  tu_exec(db, "SELECT eventmd_attach('%q')", d);
  /* idxNum: 1 path order, 2 parse, 4 markdown, 16 date order, 32 stat,
  ** 64 rowid order. */
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 0:\n",
            "EXPLAIN QUERY PLAN SELECT count(*) FROM events");
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 98:\n",
            "EXPLAIN QUERY PLAN SELECT rowid, * FROM events ORDER BY rowid "
            "LIMIT 101");
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 98:j\n",
            "EXPLAIN QUERY PLAN SELECT rowid, * FROM events WHERE rowid > 5 "
            "ORDER BY rowid LIMIT 101");
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 34:i\n",
            "EXPLAIN QUERY PLAN SELECT * FROM events WHERE rowid = 7");
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 32:\n",
            "EXPLAIN QUERY PLAN SELECT count(*), max(mtime) FROM events");
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 2:p\n",
            "EXPLAIN QUERY PLAN SELECT title FROM events "
            "WHERE path = 'x'");
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 2:P\n",
            "EXPLAIN QUERY PLAN SELECT title FROM events "
            "WHERE path IN ('x','y')");
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 0:e\n",
            "EXPLAIN QUERY PLAN SELECT path FROM events "
            "WHERE date = '2015-01-02'");
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 0:Gl\n",
            "EXPLAIN QUERY PLAN SELECT path FROM events "
            "WHERE date >= '2015-01-02' AND date < '2015-02-01'");
  tu_expect(db, "SCAN events VIRTUAL TABLE INDEX 1:\n",
            "EXPLAIN QUERY PLAN SELECT path FROM events "
            "ORDER BY path");
  tu_expect(db,
            "SCAN e VIRTUAL TABLE INDEX 34:\nSCAN s VIRTUAL TABLE INDEX 2:p\n",
            "EXPLAIN QUERY PLAN SELECT * FROM events e JOIN "
            "sources s ON s.event_path = e.path");
  /* One file read, no walk, for path =. */
  tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)");
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  tu_expect(db, "Event A\n",
            "SELECT title FROM events WHERE path = '/news/2015/1/2/a.md'");
  tu_expect(db, "0|1\n",
            "SELECT json_extract(s, '$.folders_opened'), json_extract(s, "
            "'$.files_read') "
            "FROM (SELECT eventmd_stats() s)");
  /* A metadata-only query reads no file. */
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  tu_expect(db, "2\n",
            "SELECT count(*) FROM events WHERE size > 0 AND mtime > 0");
  tu_expect(db, "0\n", "SELECT json_extract(eventmd_stats(), '$.files_read')");
  /* One day: the other day folder is pruned, never opened. */
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  tu_expect(db, "/news/2015/01/03/b.md\n",
            "SELECT path FROM events WHERE date = '2015-01-03'");
  tu_expect(db, "1\n",
            "SELECT json_extract(eventmd_stats(), '$.folders_pruned')");
  /* Bad path constraints match nothing and read nothing. */
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  tu_expect(
      db, "0\n",
      "SELECT count(*) FROM events WHERE path IN "
      "('/news/../news/2015/1/2/a.md', "
      "'//news/2015/1/2/a.md', '/news/2015/1/2/./a.md', 'news/2015/1/2/a.md', "
      "'/.git/x.md', '/news/2015/1/2/index.md', "
      "'/news/2015/01/03/.hidden.md')");
  tu_expect(db, "0\n", "SELECT json_extract(eventmd_stats(), '$.files_read')");
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* ------------------------------------------------------------------------
** The cache: a join parses each file once; a repeated query not at all.
*/
static void test_cache_one_parse(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive();
  (void)state;
  tu_exec(db, "SELECT eventmd_attach('%q')", d);
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  tu_expect(
      db, "3\n",
      "SELECT count(*) FROM events e JOIN sources s ON s.event_path = e.path "
      "LEFT JOIN related r ON r.event_path = e.path");
  tu_expect(db, "2\n",
            "SELECT json_extract(eventmd_stats(), '$.files_parsed')");
  tu_expect(db, "2\n",
            "SELECT count(*) FROM events WHERE title LIKE 'Event%%'");
  tu_expect(db, "2\n",
            "SELECT json_extract(eventmd_stats(), '$.files_parsed')");
  /* With the cache off every statement parses again. */
  tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)");
  tu_expect(db, "2\n",
            "SELECT count(*) FROM events WHERE title LIKE 'Event%%'");
  tu_expect(db, "4\n",
            "SELECT json_extract(eventmd_stats(), '$.files_parsed')");
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* Symbolic links: not followed by default (a row says so); with
** follow_symlinks=1 followed inside the root, never outside it, and a loop
** ends with a row saying so. */
static void test_symlinks(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive(), *out = tu_tmpdir(), p[4096], t[4096];
  (void)state;
  tu_writes(out, "secret.md", "# Secret outside the root\n");
  tu_writes(out, "dir/also.md", "# Also outside\n");
  snprintf(p, sizeof(p), "%s/links/in.md", d);
  tu_mkdirs(d, "links/in.md");
  assert_int_equal(symlink("../news/2015/1/2/a.md", p), 0);
  snprintf(p, sizeof(p), "%s/links/out.md", d);
  snprintf(t, sizeof(t), "%s/secret.md", out);
  assert_int_equal(symlink(t, p), 0);
  snprintf(p, sizeof(p), "%s/links/outdir", d);
  snprintf(t, sizeof(t), "%s/dir", out);
  assert_int_equal(symlink(t, p), 0);
  snprintf(p, sizeof(p), "%s/links/loop", d);
  assert_int_equal(symlink("..", p), 0);
  /* Not followed: the .md links are rows with a problem, nothing is read
  ** through them, folders behind links are not entered. */
  tu_exec(db, "CREATE VIRTUAL TABLE temp.plain USING eventmd_events(root='%q')",
          d);
  tu_expect(db,
            "/links/in.md|~|symbolic link not followed\n"
            "/links/out.md|~|symbolic link not followed\n",
            "SELECT path, title, problem FROM plain WHERE path GLOB '/links/*' "
            "ORDER BY path");
  tu_expect(db, "~\n", "SELECT title FROM plain WHERE path = '/links/out.md'");
  /* Followed: inside the root it is read; outside, a row says so and
  ** nothing is read; the loop back to the root ends with a row. */
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.follow USING eventmd_events(root='%q', "
          "follow_symlinks=1)",
          d);
  tu_expect(db,
            "/links/in.md|Event A|~\n"
            "/links/loop/|~|symbolic link loop\n"
            "/links/out.md|~|symbolic link leads outside the root\n"
            "/links/outdir/|~|symbolic link leads outside the root\n",
            "SELECT path, title, problem FROM follow WHERE path GLOB "
            "'/links/*' ORDER BY path");
  tu_expect(db, "~|symbolic link leads outside the root\n",
            "SELECT title, problem FROM follow WHERE path = '/links/out.md'");
  tu_expect(db, "0\n",
            "SELECT count(*) FROM follow WHERE title LIKE '%%outside%%'");
  tu_rmrf(d);
  tu_rmrf(out);
  free(d);
  free(out);
  sqlite3_close(db);
}

/* File names with spaces, quotes, %, tabs and other scripts work both
** ways: listed, and found by path = . */
static void test_odd_names(void **state) {
  sqlite3 *db = tu_open();
  char *d = tu_tmpdir();
  static const char *names[] = {
      "news/2015/1/2/with space.md",  "news/2015/1/2/it's \"quoted\".md",
      "news/2015/1/2/100% sure.md",   "news/2015/1/2/tab\there.md",
      "news/2015/1/2/Москва-каир.md", "news/2015/1/2/東京.md",
      "news/2015/1/2/القاهرة.md",     "news/2015/1/2/ελληνικά.md"};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char text[300];
    snprintf(text, sizeof(text), "# Title %zu\n", i);
    tu_writes(d, names[i], text);
  }
  tu_exec(db, "SELECT eventmd_attach('%q')", d);
  tu_expect(db, "8\n", "SELECT count(*) FROM events WHERE problem IS NULL");
  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    char want[300];
    snprintf(want, sizeof(want), "Title %zu|2015-01-02\n", i);
    tu_expect(db, want, "SELECT title, date FROM events WHERE path = '/%q'",
              names[i]);
  }
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* A failed eventmd_attach() leaves the tables it would have replaced. */
static void test_attach_all_or_nothing(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive();
  (void)state;
  tu_exec(db, "SELECT eventmd_attach('%q')", d);
  tu_expect(
      db,
      "ERROR: eventmd: root '/no/such/root' is not a readable directory (No "
      "such file or directory)",
      "SELECT eventmd_attach('/no/such/root')");
  tu_expect(db, "changes\nevents\nrelated\nsources\n",
            "SELECT name FROM sqlite_temp_master ORDER BY 1");
  tu_expect(db, "2\n", "SELECT count(*) FROM events");
  tu_exec(db, "SELECT eventmd_attach('%q', 'b_')", d);
  tu_expect(db, "3\n", "SELECT count(*) FROM b_sources");
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* Constraint values holding a NUL byte compare beyond it: no pruning may
** drop rows SQLite would keep; a root with a NUL byte is an error. */
static void test_nul_in_constraints(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive();
  (void)state;
  tu_exec(db, "SELECT eventmd_attach('%q')", d);
  tu_expect(
      db, "1|1\n",
      "SELECT (SELECT count(*) FROM events WHERE date < "
      "'2015-01-02'||char(0)), "
      "(SELECT count(*) FROM events WHERE +date < '2015-01-02'||char(0))");
  tu_expect(db, "0\n",
            "SELECT count(*) FROM events WHERE path = "
            "'/news/2015/1/2/a.md'||char(0)");
  tu_expect(db,
            "ERROR: eventmd: root must be a folder path (it holds a NUL byte)",
            "SELECT count(*) FROM eventmd_events('%q'||char(0)||'zzz')", d);
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

/* Rowids fit in 53 bits: JavaScript and BI tools keep them exactly. */
static void test_rowids_53_bits(void **state) {
  sqlite3 *db = tu_open();
  (void)state;
  tu_expect(
      db, "1|1\n",
      "SELECT max(rowid) < 9007199254740992, count(*) = count(DISTINCT rowid) "
      "FROM eventmd_sources('tests/sample')");
  tu_expect(db, "1\n",
            "SELECT max(rowid) < 9007199254740992 FROM "
            "eventmd_events('tests/sample')");
  sqlite3_close(db);
}

/* ------------------------------------------------------------------------
** DIRECTONLY: not from views or triggers stored in a database file.
*/
static void test_directonly(void **state) {
  sqlite3 *db = tu_open();
  char *d = small_archive();
  int ts;
  (void)state;
  for (ts = 0; ts <= 1; ts++) {
    tu_exec(db, "PRAGMA trusted_schema=%d", ts);
    tu_exec(db, "DROP VIEW IF EXISTS main.v");
    tu_exec(db, "CREATE VIEW main.v AS SELECT path FROM eventmd_events('%q')",
            d);
    tu_expect(db, "ERROR: unsafe use of virtual table \"eventmd_events\"",
              "SELECT * FROM v");
  }
  tu_exec(db, "CREATE TEMP VIEW tv AS SELECT path FROM eventmd_events('%q')",
          d);
  tu_expect(db, "2\n", "SELECT count(*) FROM tv");
  tu_rmrf(d);
  free(d);
  sqlite3_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registered),
      cmocka_unit_test(test_argument_errors),
      cmocka_unit_test(test_both_forms),
      cmocka_unit_test(test_seed_rows),
      cmocka_unit_test(test_live),
      cmocka_unit_test(test_live_old_folders),
      cmocka_unit_test(test_problem_rows),
      cmocka_unit_test(test_rowids),
      cmocka_unit_test(test_pushdown_plans),
      cmocka_unit_test(test_cache_one_parse),
      cmocka_unit_test(test_directonly),
      cmocka_unit_test(test_attach_all_or_nothing),
      cmocka_unit_test(test_symlinks),
      cmocka_unit_test(test_odd_names),
      cmocka_unit_test(test_nul_in_constraints),
      cmocka_unit_test(test_rowids_53_bits),
  };
  return cmocka_run_group_tests_name("sql", tests, NULL, NULL);
}
