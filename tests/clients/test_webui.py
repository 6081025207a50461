# SPDX-License-Identifier: MIT
"""eventmd behind a web UI: the SQL Datasette sends, replayed, confined.

Datasette cannot be installed on these machines, so this test does what it
does to a database (datasette 1.0a37: app.py _prepare_connection, database.py,
views/table.py, views/row.py, facets.py), with Python's sqlite3 module, as
README.md's "Running eventmd behind a web UI" sets it up:

  * an administrator's news.db declares the four tables over the archive;
  * each visitor connection opens news.db read-only (mode=ro), with
    EVENTMD_ROOTS=<archive> and EVENTMD_LOCK=1 in the environment, and loads
    the extension with SELECT load_extension(?), as Datasette does;
  * introspection, the table page (rowid pages of 101, the count, facet
    suggestions under a 50 ms progress-handler limit), the row page, and
    what a hostile visitor could type in the SQL box.

    EVENTMD_EXT=build/eventmd EVENTMD_CORPUS=build/corpus-2400 \\
        /usr/bin/python3 tests/clients/test_webui.py

EVENTMD_CORPUS is a generated corpus (tests/corpus/gen_corpus.py; make test builds
build/corpus-2400); its archive/ folder is served.
"""

import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXT = os.path.abspath(os.environ.get("EVENTMD_EXT") or os.path.join(REPO, "build", "eventmd"))
CORPUS = os.path.abspath(os.environ.get("EVENTMD_CORPUS")
                         or os.path.join(REPO, "build", "corpus-2400"))
ARCHIVE = os.path.join(CORPUS, "archive")
TABLES = ("events", "sources", "related", "changes")
# A path's date: a run of year/month/day folders (SPEC: the first such run).
PATH_DATE = re.compile(r"/\d{4}/\d{1,2}/\d{1,2}/")
PAGE = 100  # Datasette's default_page_size; it asks for one more row


def stats(conn):
    return json.loads(conn.execute("SELECT eventmd_stats()").fetchone()[0])


class WebUI(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isdir(ARCHIVE):
            raise unittest.SkipTest  # never silent: main() fails on it
        cls.tmp = tempfile.mkdtemp(prefix="eventmd-webui-")
        cls.db_path = os.path.join(cls.tmp, "news.db")
        # The administrator, unconfined: declare the tables once.
        for var in ("EVENTMD_ROOTS", "EVENTMD_LOCK", "EVENTMD_CACHE_FILE"):
            os.environ.pop(var, None)
        admin = sqlite3.connect(cls.db_path, isolation_level=None)
        admin.enable_load_extension(True)
        admin.load_extension(EXT)
        for t in TABLES:
            admin.execute("CREATE VIRTUAL TABLE %s USING eventmd_%s(root='%s')"
                          % (t, t, ARCHIVE.replace("'", "''")))
        cls.expected = admin.execute(
            "SELECT rowid, path, date FROM events ORDER BY path").fetchall()
        admin.close()
        # Every visitor connection from here on is confined and locked.
        os.environ["EVENTMD_ROOTS"] = ARCHIVE
        os.environ["EVENTMD_LOCK"] = "1"

    @classmethod
    def tearDownClass(cls):
        os.environ.pop("EVENTMD_ROOTS", None)
        os.environ.pop("EVENTMD_LOCK", None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def visitor(self):
        """A connection as Datasette opens one (app.py _prepare_connection)."""
        conn = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True,
                               check_same_thread=False, isolation_level=None)
        conn.enable_load_extension(True)
        conn.execute("SELECT load_extension(?)", [EXT])
        self.addCleanup(conn.close)
        return conn

    def columns(self, conn):
        # Datasette selects every column PRAGMA table_xinfo lists, hidden too.
        return [r[1] for r in conn.execute("PRAGMA table_xinfo(events);")]

    def test_introspection(self):
        conn = self.visitor()
        names = [r[0] for r in conn.execute(
            "select name from sqlite_master where type='table'")]
        self.assertEqual(sorted(names), sorted(TABLES))
        for sql in ("PRAGMA table_info(events);", "PRAGMA schema_version",
                    "select * from sqlite_master WHERE type = 'table'",
                    "select * from sqlite_master WHERE type = 'view'",
                    "PRAGMA foreign_key_list(events)", "PRAGMA index_list(events)",
                    "PRAGMA database_list;",
                    "select type from pragma_table_list where name = 'events' "
                    "and schema = 'main'",
                    "select 1 from sqlite_master where tbl_name = \"geometry_columns\""):
            conn.execute(sql).fetchall()
        xinfo = conn.execute("PRAGMA table_xinfo(events);").fetchall()
        self.assertEqual([r[1] for r in xinfo][:3], ["path", "date", "title"])
        self.assertEqual([r[1] for r in xinfo if r[6]], ["root", "markdown"])
        self.assertFalse(any(r[5] for r in xinfo))  # no primary key: rowid mode
        fts = conn.execute(
            "select name from sqlite_master where rootpage = 0 and ("
            " sql like '%VIRTUAL TABLE%USING FTS%content=\"events\"%'"
            " or sql like '%VIRTUAL TABLE%USING FTS%content=[events]%'"
            " or (tbl_name = \"events\" and sql like '%VIRTUAL TABLE%USING FTS%'))"
        ).fetchall()
        self.assertEqual(fts, [])

    def test_table_pages(self):
        conn = self.visitor()
        total = len(self.expected)
        self.assertGreater(total, 5 * PAGE)
        cols = ", ".join(["rowid"] + self.columns(conn))
        # The first page, cold: only the first days' folders are read.
        before = stats(conn)["files_parsed"]
        rows = conn.execute("select %s from events order by rowid limit %d"
                            % (cols, PAGE + 1), {}).fetchall()
        first_parsed = stats(conn)["files_parsed"] - before
        self.assertEqual(len(rows), PAGE + 1)
        self.assertLess(first_parsed, total // 4,
                        "the first page parsed %d of %d files" % (first_parsed, total))
        # The count a table page shows; a plain count opens no file.
        before = stats(conn)
        self.assertEqual(conn.execute("select count(*) from events").fetchone()[0], total)
        after = stats(conn)
        self.assertEqual(after["files_read"] - before["files_read"], 0)
        self.assertEqual(after["files_stated"] - before["files_stated"], 0)
        self.assertEqual(conn.execute(
            "select count(*) from (select * from events  limit 10001)", {}).fetchone()[0],
            min(total, 10001))
        # Every next page, as Datasette asks: _next is the rowid of the
        # page's last shown row, bound as text (it comes from the URL).
        shown = rows[:PAGE]
        while len(rows) > PAGE:
            nxt = str(rows[PAGE - 1][0])
            rows = conn.execute(
                "select %s from events where rowid > :p0 order by rowid limit %d"
                % (cols, PAGE + 1), {"p0": nxt}).fetchall()
            shown += rows[:PAGE]
        rowids = [r[0] for r in shown]
        self.assertEqual(rowids, sorted(rowids))
        self.assertEqual(len(set(rowids)), len(rowids))
        self.assertEqual(sorted((r[0], r[1], r[2]) for r in shown),
                         sorted(self.expected))
        # Rowid order is date order: files whose path has no date first,
        # then by the path's date (which is the date column for them).
        dated = [bool(PATH_DATE.search(r[1])) for r in shown]
        k = dated.index(True)
        self.assertEqual(dated, [False] * k + [True] * (len(shown) - k))
        dates = [r[2] for r in shown[k:]]
        self.assertEqual(dates, sorted(dates))
        # The hidden columns a table page selects: the root, the text.
        self.assertTrue(all(r[-2] == ARCHIVE for r in shown))
        self.assertTrue(any(r[-1] and r[-1].startswith("#") for r in shown))

    def test_row_page(self):
        conn = self.visitor()
        rowid, path, _ = self.expected[len(self.expected) // 2]
        for _ in range(2):  # the row view runs it twice
            rows = conn.execute('select rowid, * from events where "rowid"=:p0',
                                {"p0": str(rowid)}).fetchall()
            self.assertEqual([(r[0], r[1]) for r in rows], [(rowid, path)])
        self.assertLess(stats(conn)["files_parsed"], len(self.expected) // 4)

    def test_facet_suggestions_under_time_limit(self):
        conn = self.visitor()
        cols = ", ".join(["rowid"] + self.columns(conn))
        inner = "select %s from events " % cols
        conn.execute("select * from (%s) limit 0" % inner).fetchall()
        outcomes = []
        for col in ["rowid"] + self.columns(conn):
            deadline = time.monotonic() + 0.05  # facet_suggest_time_limit_ms
            conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
            try:
                conn.execute(
                    "with limited as (select * from (%s) limit 1000) "
                    "select %s as value, count(*) as n from limited "
                    "where value is not null group by value limit 31" % (inner, col)
                ).fetchall()
                outcomes.append("done")
            except sqlite3.OperationalError as e:
                self.assertEqual(str(e), "interrupted")
                outcomes.append("interrupted")
            finally:
                conn.set_progress_handler(None, 1000)
        self.assertEqual(len(outcomes), len(self.columns(conn)) + 1)
        # After whatever was interrupted, the connection still answers.
        self.assertEqual(conn.execute("select count(*) from events").fetchone()[0],
                         len(self.expected))

    def test_hostile_visitor(self):
        conn = self.visitor()
        planted = os.path.join(self.tmp, "planted.db")

        def refused(sql, message):
            with self.assertRaises(sqlite3.OperationalError) as cm:
                conn.execute(sql).fetchall()
            self.assertEqual(str(cm.exception), message)

        outside = "eventmd: root '%s' is outside the allowed roots"
        locked = "eventmd: settings are locked for this connection"
        refused("SELECT path, markdown FROM eventmd_events('/usr/lib')", outside % "/usr/lib")
        refused("SELECT count(*) FROM eventmd_events('/')", outside % "/")
        refused("SELECT count(*) FROM eventmd_sources('%s/..')" % ARCHIVE,
                outside % (ARCHIVE + "/.."))
        refused("SELECT eventmd_attach('/etc')", outside % "/etc")
        refused("SELECT eventmd_config('roots', '/')", locked)
        refused("SELECT eventmd_config('cache_file', '%s')" % planted, locked)
        refused("SELECT eventmd_config('watch', 0)", locked)
        refused("SELECT eventmd_config('reset_stats')", locked)
        self.assertFalse(os.path.exists(planted))
        # Loading the extension again (Datasette leaves loading enabled):
        # from SQL it cannot replace its functions inside the running
        # statement and is refused; from the API it registers afresh, and
        # the environment confines and locks the new registration too.
        with self.assertRaises(sqlite3.OperationalError):
            conn.execute("SELECT load_extension(?)", [EXT])
        refused("SELECT eventmd_config('threads', 64)", locked)
        conn.load_extension(EXT)
        refused("SELECT eventmd_config('threads', 64)", locked)
        refused("SELECT title FROM eventmd_events('/etc')", outside % "/etc")
        self.assertEqual(conn.execute("SELECT eventmd_config('roots')").fetchone()[0],
                         os.path.realpath(ARCHIVE))
        # Inside the roots, table-valued calls work as usual.
        self.assertEqual(conn.execute("SELECT count(*) FROM eventmd_events(?)",
                                      [ARCHIVE]).fetchone()[0], len(self.expected))


def main():
    if not os.path.isdir(ARCHIVE):
        raise SystemExit("test_webui.py: FAIL: no corpus at %s (make builds it: "
                         "make build/corpus-2400/expected.sql)" % ARCHIVE)
    unittest.main()


if __name__ == "__main__":
    main()
