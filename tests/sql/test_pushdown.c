/* SPDX-License-Identifier: MIT */
/*
** test_pushdown.c - constraint pushdown and ORDER BY never change rows.
**
** (Defeated joins name their order with CROSS JOIN: left to itself,
** SQLite may nest a full scan inside a full scan inside a full scan.)
**
** Each query runs twice on a generated corpus: as written (constraints
** pushed into eventmd) and with pushdown defeated (`+date`, `+path`: SQLite
** then scans everything and filters or sorts itself).  The rows must be the
** same, in the same order where the query orders them.  Then eventmd_stats()
** shows that the pushdown really narrowed the work.
**
**   EVENTMD_CORPUS=build/corpus-2400 build/test_pushdown
*/
#include <regex.h>
#include <time.h>

#include "testutil.h"

static sqlite3 *db;
static char *root;

/* Pick real values from the corpus for the queries. */
static char *one(const char *sql) {
  char *r = tu_query(db, "%s", sql);
  size_t n = strlen(r);
  if (n && r[n - 1] == '\n') r[n - 1] = 0;
  if (!*r || !strncmp(r, "ERROR", 5)) fail_msg("%s gave '%s'", sql, r);
  return r;
}

static int setup(void **state) {
  const char *d = getenv("EVENTMD_CORPUS");
  (void)state;
  if (!d)
    fail_msg(
        "set EVENTMD_CORPUS to a folder made by tests/corpus/gen_corpus.py");
  root = sqlite3_mprintf("%s/archive", d);
  /* Folder summaries are trusted only for folders unchanged for 2 s: a
  ** corpus generated a moment ago counts as old on a clock run ahead. */
  tu_later(1);
  db = tu_open();
  tu_exec(db, "SELECT eventmd_attach('%q')", root);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  sqlite3_close(db);
  sqlite3_free(root);
  return 0;
}

/* Sort the lines of a rendering (for queries without ORDER BY). */
static int cmp_line(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}
static char *sorted_lines(char *s) {
  char **lines = NULL, *out, *p = s;
  size_t n = 0, i, len = strlen(s), at = 0;
  while (*p) {
    char *nl = strchr(p, '\n');
    if ((n & (n - 1)) == 0) /* 0, 1, 2, 4, ...: full, double it */
      lines = realloc(lines, (n ? 2 * n : 1) * sizeof(char *));
    lines[n++] = p;
    if (!nl) break;
    *nl = 0;
    p = nl + 1;
  }
  if (n > 1) qsort(lines, n, sizeof(char *), cmp_line);
  out = calloc(1, len + 2);
  for (i = 0; i < n; i++) {
    size_t l = strlen(lines[i]);
    memcpy(out + at, lines[i], l);
    out[at + l] = '\n';
    at += l + 1;
  }
  free(lines);
  free(s);
  return out;
}

/* Replace {NAME} tokens in q with values (names[i] -> vals[i]). */
static char *subst(const char *q, const char *const *names,
                   const char *const *vals, int n) {
  char *out = calloc(1, 1);
  size_t len = 0;
  while (*q) {
    int i, hit = 0;
    for (i = 0; i < n && !hit; i++) {
      size_t k = strlen(names[i]);
      if (!strncmp(q, names[i], k)) {
        tu_cat(&out, &len, vals[i], strlen(vals[i]));
        q += k;
        hit = 1;
      }
    }
    if (!hit) tu_cat(&out, &len, q++, 1);
  }
  return out;
}

typedef struct pair {
  const char *name;
  const char *pushed;   /* the query; {D}..{M} are values picked below */
  const char *defeated; /* the same with pushdown defeated */
  int ordered;          /* rows must come in the same order */
} pair;

/* The day with the most events (the first such, by date). */
static char *busiest_day(void) {
  return one(
      "SELECT date FROM events WHERE date IS NOT NULL "
      "GROUP BY date ORDER BY count(*) DESC, date LIMIT 1");
}

static void test_equivalence(void **state) {
  /* Values from the corpus: a day with events, a month, three paths. */
  char *day = busiest_day();
  char *day2 =
      one("SELECT date FROM events WHERE +date IS NOT NULL "
          "ORDER BY +path LIMIT 1 OFFSET 100");
  char *path1 = one("SELECT path FROM events ORDER BY +path LIMIT 1 OFFSET 7");
  char *path2 =
      one("SELECT path FROM events ORDER BY +path LIMIT 1 OFFSET 1500");
  char *path3 =
      one("SELECT path FROM events WHERE +path LIKE '/drafts/%' "
          "ORDER BY +path LIMIT 1");
  char *month =
      one("SELECT substr(date, 1, 7) FROM events WHERE +date IS NOT NULL "
          "ORDER BY +path LIMIT 1 OFFSET 900");
  char *rowx =
      one("SELECT rowid FROM events ORDER BY +rowid LIMIT 1 OFFSET 800");
  char *rowy =
      one("SELECT rowid FROM events ORDER BY +rowid LIMIT 1 OFFSET 1200");
  char *oldv =
      one("SELECT path FROM events WHERE NOT is_current AND +current_path IS "
          "NOT NULL ORDER BY +path LIMIT 1 OFFSET 3");
  static const pair pairs[] = {
      {"path =", "SELECT * FROM events WHERE path = '{P1}'",
       "SELECT * FROM events WHERE +path = '{P1}'", 0},
      {"path = missing", "SELECT * FROM events WHERE path = '{P1}.x.md'",
       "SELECT * FROM events WHERE +path = '{P1}.x.md'", 0},
      {"path IN list",
       "SELECT path, title FROM events WHERE path IN ('{P1}', '{P2}', '{P3}', "
       "'/nope.md')",
       "SELECT path, title FROM events WHERE +path IN ('{P1}', '{P2}', '{P3}', "
       "'/nope.md')",
       0},
      {"path IN subquery",
       "SELECT path, n_sources FROM events WHERE path IN "
       "(SELECT target FROM related WHERE event_path = '{P1}')",
       "SELECT path, n_sources FROM events WHERE +path IN "
       "(SELECT target FROM related WHERE +event_path = '{P1}')",
       0},
      {"path IN, ORDER BY path",
       "SELECT path FROM events WHERE path IN ('{P3}', '{P2}', '{P1}') ORDER "
       "BY path",
       "SELECT path FROM events WHERE +path IN ('{P3}', '{P2}', '{P1}') ORDER "
       "BY +path",
       1},
      {"date =", "SELECT path, date FROM events WHERE date = '{D}'",
       "SELECT path, date FROM events WHERE +date = '{D}'", 0},
      {"date IN",
       "SELECT path FROM events WHERE date IN ('{D}', '{D2}', '1999-01-01')",
       "SELECT path FROM events WHERE +date IN ('{D}', '{D2}', '1999-01-01')",
       0},
      {"date <", "SELECT path FROM events WHERE date < '{D2}'",
       "SELECT path FROM events WHERE +date < '{D2}'", 0},
      {"date <=", "SELECT path FROM events WHERE date <= '{D2}'",
       "SELECT path FROM events WHERE +date <= '{D2}'", 0},
      {"date >", "SELECT path FROM events WHERE date > '{D2}'",
       "SELECT path FROM events WHERE +date > '{D2}'", 0},
      {"date >=", "SELECT path FROM events WHERE date >= '{D2}'",
       "SELECT path FROM events WHERE +date >= '{D2}'", 0},
      {"date BETWEEN month",
       "SELECT path FROM events WHERE date BETWEEN '{M}-01' AND '{M}-31'",
       "SELECT path FROM events WHERE +date BETWEEN '{M}-01' AND '{M}-31'", 0},
      {"date > AND <",
       "SELECT path FROM events WHERE date > '{D}' AND date < '{D2}'",
       "SELECT path FROM events WHERE +date > '{D}' AND +date < '{D2}'", 0},
      {"date = garbage", "SELECT path FROM events WHERE date = 'garbage'",
       "SELECT path FROM events WHERE +date = 'garbage'", 0},
      {"date >= partial string",
       "SELECT path FROM events WHERE date >= '2015' AND date < '2016-0'",
       "SELECT path FROM events WHERE +date >= '2015' AND +date < '2016-0'", 0},
      {"date = integer", "SELECT path FROM events WHERE date = 20150101",
       "SELECT path FROM events WHERE +date = 20150101", 0},
      /* The TEXT column's affinity turns 2015 into '2015'; +date has none,
      ** so the defeated form spells the text out. */
      {"date > integer", "SELECT count(*) FROM events WHERE date > 2015",
       "SELECT count(*) FROM events WHERE +date > '2015'", 0},
      {"date IS NULL", "SELECT path FROM events WHERE date IS NULL",
       "SELECT path FROM events WHERE +date IS NULL", 0},
      {"sources event_path =",
       "SELECT * FROM sources WHERE event_path = '{P1}'",
       "SELECT * FROM sources WHERE +event_path = '{P1}'", 0},
      {"sources event_path IN",
       "SELECT * FROM sources WHERE event_path IN ('{P1}', '{P2}', '{P3}')",
       "SELECT * FROM sources WHERE +event_path IN ('{P1}', '{P2}', '{P3}')",
       0},
      {"related event_path =",
       "SELECT * FROM related WHERE event_path = '{P2}'",
       "SELECT * FROM related WHERE +event_path = '{P2}'", 0},
      {"changes event_path IN subquery",
       "SELECT * FROM changes WHERE event_path IN (SELECT path FROM events "
       "WHERE date = '{D}')",
       "SELECT * FROM changes WHERE +event_path IN (SELECT path FROM events "
       "WHERE +date = '{D}')",
       0},
      {"join events-sources on a day",
       "SELECT e.path, s.ordinal, s.domain FROM events e JOIN sources s "
       "ON s.event_path = e.path WHERE e.date = '{D}'",
       "SELECT e.path, s.ordinal, s.domain FROM events e JOIN sources s "
       "ON +s.event_path = +e.path WHERE +e.date = '{D}'",
       0},
      {"join related target to events",
       "SELECT r.event_path, r.ordinal, e.title FROM related r JOIN events e "
       "ON e.path = r.target WHERE r.event_path IN ('{P1}', '{P2}')",
       "SELECT r.event_path, r.ordinal, e.title FROM related r CROSS JOIN "
       "events e ON +e.path = +r.target WHERE +r.event_path IN ('{P1}', "
       "'{P2}')",
       0},
      {"join changes target to events",
       "SELECT c.event_path, c.ordinal, e.is_current FROM events e0 JOIN "
       "changes c "
       "ON c.event_path = e0.path JOIN events e ON e.path = c.target "
       "WHERE e0.date = '{D}'",
       "SELECT c.event_path, c.ordinal, e.is_current FROM events e0 CROSS "
       "JOIN changes c ON +c.event_path = +e0.path CROSS JOIN events e "
       "ON +e.path = +c.target WHERE +e0.date = '{D}'",
       0},
      {"ORDER BY path", "SELECT path FROM events ORDER BY path",
       "SELECT path FROM events ORDER BY +path", 1},
      {"ORDER BY date, path",
       "SELECT date, path FROM events ORDER BY date, path",
       "SELECT date, path FROM events ORDER BY +date, +path", 1},
      {"ORDER BY date (dates in order)",
       "SELECT date FROM events ORDER BY date",
       "SELECT date FROM events ORDER BY +date", 1},
      {"ORDER BY path LIMIT", "SELECT path FROM events ORDER BY path LIMIT 5",
       "SELECT path FROM events ORDER BY +path LIMIT 5", 1},
      {"ORDER BY date, path LIMIT OFFSET",
       "SELECT date, path FROM events ORDER BY date, path LIMIT 3 OFFSET 10",
       "SELECT date, path FROM events ORDER BY +date, +path LIMIT 3 OFFSET 10",
       1},
      {"date range ORDER BY date, path",
       "SELECT date, path FROM events WHERE date BETWEEN '{D}' AND '{D2}' "
       "ORDER BY date, path",
       "SELECT date, path FROM events WHERE +date BETWEEN '{D}' AND '{D2}' "
       "ORDER BY +date, +path",
       1},
      {"child ORDER BY event_path, ordinal",
       "SELECT event_path, ordinal FROM sources ORDER BY event_path, ordinal",
       "SELECT event_path, ordinal FROM sources ORDER BY +event_path, +ordinal",
       1},
      {"markdown on a day",
       "SELECT path, length(markdown), title FROM events WHERE date = '{D}'",
       "SELECT path, length(markdown), title FROM events WHERE +date = '{D}'",
       0},
      {"group by month from a date",
       "SELECT substr(date, 1, 7), count(*) FROM events WHERE date >= '{D2}' "
       "GROUP BY 1",
       "SELECT substr(date, 1, 7), count(*) FROM events WHERE +date >= '{D2}' "
       "GROUP BY 1",
       0},
      {"rowid by path", "SELECT rowid FROM events WHERE path = '{P2}'",
       "SELECT rowid FROM events WHERE +path = '{P2}'", 0},
      /* Versions (SPEC "Versions") hold under every plan. */
      {"versions: every column of every file, ORDER BY path",
       "SELECT * FROM events ORDER BY path",
       "SELECT * FROM events ORDER BY +path", 1},
      {"versions: ORDER BY date, path",
       "SELECT date, path, is_current, current_path, topic FROM events "
       "ORDER BY date, path",
       "SELECT date, path, is_current, current_path, topic FROM events "
       "ORDER BY +date, +path",
       1},
      {"versions: path = an old version",
       "SELECT path, is_current, current_path, topic FROM events "
       "WHERE path = '{V}'",
       "SELECT path, is_current, current_path, topic FROM events "
       "WHERE +path = '{V}'",
       0},
      {"versions: path IN",
       "SELECT path, is_current, current_path FROM events "
       "WHERE path IN ('{V}', '{P1}', '{P2}', '{P3}')",
       "SELECT path, is_current, current_path FROM events "
       "WHERE +path IN ('{V}', '{P1}', '{P2}', '{P3}')",
       0},
      {"versions: the newest version of each event on a day",
       "SELECT path, title, topic FROM events WHERE date = '{D}' AND "
       "is_current",
       "SELECT path, title, topic FROM events WHERE +date = '{D}' AND "
       "is_current",
       0},
      {"versions: a date range",
       "SELECT path, is_current, current_path FROM events "
       "WHERE date BETWEEN '{D}' AND '{D2}'",
       "SELECT path, is_current, current_path FROM events "
       "WHERE +date BETWEEN '{D}' AND '{D2}'",
       0},
      {"versions: date IN",
       "SELECT path, is_current, current_path FROM events "
       "WHERE date IN ('{D}', '{D2}')",
       "SELECT path, is_current, current_path FROM events "
       "WHERE +date IN ('{D}', '{D2}')",
       0},
      {"versions: LIMIT",
       "SELECT path, is_current, current_path FROM events ORDER BY path "
       "LIMIT 7 OFFSET 3",
       "SELECT path, is_current, current_path FROM events ORDER BY +path "
       "LIMIT 7 OFFSET 3",
       1},
      {"versions: old versions joined to their newest",
       "SELECT o.path, n.path, n.is_current FROM events o JOIN events n "
       "ON n.path = o.current_path WHERE o.date = '{D}' AND NOT o.is_current",
       "SELECT o.path, n.path, n.is_current FROM events o CROSS JOIN events n "
       "ON +n.path = +o.current_path WHERE +o.date = '{D}' AND NOT "
       "o.is_current",
       0},
      /* Rowid order and rowid bounds (what browsing UIs send). */
      {"ORDER BY rowid", "SELECT rowid, path FROM events ORDER BY rowid",
       "SELECT rowid, path FROM events ORDER BY +rowid", 1},
      {"browse: first page",
       "SELECT rowid, * FROM events ORDER BY rowid LIMIT 101",
       "SELECT rowid, * FROM events ORDER BY +rowid LIMIT 101", 1},
      {"browse: next page",
       "SELECT rowid, * FROM events WHERE rowid > {X} ORDER BY rowid LIMIT 101",
       "SELECT rowid, * FROM events WHERE +rowid > {X} ORDER BY +rowid LIMIT "
       "101",
       1},
      {"rowid =", "SELECT rowid, path FROM events WHERE rowid = {X}",
       "SELECT rowid, path FROM events WHERE +rowid = {X}", 0},
      {"rowid range",
       "SELECT rowid, path FROM events WHERE rowid >= {X} AND rowid < {Y}",
       "SELECT rowid, path FROM events WHERE +rowid >= {X} AND +rowid < {Y}",
       0},
      {"rowid <", "SELECT rowid FROM events WHERE rowid < {X}",
       "SELECT rowid FROM events WHERE +rowid < {X}", 0},
      {"rowid and date",
       "SELECT rowid, path FROM events WHERE rowid > {X} AND date < '{D2}'",
       "SELECT rowid, path FROM events WHERE +rowid > {X} AND +date < '{D2}'",
       0},
      {"rowid >= X <= X (one row)",
       "SELECT rowid, path FROM events WHERE rowid >= {X} AND rowid <= {X}",
       "SELECT rowid, path FROM events WHERE +rowid >= {X} AND +rowid <= {X}",
       0},
      {"rowid > X - 1 < X + 1",
       "SELECT rowid, path FROM events WHERE rowid > {X} - 1 AND rowid < {X} + "
       "1",
       "SELECT rowid, path FROM events WHERE +rowid > {X} - 1 AND +rowid < {X} "
       "+ 1",
       0},
      {"rowid bounds at the ends",
       "SELECT count(*) FROM events WHERE rowid > -1 AND rowid <= "
       "9223372036854775807",
       "SELECT count(*) FROM events WHERE +rowid > -1 AND +rowid <= "
       "9223372036854775807",
       0},
      {"rowid > the largest",
       "SELECT count(*) FROM events WHERE rowid > "
       "9223372036854775807",
       "SELECT count(*) FROM events WHERE +rowid > 9223372036854775807", 0},
      {"rowid < 0", "SELECT count(*) FROM events WHERE rowid < 0",
       "SELECT count(*) FROM events WHERE +rowid < 0", 0},
      {"rowid = not an integer", "SELECT rowid FROM events WHERE rowid = 'x'",
       "SELECT rowid FROM events WHERE +rowid = 'x'", 0},
      {"table-valued root",
       "SELECT count(*) FROM eventmd_events('{R}') WHERE date = '{D}'",
       "SELECT count(*) FROM eventmd_events('{R}') WHERE +date = '{D}'", 0},
  };
  size_t i, bad = 0;
  (void)state;
  assert_true(sizeof(pairs) / sizeof(pairs[0]) >= 30);
  for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    static const char *const names[] = {"{D2}", "{D}", "{P1}", "{P2}", "{P3}",
                                        "{M}",  "{R}", "{V}",  "{X}",  "{Y}"};
    const char *vals[] = {day2,  day,  path1, path2, path3,
                          month, root, oldv,  rowx,  rowy};
    char *q1 = subst(pairs[i].pushed, names, vals, 10);
    char *q2 = subst(pairs[i].defeated, names, vals, 10);
    struct timespec t0, t1;
    char *a, *b;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    a = tu_query(db, "%s", q1);
    b = tu_query(db, "%s", q2);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (t1.tv_sec - t0.tv_sec >= 2)
      print_message("  slow pair '%s': %ld s\n", pairs[i].name,
                    (long)(t1.tv_sec - t0.tv_sec));
    if (!pairs[i].ordered) {
      a = sorted_lines(a);
      b = sorted_lines(b);
    }
    if (strcmp(a, b) != 0 || !strncmp(a, "ERROR", 5)) {
      print_error(
          "'%s' differs:\n  pushed:   %s\n  defeated: %s\n  %.300s\n  %.300s\n",
          pairs[i].name, q1, q2, a, b);
      bad++;
    }
    free(q1);
    free(q2);
    free(a);
    free(b);
  }
  free(day);
  free(day2);
  free(path1);
  free(path2);
  free(path3);
  free(month);
  free(oldv);
  free(rowx);
  free(rowy);
  assert_int_equal(bad, 0);
}

/* Folders a date query must still open: every folder outside the date
** tree (/news/YYYY/M/D), hidden ones excepted. */
static const char *count_root;
static int outside_folders;
static int count_folder(const char *p, const struct stat *st, int flag,
                        struct FTW *ftw) {
  static regex_t re;
  static int compiled;
  const char *rel = p + strlen(count_root);
  (void)st;
  (void)ftw;
  if (flag != FTW_D) return 0;
  if (strstr(rel, "/.")) return 0;
  if (!compiled) {
    regcomp(&re, "^/news/[0-9]{4}(/[0-9]{1,2}(/[0-9]{1,2})?)?$",
            REG_EXTENDED | REG_NOSUB);
    compiled = 1;
  }
  if (regexec(&re, rel, 0, NULL, 0) != 0) outside_folders++;
  return 0;
}

#define STAT(key) TU_STAT(db, key)

/* The pushdown narrows the work, as eventmd_stats() shows. */
static void test_pruning_stats(void **state) {
  char *day = busiest_day();
  char *month =
      one("SELECT substr(date, 1, 7) FROM events WHERE +date IS NOT NULL "
          "ORDER BY +path LIMIT 1 OFFSET 900");
  sqlite3_int64 nday, outside, nmonth;
  (void)state;
  /* Files outside day folders have to be read for their dates. */
  outside =
      tu_int(db, "SELECT count(*) FROM events WHERE path NOT GLOB '/news/*'");
  tu_exec(db, "SELECT count(*) FROM events"); /* folder summaries known */
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  nday = tu_int(db, "SELECT count(*) FROM events WHERE date = '%q'", day);
  assert_true(nday > 0);
  /* Opened: one year, one month, one day, and the folders outside the date
  ** tree (the root and news among them); everything else pruned unopened. */
  count_root = root;
  outside_folders = 0;
  nftw(root, count_folder, 16, FTW_PHYS);
  assert_true(outside_folders >= 2);
  assert_true(STAT("folders_opened") <= 3 + outside_folders);
  assert_true(STAT("folders_pruned") > 10);
  assert_true(STAT("files_stated") <= nday + outside);
  /* A path lookup reads one file and lists no folder. */
  {
    char *p = one("SELECT path FROM events ORDER BY +path LIMIT 1 OFFSET 42");
    tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)");
    tu_exec(db, "SELECT eventmd_config('reset_stats')");
    tu_exec(db, "SELECT title FROM events WHERE path = '%q'", p);
    assert_int_equal(STAT("files_read"), 1);
    assert_int_equal(STAT("folders_opened"), 0);
    free(p);
  }
  /* The month joined to its sources parses each file exactly once (the
  ** files outside day folders are parsed for their dates). */
  tu_exec(db, "SELECT eventmd_config('cache_bytes', 268435456)");
  nmonth = tu_int(db,
                  "SELECT count(*) FROM events WHERE date BETWEEN '%q-01' "
                  "AND '%q-31' AND +path GLOB '/news/*'",
                  month, month);
  tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)"); /* empty it */
  tu_exec(db, "SELECT eventmd_config('cache_bytes', 268435456)");
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  tu_exec(
      db,
      "SELECT count(*) FROM events e JOIN sources s ON s.event_path = e.path "
      "WHERE e.date BETWEEN '%q-01' AND '%q-31' AND e.title IS NOT NULL",
      month, month);
  assert_true(nmonth > 0);
  assert_int_equal(STAT("files_parsed"), nmonth + outside);
  free(day);
  free(month);
}

/* Browsing: count(*) opens no file and stats none; a page by rowid reads
** only the files of the days it shows (and their folders' versions). */
static void test_browsing_stats(void **state) {
  sqlite3_int64 total, n, last;
  char *p;
  (void)state;
  total = tu_int(db, "SELECT count(*) FROM events WHERE +path IS NOT NULL");
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  assert_int_equal(tu_int(db, "SELECT count(*) FROM events"), total);
  assert_int_equal(STAT("files_read"), 0);
  assert_int_equal(STAT("files_stated"), 0);
  /* Page through the whole table, 101 rows at a time, like a browser. */
  last = -1;
  n = 0;
  for (;;) {
    sqlite3_int64 k = tu_int(
        db,
        "SELECT count(*) FROM (SELECT rowid FROM events WHERE rowid > %lld "
        "ORDER BY rowid LIMIT 101)",
        (long long)last);
    if (k == 0) break;
    n += k;
    last = tu_int(db,
                  "SELECT max(rowid) FROM (SELECT rowid FROM events WHERE "
                  "rowid > %lld ORDER BY rowid LIMIT 101)",
                  (long long)last);
  }
  assert_int_equal(n, total);
  /* A page in the middle, cold: it parses few files. */
  p = one("SELECT rowid FROM events ORDER BY +rowid LIMIT 1 OFFSET 1000");
  tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)");
  tu_exec(db, "SELECT eventmd_config('cache_bytes', 268435456)");
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  tu_exec(db,
          "SELECT rowid, * FROM events WHERE rowid > %s ORDER BY rowid "
          "LIMIT 101",
          p);
  assert_true(STAT("files_parsed") < total / 4);
  free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_equivalence),
      cmocka_unit_test(test_pruning_stats),
      cmocka_unit_test(test_browsing_stats),
  };
  return cmocka_run_group_tests_name("pushdown", tests, setup, teardown);
}
