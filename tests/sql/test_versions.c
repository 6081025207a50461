/* SPDX-License-Identifier: MIT */
/*
** test_versions.c - SPEC §2 "Versions" through SQL: which files of a day
** folder are current, where each one's newest version is, topics from the
** day page, and links with the site-language prefix, under every plan.
**
** The archive (written by make_archive()):
**
**   news/2018/03/2/   README.md links a4, b3, c1, c2 and (as /zh/news/…) s1
**     a1 a2 a3 a4     a 4-version chain: a1 has no Changes list, a2 names
**                     itself current, a3 has none, a4 lists all four
**     b1 b2 b3        b1 is listed by both b2 and b3; b3 lists the most
**     o1              an orphan: no Changes list, listed by nobody
**     c1 c2           a cycle: c1 lists c2 as older, c2 lists c1
**     s1              linked from the README with the /zh/ prefix
**   news/2018/03/3/   no day page: x1 listed by x2 (current); y1 alone
**   news/2018/03/4/   z names /news/2018/03/5/z2.md current (elsewhere)
**   news/2018/03/5/   an older index.md that links every file; README.md
**                     beside it links only p2: README.md wins
*/
#include "testutil.h"

#define D2 "/news/2018/03/2/"
#define D3 "/news/2018/03/3/"
#define D4 "/news/2018/03/4/"
#define D5 "/news/2018/03/5/"

/* An event file: the date heading, an optional topic, the title, and a
** Changes list given as markdown lines (or NULL). */
static void event(const char *root, const char *path, const char *topic,
                  const char *title, const char *changes) {
  char *md = sqlite3_mprintf(
      "### [2018-03-2](/news/2018/03/2/index.md)\n%s%s%s# %s\n\nSummary.\n\n"
      "### Source:\n\n1. [A](http://a.com/%s)\n\n%s%s",
      topic ? "##### " : "", topic ? topic : "", topic ? "\n" : "", title,
      title, changes ? "### Changes:\n\n" : "", changes ? changes : "");
  tu_writes(root, path + 1, md);
  sqlite3_free(md);
}

#define CUR "_(Current version)_\n"
#define OLD "_2017-08-25 03:40:01 (First version)_\n"
#define UPD "_2017-08-27 03:40:19 (Update)_\n"

static char *make_archive(void) {
  char *root = tu_tmpdir();
  event(root, D2 "a1.md", NULL, "A one", NULL);
  event(root, D2 "a2.md", NULL, "A two",
        "1. [A one](" D2 "a1.md) " OLD "2. [A two](" D2 "a2.md) " CUR);
  event(root, D2 "a3.md", NULL, "A three", NULL);
  event(root, D2 "a4.md", NULL, "A four",
        "1. [A one](" D2 "a1.md) " OLD "2. [A two](" D2 "a2.md) " UPD
        "3. [A three](" D2 "a3.md) " UPD "4. [A four](" D2 "a4.md) " CUR);
  event(root, D2 "b1.md", NULL, "B one", NULL);
  event(root, D2 "b2.md", NULL, "B two",
        "1. [B one](" D2 "b1.md) " OLD "2. [B two](" D2 "b2.md) " CUR);
  event(root, D2 "b3.md", "Own topic", "B three",
        "1. [B one](" D2 "b1.md) " OLD "2. [B two](" D2 "b2.md) " UPD
        "3. [B three](" D2 "b3.md) " CUR);
  event(root, D2 "o1.md", NULL, "Orphan", NULL);
  event(root, D2 "c1.md", NULL, "C one",
        "1. [C two](" D2 "c2.md) " UPD "2. [C one](" D2 "c1.md) " CUR);
  event(root, D2 "c2.md", NULL, "C two",
        "1. [C one](" D2 "c1.md) " UPD "2. [C two](" D2 "c2.md) " CUR);
  event(root, D2 "s1.md", NULL, "S one", NULL);
  tu_writes(root, "news/2018/03/2/README.md",
            "Formats: [HTML](2018/03/2/index.html)\n"
            "## [2018-03-2](/news/2018/03/2/index.md)\n"
            "##### Story A\n### [A four](" D2
            "a4.md)\n_Context: X_\n"
            "##### Story B\n### [B three](" D2
            "b3.md)\n"
            "### [C one](" D2 "c1.md)\n### [C two](" D2
            "c2.md)\n"
            "##### Story S\n### [S one](/zh" D2
            "s1.md)\n"
            "## [Previous Day...](/news/2018/03/1/index.md)\n");
  tu_writes(root, "news/2018/03/2/index.md",
            "### 2018-03-02\n\n1. [o](" D2 "o1.md)\n");
  event(root, D3 "x1.md", NULL, "X one", NULL);
  event(root, D3 "x2.md", NULL, "X two",
        "1. [X one](" D3 "x1.md) " OLD "2. [X two](" D3 "x2.md) " CUR);
  event(root, D3 "y1.md", NULL, "Y one", NULL);
  event(root, D4 "z.md", NULL, "Z", "1. [Z](/zh/news/2018/03/5/z2.md) " CUR);
  event(root, D5 "p1.md", NULL, "P one", NULL);
  event(root, D5 "p2.md", NULL, "P two", NULL);
  tu_writes(root, "news/2018/03/5/index.md",
            "### 2018-03-05\n\n1. [P one](" D5 "p1.md)\n2. [P two](" D5
            "p2.md)\n");
  tu_writes(root, "news/2018/03/5/README.md",
            "## [2018-03-5](/news/2018/03/5/index.md)\n### [P two](" D5
            "p2.md)\n");
  tu_writes(root, "README.md", "# The archive\n");
  tu_writes(root, "opinion/a/README.md", "# A page\n");
  return root;
}

/* path|is_current|current_path|topic of every file, by path. */
static const char want_all[] = D2
    "a1.md|0|" D2 "a4.md|~\n" D2 "a2.md|0|" D2 "a4.md|~\n" D2 "a3.md|0|" D2
    "a4.md|~\n" D2 "a4.md|1|" D2 "a4.md|Story A\n" D2 "b1.md|0|" D2
    "b3.md|~\n" D2 "b2.md|0|" D2 "b3.md|~\n" D2 "b3.md|1|" D2
    "b3.md|Own topic\n" D2 "c1.md|0|" D2 "c2.md|Story B\n" D2 "c2.md|0|" D2
    "c1.md|Story B\n" D2 "o1.md|0|~|~\n" D2 "s1.md|1|" D2 "s1.md|Story S\n" D3
    "x1.md|0|" D3 "x2.md|~\n" D3 "x2.md|1|" D3 "x2.md|~\n" D3 "y1.md|1|" D3
    "y1.md|~\n" D4 "z.md|0|/news/2018/03/5/z2.md|~\n" D5 "p1.md|0|~|~\n" D5
    "p2.md|1|" D5 "p2.md|~\n";

#define COLS "path, is_current, current_path, topic"

static void test_versions_full_scan(void **state) {
  char *root = make_archive();
  sqlite3 *db = tu_open();
  (void)state;
  tu_expect(db, want_all,
            "SELECT " COLS
            " FROM eventmd_events('%q') "
            "ORDER BY path",
            root);
  /* Day pages are not events, here or anywhere. */
  assert_int_equal(tu_int(db,
                          "SELECT count(*) FROM eventmd_events('%q') WHERE "
                          "path LIKE '%%README.md' OR path LIKE '%%index.md'",
                          root),
                   0);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* Every plan shape gives the same rows. */
static void test_versions_every_plan(void **state) {
  static const char *const where[] = {
      "",
      "WHERE date = '2018-03-02' OR date = '2018-03-03' OR date = "
      "'2018-03-04' OR date = '2018-03-05'",
      "WHERE date BETWEEN '2018-03-01' AND '2018-03-31'",
      "WHERE date IN ('2018-03-02', '2018-03-03', '2018-03-04', "
      "'2018-03-05')",
      "WHERE date >= '2018-03-02'",
  };
  char *root = make_archive();
  sqlite3 *db = tu_open();
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
    tu_expect(db, want_all,
              "SELECT " COLS " FROM eventmd_events('%q') %s ORDER BY path",
              root, where[i]);
    tu_expect(db, want_all,
              "SELECT * FROM (SELECT " COLS
              " FROM eventmd_events('%q') %s "
              "ORDER BY date, path) ORDER BY path",
              root, where[i]);
  }
  /* Lookups of single files, one at a time and as a list. */
  tu_expect(db, D2 "a2.md|0|" D2 "a4.md|~\n",
            "SELECT " COLS " FROM eventmd_events('%q') WHERE path = '" D2
            "a2.md'",
            root);
  tu_expect(db, D2 "o1.md|0|~|~\n",
            "SELECT " COLS " FROM eventmd_events('%q') WHERE path = '" D2
            "o1.md'",
            root);
  tu_expect(db,
            D2 "b1.md|0|" D2 "b3.md|~\n" D2 "c2.md|0|" D2 "c1.md|Story B\n" D3
               "x1.md|0|" D3 "x2.md|~\n",
            "SELECT " COLS " FROM eventmd_events('%q') WHERE path IN ('" D3
            "x1.md', '" D2 "c2.md', '" D2 "b1.md') ORDER BY path",
            root);
  /* LIMIT, and a join through current_path. */
  tu_expect(db, D2 "a1.md|0|" D2 "a4.md|~\n",
            "SELECT " COLS " FROM eventmd_events('%q') LIMIT 1", root);
  tu_expect(db, "A one|A four\n",
            "SELECT o.title, n.title FROM eventmd_events('%q') o "
            "JOIN eventmd_events('%q') n ON n.path = o.current_path "
            "WHERE o.path = '" D2 "a1.md'",
            root, root);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* A lookup of one old version reads its folder, not the archive. */
static void test_versions_lookup_reads_one_folder(void **state) {
  char *root = make_archive();
  sqlite3 *db = tu_open();
  (void)state;
  tu_exec(db, "SELECT eventmd_config('reset_stats')");
  tu_expect(db, "0\n",
            "SELECT is_current FROM eventmd_events('%q') WHERE path = '" D3
            "x1.md'",
            root);
  /* The file itself, then its three siblings (x1 again among them). */
  assert_int_equal(
      tu_int(db, "SELECT json_extract(eventmd_stats(), '$.files_parsed')"), 3);
  assert_int_equal(
      tu_int(db, "SELECT json_extract(eventmd_stats(), '$.folders_opened')"),
      1);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* A new version flips its predecessor on the next statement. */
static void test_versions_live(void **state) {
  char *root = make_archive();
  sqlite3 *db = tu_open();
  (void)state;
  tu_expect(db, D3 "x2.md|1|" D3 "x2.md|~\n",
            "SELECT " COLS " FROM eventmd_events('%q') WHERE path = '" D3
            "x2.md'",
            root);
  event(root, D3 "x3.md", NULL, "X three",
        "1. [X one](" D3 "x1.md) " OLD "2. [X two](" D3 "x2.md) " UPD
        "3. [X three](" D3 "x3.md) " CUR);
  tu_expect(db,
            D3 "x1.md|0|" D3 "x3.md|~\n" D3 "x2.md|0|" D3 "x3.md|~\n" D3
               "x3.md|1|" D3 "x3.md|~\n",
            "SELECT " COLS " FROM eventmd_events('%q') WHERE path LIKE '" D3
            "x%%' ORDER BY path",
            root);
  tu_expect(db, D3 "x2.md|0|" D3 "x3.md|~\n",
            "SELECT " COLS " FROM eventmd_events('%q') WHERE path = '" D3
            "x2.md'",
            root);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

/* What one statement learnt of a folder's versions serves the next while
** the folder is unchanged, and no longer: with the watch and without it,
** in a day folder (lookup by path) and outside day folders (rowid order,
** as a browser pages). */
static void test_versions_kept_between_statements(void **state) {
  int watch;
  (void)state;
  for (watch = 1; watch >= 0; watch--) {
    char *root = make_archive();
    sqlite3 *db = tu_open();
    const char *q =
        "SELECT " COLS " FROM eventmd_events('%q') WHERE path = '" D3 "x1.md'";
    const char *qd =
        "SELECT path, is_current FROM eventmd_events('%q') "
        "WHERE rowid >= 0 AND path LIKE '/drafts/d1.md'";
    tu_exec(db, "SELECT eventmd_config('watch', %d)", watch);
    tu_later(1); /* the files count as settled: the watch may vouch */
    tu_expect(db, D3 "x1.md|0|" D3 "x2.md|~\n", q, root);
    tu_exec(db, "SELECT eventmd_config('reset_stats')");
    tu_expect(db, D3 "x1.md|0|" D3 "x2.md|~\n", q, root);
    /* Watched: the folder is not listed again, nor its files parsed. */
    assert_int_equal(
        tu_int(db, "SELECT json_extract(eventmd_stats(), '$.folders_opened')"),
        watch ? 0 : 1);
    assert_int_equal(
        tu_int(db, "SELECT json_extract(eventmd_stats(), '$.files_parsed')"),
        0);
    /* x2 rewritten without its Changes list: x1 stands alone again. */
    event(root, D3 "x2.md", NULL, "X two", NULL);
    tu_expect(db, D3 "x1.md|1|" D3 "x1.md|~\n", q, root);
    event(root, "/drafts/d1.md", NULL, "D one", NULL);
    event(root, "/drafts/d2.md", NULL, "D two",
          "1. [D one](/drafts/d1.md) " OLD "2. [D two](/drafts/d2.md) " CUR);
    tu_expect(db, "/drafts/d1.md|0\n", qd, root);
    tu_expect(db, "/drafts/d1.md|0\n", qd, root);
    event(root, "/drafts/d2.md", NULL, "D two", NULL);
    tu_expect(db, "/drafts/d1.md|1\n", qd, root);
    tu_later(0);
    /* Just written: the folder's versions are worked out again for every
    ** statement (the watch cannot vouch for files that new). */
    event(root, D3 "x2.md", NULL, "X two",
          "1. [X one](" D3 "x1.md) " OLD "2. [X two](" D3 "x2.md) " CUR);
    tu_expect(db, D3 "x1.md|0|" D3 "x2.md|~\n", q, root);
    tu_exec(db, "SELECT eventmd_config('reset_stats')");
    tu_expect(db, D3 "x1.md|0|" D3 "x2.md|~\n", q, root);
    assert_int_equal(
        tu_int(db, "SELECT json_extract(eventmd_stats(), '$.folders_opened')"),
        1);
    tu_exec(db, "SELECT eventmd_config('watch', 1)");
    sqlite3_close(db);
    tu_rmrf(root);
    free(root);
  }
}

/* "/zh/news/…" links lose "/zh" unless the root has a folder zh. */
static void test_language_prefix(void **state) {
  char *root = tu_tmpdir();
  sqlite3 *db = tu_open();
  (void)state;
  tu_writes(root, "news/2019/03/3/x.md",
            "### [2019-03-3](/zh/news/2019/03/3/index.md)\n# T\n\n"
            "### 有关:\n\n1. [r](/zh/news/2019/03/1/r.md) _消息: 北京_\n"
            "2. [q](/zz/news/2019/03/1/q.md)\n3. [p](/ZH/news/2019/3/1/p.md)\n"
            "4. [o](/zh/other/o.md)\n\n"
            "### Changes:\n\n1. [x](/zh/news/2019/03/3/x.md) " CUR);
  tu_expect(db, "/news/2019/03/3/index.md|1|/news/2019/03/3/x.md\n",
            "SELECT day_index, is_current, current_path "
            "FROM eventmd_events('%q')",
            root);
  tu_expect(db,
            "/news/2019/03/1/r.md|2019-03-01|北京\n"
            "/news/2019/03/1/q.md|2019-03-01|~\n"
            "/ZH/news/2019/3/1/p.md|2019-03-01|~\n"
            "/zh/other/o.md|~|~\n",
            "SELECT target, target_date, context FROM eventmd_related('%q') "
            "ORDER BY ordinal",
            root);
  tu_expect(db, "/news/2019/03/3/x.md\n",
            "SELECT target FROM eventmd_changes('%q')", root);
  /* With a folder zh at the root, the prefix stays. */
  tu_mkdirs(root, "zh/x");
  tu_expect(db, "/zh/news/2019/03/1/r.md\n/news/2019/03/1/q.md\n",
            "SELECT target FROM eventmd_related('%q') WHERE ordinal <= 2 "
            "ORDER BY ordinal",
            root);
  tu_expect(db, "/zh/news/2019/03/3/index.md|0\n",
            "SELECT day_index, is_current FROM eventmd_events('%q')", root);
  sqlite3_close(db);
  tu_rmrf(root);
  free(root);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_versions_full_scan),
      cmocka_unit_test(test_versions_every_plan),
      cmocka_unit_test(test_versions_lookup_reads_one_folder),
      cmocka_unit_test(test_versions_live),
      cmocka_unit_test(test_versions_kept_between_statements),
      cmocka_unit_test(test_language_prefix),
  };
  return cmocka_run_group_tests_name("versions", tests, NULL, NULL);
}
