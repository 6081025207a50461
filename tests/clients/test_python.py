# SPDX-License-Identifier: MIT
"""Real-client test: eventmd loaded into Python's sqlite3 module.

Run with Debian's interpreter, whose sqlite3 module can load extensions:

    /usr/bin/python3 tests/clients/test_python.py            (from the repository)
    EVENTMD_EXT=/path/to/eventmd /usr/bin/python3 tests/clients/test_python.py

EVENTMD_EXT is the extension's path with or without the .so suffix; the
default is build/eventmd in this repository.  Every expected value below was
checked against tests/sample/ by hand.
"""

import json
import os
import re
import shutil
import sqlite3
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXT = os.path.abspath(os.environ.get("EVENTMD_EXT") or os.path.join(REPO, "build", "eventmd"))
SAMPLE = os.path.join(REPO, "tests", "sample")

# The Blue Nile declaration of 2015-03-23: three versions in one day folder.
DAY = "/news/2015/03/23/"
V1 = DAY + ("blue-nile-dam-pthe-leaders-of-egypt-sudan-and-ethiopia-sign-a-declaration-"
            "of-principles-in-khartoum-on-the-blue-nile-dam.md")
V2 = DAY + ("blue-nile-dam-the-leaders-of-egypt-sudan-and-ethiopia-sign-a-declaration-"
            "of-principles-in-khartoum-on-the-blue-nile-dam-committing-their.md")
V3 = DAY + ("the-leaders-of-egypt-sudan-and-ethiopia-sign-a-declaration-of-principles-"
            "in-khartoum-on-the-blue-nile-dam-committing-their-countries-to-se.md")
V1_TITLE = ("Blue Nile dam:The leaders of Egypt, Sudan and Ethiopia sign a declaration "
            "of principles in Khartoum on the Blue Nile dam.")
V2_TITLE = ("Blue Nile dam:: The leaders of Egypt, Sudan and Ethiopia sign a declaration "
            "of principles in Khartoum on the Blue Nile dam, committing their countries "
            "to settle disputes over the project through dialogue.")
V3_TITLE = ("The leaders of Egypt, Sudan and Ethiopia sign a declaration of principles "
            "in Khartoum on the Blue Nile dam, committing their countries to settle "
            "disputes over the project through dialogue.")

# Row counts of the sample archive.
N_EVENTS, N_SOURCES, N_RELATED, N_CHANGES = 54, 194, 83, 67
COUNTS = {"events": N_EVENTS, "sources": N_SOURCES, "related": N_RELATED,
          "changes": N_CHANGES}

COLUMNS = {
    "events": ["path", "date", "title", "topic", "summary", "cover_image",
               "day_index", "is_current", "current_path", "n_sources",
               "n_related", "n_changes", "size", "mtime", "problem"],
    "sources": ["event_path", "ordinal", "name", "url", "domain"],
    "related": ["event_path", "ordinal", "title", "target", "target_date", "context"],
    "changes": ["event_path", "ordinal", "title", "target", "changed_at", "label",
                "is_current"],
}

NEW_EVENT = """### [2019-01-02](/news/2019/1/2/index.md)

# A test event written by the Python client test.

A one-line summary.

### Source:

1. [Reuters](https://www.reuters.com/test-one)
2. [Example](https://Example.ORG:8080/two)
3. [Cover Image](https://img.example.net/cover.jpg)

### Related:

1. [ Blue Nile ](%s) _Context: Khartoum, Test_

### Changes:

1. [A test event](/news/2019/1/2/new-test-event.md) _(Current version)_
""" % V3
NEW_PATH = "/news/2019/1/2/new-test-event.md"


def not_readable(root, reason="No such file or directory"):
    return "eventmd: root '%s' is not a readable directory (%s)" % (root, reason)


def connect(database=":memory:"):
    conn = sqlite3.connect(database, isolation_level=None)
    conn.enable_load_extension(True)
    conn.load_extension(EXT)
    conn.enable_load_extension(False)
    return conn


class EventmdTest(unittest.TestCase):
    def setUp(self):
        self.db = connect()
        self.tmp = None

    def tearDown(self):
        self.db.close()
        if self.tmp:
            shutil.rmtree(self.tmp)

    def tmpdir(self):
        if not self.tmp:
            self.tmp = tempfile.mkdtemp(prefix="eventmd-py-")
        return self.tmp

    def one(self, sql, params=()):
        row = self.db.execute(sql, params).fetchone()
        return row[0] if row is not None and len(row) == 1 else row

    def all(self, sql, params=()):
        return self.db.execute(sql, params).fetchall()

    # -- loading and the SQL functions --------------------------------------

    def test_version(self):
        with open(os.path.join(REPO, "include", "eventmd.h")) as f:
            header = re.search(r'#define EVENTMD_VERSION "([^"]+)"', f.read()).group(1)
        self.assertEqual(self.one("SELECT eventmd_version()"), header)
        self.assertEqual(header, "1.1.0")

    def test_stats_and_config(self):
        self.assertIsNone(self.one("SELECT eventmd_config('reset_stats')"))
        stats = json.loads(self.one("SELECT eventmd_stats()"))
        self.assertEqual(stats["scans"], 0)
        self.assertEqual(stats["files_parsed"], 0)
        for key in ("folders_opened", "folders_pruned", "files_stated", "files_read",
                    "cache_hits", "cache_misses", "cache_entries", "cache_bytes",
                    "cache_limit", "folder_cache_bytes", "threads"):
            self.assertIn(key, stats)
        # One path lookup reads one file and walks no folder; a repeat is a hit.
        q = "SELECT title FROM eventmd_events(?) WHERE path = ?"
        self.assertEqual(self.one(q, (SAMPLE, V3)), V3_TITLE)
        self.assertEqual(self.one(q, (SAMPLE, V3)), V3_TITLE)
        stats = json.loads(self.one("SELECT eventmd_stats()"))
        self.assertEqual((stats["scans"], stats["folders_opened"],
                          stats["files_parsed"], stats["cache_hits"]), (2, 0, 1, 1))
        self.assertEqual(self.one("SELECT json_extract(eventmd_stats(), '$.scans')"), 2)
        self.assertEqual(self.one("SELECT eventmd_config('threads', 1)"), 1)
        self.assertEqual(self.one("SELECT eventmd_config('threads')"), 1)
        self.assertEqual(self.one("SELECT eventmd_config('cache_bytes', 0)"), 0)
        self.assertEqual(self.one("SELECT count(*) FROM eventmd_events(?)", (SAMPLE,)), N_EVENTS)
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.db.execute("SELECT eventmd_config('nope')")
        self.assertEqual(str(cm.exception), "eventmd: unknown setting 'nope' "
                         "(expected cache_bytes, cache_file, threads, watch, "
                         "roots, lock or reset_stats)")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.db.execute("SELECT eventmd_config('threads', 0)")
        self.assertEqual(str(cm.exception),
                         "eventmd: threads must be an integer from 1 to 64")

    # -- the four tables, both forms ----------------------------------------

    def test_table_valued_functions(self):
        for name, n in COUNTS.items():
            with self.subTest(table=name):
                cur = self.db.execute("SELECT * FROM eventmd_%s(?)" % name, (SAMPLE,))
                rows = cur.fetchall()
                self.assertEqual([d[0] for d in cur.description], COLUMNS[name])
                self.assertEqual(len(rows), n)
                # The hidden root column is the function's argument.
                self.assertEqual(self.all("SELECT DISTINCT root FROM eventmd_%s(?)" % name,
                                          (SAMPLE,)), [(SAMPLE,)])

    def test_create_virtual_table(self):
        for name, n in COUNTS.items():
            with self.subTest(table=name):
                self.db.execute("CREATE VIRTUAL TABLE temp.t_%s USING eventmd_%s(root='%s')"
                                % (name, name, SAMPLE.replace("'", "''")))
                cur = self.db.execute("SELECT * FROM temp.t_%s" % name)
                self.assertEqual([d[0] for d in cur.description], COLUMNS[name])
                self.assertEqual(len(cur.fetchall()), n)
                # Same rows as the table-valued function.
                self.assertEqual(
                    self.all("SELECT * FROM temp.t_%s ORDER BY 1, 2" % name),
                    self.all("SELECT * FROM eventmd_%s(?) ORDER BY 1, 2" % name, (SAMPLE,)))

    def test_create_virtual_table_options(self):
        self.db.execute("CREATE VIRTUAL TABLE temp.tiny USING eventmd_events("
                        "root='%s', max_size=10, follow_symlinks=0)" % SAMPLE)
        self.assertEqual(self.all("SELECT count(*), sum(problem = 'too large') FROM tiny"),
                         [(N_EVENTS, N_EVENTS)])

    def test_event_values(self):
        row = self.db.execute(
            "SELECT path, date, title, summary, cover_image, day_index, is_current,"
            " n_sources, n_related, n_changes, size, mtime, problem"
            " FROM eventmd_events(?) WHERE path = ?", (SAMPLE, V3)).fetchone()
        st = os.stat(SAMPLE + V3)
        self.assertEqual(row, (
            V3, "2015-03-23", V3_TITLE,
            "The ten-point document is the first agreement signed by the three countries"
            " on the dam and includes a commitment to agree rules for filling its reservoir",
            "http://english.ahram.org.eg/Media/News/2015/3/23/2015-196729384019783982-870.jpg",
            "/news/2015/03/23/index.md", 1, 4, 4, 3, st.st_size, int(st.st_mtime), None))
        with open(SAMPLE + V3, encoding="utf-8") as f:
            self.assertEqual(self.one("SELECT markdown FROM eventmd_events(?) WHERE path = ?",
                                      (SAMPLE, V3)), f.read())

    def test_three_versions(self):
        rows = self.all("SELECT path, title, is_current, n_changes FROM eventmd_events(?)"
                        " WHERE date = ? ORDER BY path", (SAMPLE, "2015-03-23"))
        self.assertEqual(rows, [(V1, V1_TITLE, 0, 3), (V2, V2_TITLE, 0, 3),
                                (V3, V3_TITLE, 1, 3)])
        for path in (V1, V2, V3):
            with self.subTest(path=path):
                self.assertEqual(
                    self.all("SELECT ordinal, title, target, changed_at, label, is_current"
                             " FROM eventmd_changes(?) WHERE event_path = ? ORDER BY ordinal",
                             (SAMPLE, path)),
                    [(1, V1_TITLE, V1, "2017-08-25 03:41:12", "First version", 0),
                     (2, V2_TITLE, V2, "2017-08-27 03:40:55", "Update", 0),
                     (3, V3_TITLE, V3, None, "Current version", 1)])

    def test_sources_values(self):
        self.assertEqual(
            self.all("SELECT ordinal, name, url, domain FROM eventmd_sources(?)"
                     " WHERE event_path = ? ORDER BY ordinal", (SAMPLE, V3)),
            [(1, "Al-Ahram", "http://english.ahram.org.eg/NewsContent/1/64/533409/Egypt/"
              "Politics-/Egypt-Sudan-Ethiopia-Sign-Nile-Dam-Deal.aspx", "english.ahram.org.eg"),
             (2, "Al Jazeera", "http://www.aljazeera.com/news/2015/3/"
              "egypt-sudan-ethiopia-sign-nile-dam-deal-20150323325732.html", "aljazeera.com"),
             (3, "Reuters", "http://www.reuters.com/article/2015/03/23/"
              "us-egypt-sudan-idUSKBN05880F20150323", "reuters.com"),
             (4, "BBC News", "http://www.bbc.co.uk/news/world-africa-32797922", "bbc.co.uk")])
        # An item without a link, and an upper-case host.
        self.assertEqual(self.all("SELECT name, url, domain FROM eventmd_sources(?)"
                                  " WHERE url IS NULL", (SAMPLE,)),
                         [("International Atomic Energy Agency statement", None, None)])
        self.assertEqual(self.one("SELECT domain FROM eventmd_sources(?) WHERE url = ?",
                                  (SAMPLE, "http://www.BBC.co.uk/news/world-europe-40368151")),
                         "bbc.co.uk")
        self.assertEqual(self.all("SELECT domain, count(*) FROM eventmd_sources(?)"
                                  " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3", (SAMPLE,)),
                         [("reuters.com", 42), ("bbc.co.uk", 31), ("theguardian.com", 28)])

    def test_related_values(self):
        rows = self.all("SELECT ordinal, target_date, context FROM eventmd_related(?)"
                        " WHERE event_path = ? ORDER BY ordinal", (SAMPLE, V3))
        self.assertEqual(rows, [(1, "2014-02-05", "Khartoum, Blue Nile"),
                                (2, "2013-11-14", "Khartoum"),
                                (3, "2017-10-12", "Cairo, Blue Nile"),
                                (4, "2010-05-14", "Entebbe, Nile")])
        # The link text is trimmed; three of the four targets are in the archive.
        self.assertEqual(self.one("SELECT title FROM eventmd_related(?) WHERE event_path = ?"
                                  " AND ordinal = 4", (SAMPLE, V3)),
                         "Ethiopia, Rwanda, Tanzania and Uganda sign an agreement in Entebbe"
                         " on sharing the waters of the Nile, which Egypt and Sudan reject.")
        self.assertEqual(self.one("SELECT count(*) FROM eventmd_related(?) r"
                                  " JOIN eventmd_events(?) e ON e.path = r.target"
                                  " WHERE r.event_path = ?", (SAMPLE, SAMPLE, V3)), 3)
        self.assertEqual(self.one("SELECT count(*) FROM eventmd_related(?) r"
                                  " JOIN eventmd_events(?) e ON e.path = r.target",
                                  (SAMPLE, SAMPLE)), 61)

    def test_problems(self):
        self.assertEqual(
            self.all("SELECT path, problem FROM eventmd_events(?) WHERE problem IS NOT NULL"
                     " ORDER BY path", (SAMPLE,)),
            [("/news/2014/05/28/problem-date-heading-differs-from-folder.md",
              "date heading 2014-05-27 differs from path"),
             ("/news/2016/09/26/problem-invalid-utf-8.md", "invalid UTF-8"),
             ("/news/2016/6/24/problem-no-title.md", "no title")])
        self.assertEqual(
            self.db.execute("SELECT date, title, day_index FROM eventmd_events(?)"
                            " WHERE path = ?", (SAMPLE, "/drafts/edge-not-in-a-date-folder-"
                                                "date-from-heading.md")).fetchone(),
            ("2018-12-30", "Voters in Bangladesh elect a new parliament in a general election"
             " held under tight security across the country.", "/news/2018/12/30/index.md"))

    # -- bound parameters ---------------------------------------------------

    def test_bound_parameters(self):
        q = "SELECT title FROM eventmd_events(?) WHERE path = ?"
        self.assertEqual(self.all(q, (SAMPLE, V3)), [(V3_TITLE,)])
        self.assertEqual(self.all("SELECT title FROM eventmd_events(:root) WHERE path = :path",
                                  {"root": SAMPLE, "path": V1}), [(V1_TITLE,)])
        self.assertEqual(self.all("SELECT title FROM eventmd_events(?1) WHERE path = ?2",
                                  (SAMPLE, V2)), [(V2_TITLE,)])
        self.assertEqual(self.all("SELECT title FROM eventmd_events($r) WHERE path = @p",
                                  {"r": SAMPLE, "p": V3}), [(V3_TITLE,)])
        self.assertEqual(self.all(q, (SAMPLE, "/news/2015/03/23/no-such-event.md")), [])
        # The same statement, re-bound for every path, gives each file's own title.
        titles = dict(self.all("SELECT path, title FROM eventmd_events(?)", (SAMPLE,)))
        self.assertEqual(len(titles), N_EVENTS)
        for path, title in titles.items():
            self.assertEqual(self.all(q, (SAMPLE, path)), [(title,)])
        self.assertEqual(
            self.all("SELECT path FROM eventmd_events(?) WHERE path IN (?, ?, ?) ORDER BY path",
                     (SAMPLE, V3, V1, "/nope.md")), [(V1,), (V3,)])
        self.assertEqual(self.one("SELECT count(*) FROM eventmd_events(?) WHERE date BETWEEN ?"
                                  " AND ?", (SAMPLE, "2015-01-01", "2015-12-31")), 8)
        for name, col in (("sources", 4), ("related", 4), ("changes", 3)):
            self.assertEqual(self.one("SELECT count(*) FROM eventmd_%s(:root)"
                                      " WHERE event_path = :path" % name,
                                      {"root": SAMPLE, "path": V3}), col)

    def test_rowid_is_stable(self):
        rows = self.all("SELECT rowid, path FROM eventmd_events(?)", (SAMPLE,))
        self.assertEqual(len({r for r, _ in rows}), N_EVENTS)
        for rowid, path in rows:
            self.assertEqual(self.one("SELECT rowid FROM eventmd_events(?) WHERE path = ?",
                                      (SAMPLE, path)), rowid)

    # -- eventmd_attach -------------------------------------------------------

    def test_attach(self):
        self.assertEqual(self.one("SELECT eventmd_attach(?)", (SAMPLE,)), SAMPLE)
        self.assertEqual(self.all("SELECT name FROM sqlite_temp_master ORDER BY name"),
                         [("changes",), ("events",), ("related",), ("sources",)])
        for name, n in COUNTS.items():
            self.assertEqual(self.one("SELECT count(*) FROM %s" % name), n)
        self.assertEqual(self.all("SELECT label FROM changes WHERE event_path = ?"
                                  " ORDER BY ordinal", (V3,)),
                         [("First version",), ("Update",), ("Current version",)])
        self.assertEqual(self.one("SELECT count(*) FROM events e JOIN sources s"
                                  " ON s.event_path = e.path WHERE e.date = ?",
                                  ("2015-03-23",)), 9)
        # With a prefix, next to the first set.
        self.assertEqual(self.one("SELECT eventmd_attach(?, 'x_')", (SAMPLE,)), SAMPLE)
        self.assertEqual(self.one("SELECT count(*) FROM temp.x_related"), N_RELATED)
        self.assertEqual(self.one("SELECT count(*) FROM sqlite_temp_master"), 8)
        # Attaching again replaces the tables: here over an empty archive.
        empty = os.path.join(self.tmpdir(), "empty")
        os.mkdir(empty)
        self.assertEqual(self.one("SELECT eventmd_attach(?)", (empty,)), empty)
        self.assertEqual(self.one("SELECT count(*) FROM events"), 0)
        self.assertEqual(self.one("SELECT count(*) FROM x_events"), N_EVENTS)
        # A bad root leaves an error, not tables.
        bad = os.path.join(self.tmpdir(), "missing")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.db.execute("SELECT eventmd_attach(?, 'bad_')", (bad,))
        self.assertEqual(str(cm.exception), not_readable(bad))
        self.assertEqual(self.one("SELECT count(*) FROM sqlite_temp_master"
                                  " WHERE name LIKE 'bad\\_%' ESCAPE '\\'"), 0)

    # -- errors ---------------------------------------------------------------

    def test_bad_root(self):
        missing = os.path.join(self.tmpdir(), "no-such-archive")
        a_file = os.path.join(SAMPLE, "notes.txt")
        for name in COUNTS:
            with self.subTest(table=name):
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    self.db.execute("SELECT * FROM eventmd_%s(?)" % name, (missing,)).fetchall()
                self.assertEqual(str(cm.exception), not_readable(missing))
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    self.db.execute("SELECT * FROM eventmd_%s(?)" % name, (a_file,)).fetchall()
                self.assertEqual(str(cm.exception), not_readable(a_file, "Not a directory"))
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.db.execute("SELECT * FROM eventmd_events('/x')")
        self.assertEqual(str(cm.exception), not_readable("/x"))
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.db.execute("CREATE VIRTUAL TABLE temp.t USING eventmd_events(root='%s')"
                            % missing)
        self.assertEqual(str(cm.exception), not_readable(missing))
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.db.execute("SELECT * FROM eventmd_events")
        self.assertEqual(str(cm.exception), "eventmd: eventmd_events needs a root folder:"
                         " eventmd_events('/path/to/archive')")
        with self.assertRaises(sqlite3.OperationalError) as cm:
            self.db.execute("SELECT * FROM eventmd_events(?)", (42,))
        self.assertEqual(str(cm.exception), "eventmd: root must be a folder path (text)")
        # The connection is still usable.
        self.assertEqual(self.one("SELECT count(*) FROM eventmd_events(?)", (SAMPLE,)), N_EVENTS)

    def test_bad_arguments(self):
        cases = [
            ("root='%s', colour=blue" % SAMPLE,
             "eventmd: unknown argument 'colour' (expected root, max_size or follow_symlinks)"),
            ("root='%s', max_size=0" % SAMPLE,
             "eventmd: malformed argument 'max_size=0': max_size must be a number of"
             " bytes from 1 to 1073741824"),
            ("root='%s', follow_symlinks=2" % SAMPLE,
             "eventmd: malformed argument 'follow_symlinks=2': follow_symlinks must be 0 or 1"),
            ("root='%s', root='%s'" % (SAMPLE, SAMPLE), "eventmd: argument 'root' given twice"),
            ("root", "eventmd: malformed argument 'root': expected name=value"),
            ("max_size=100", "eventmd: eventmd_sources needs root='/path/to/archive'"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                with self.assertRaises(sqlite3.OperationalError) as cm:
                    self.db.execute("CREATE VIRTUAL TABLE temp.bad USING eventmd_sources(%s)"
                                    % args)
                self.assertEqual(str(cm.exception), message)
        self.assertEqual(self.one("SELECT count(*) FROM sqlite_temp_master"), 0)

    # -- live -------------------------------------------------------------------

    def test_live(self):
        root = os.path.join(self.tmpdir(), "archive")
        shutil.copytree(SAMPLE, root)
        self.db.execute("SELECT eventmd_attach(?, 'live_')", (root,))
        count = ("SELECT (SELECT count(*) FROM eventmd_events(:r)),"
                 " (SELECT count(*) FROM eventmd_sources(:r)),"
                 " (SELECT count(*) FROM eventmd_related(:r)),"
                 " (SELECT count(*) FROM eventmd_changes(:r))")
        attached = ("SELECT (SELECT count(*) FROM live_events), (SELECT count(*) FROM"
                    " live_sources), (SELECT count(*) FROM live_related),"
                    " (SELECT count(*) FROM live_changes)")
        title = "SELECT title FROM eventmd_events(?) WHERE path = ?"
        before = (N_EVENTS, N_SOURCES, N_RELATED, N_CHANGES)
        self.assertEqual(self.db.execute(count, {"r": root}).fetchone(), before)
        self.assertEqual(self.all(title, (root, NEW_PATH)), [])

        folder = os.path.join(root, "news", "2019", "1", "2")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(root, NEW_PATH[1:]), "w") as f:
            f.write(NEW_EVENT)
        after = (N_EVENTS + 1, N_SOURCES + 2, N_RELATED + 1, N_CHANGES + 1)
        self.assertEqual(self.db.execute(count, {"r": root}).fetchone(), after)
        self.assertEqual(self.db.execute(attached).fetchone(), after)
        self.assertEqual(self.all(title, (root, NEW_PATH)),
                         [("A test event written by the Python client test.",)])
        self.assertEqual(
            self.db.execute("SELECT date, summary, cover_image, is_current, n_sources,"
                            " n_related, n_changes, problem FROM live_events WHERE path = ?",
                            (NEW_PATH,)).fetchone(),
            ("2019-01-02", "A one-line summary.", "https://img.example.net/cover.jpg", 1,
             2, 1, 1, None))
        self.assertEqual(self.all("SELECT name, domain FROM live_sources WHERE event_path = ?"
                                  " ORDER BY ordinal", (NEW_PATH,)),
                         [("Reuters", "reuters.com"), ("Example", "example.org")])
        self.assertEqual(self.all("SELECT title, target, target_date, context FROM live_related"
                                  " WHERE event_path = ?", (NEW_PATH,)),
                         [("Blue Nile", V3, "2015-03-23", "Khartoum, Test")])
        self.assertEqual(self.all("SELECT label, is_current FROM live_changes"
                                  " WHERE event_path = ?", (NEW_PATH,)),
                         [("Current version", 1)])
        self.assertEqual(self.one("SELECT count(*) FROM live_events WHERE date = ?",
                                  ("2019-01-02",)), 1)

        # Changed in place: the next statement sees the new text.
        with open(os.path.join(root, NEW_PATH[1:]), "w") as f:
            f.write(NEW_EVENT.replace("Python client test.", "Python client, edited."))
        self.assertEqual(self.all(title, (root, NEW_PATH)),
                         [("A test event written by the Python client, edited.",)])

        os.remove(os.path.join(root, NEW_PATH[1:]))
        self.assertEqual(self.db.execute(count, {"r": root}).fetchone(), before)
        self.assertEqual(self.db.execute(attached).fetchone(), before)
        self.assertEqual(self.all(title, (root, NEW_PATH)), [])
        self.assertEqual(self.one("SELECT count(*) FROM live_events WHERE date = ?",
                                  ("2019-01-02",)), 0)

    # -- DIRECTONLY -------------------------------------------------------------

    def test_views(self):
        path = os.path.join(self.tmpdir(), "views.db")
        db = connect(path)
        try:
            db.execute("CREATE VIEW main.v AS SELECT count(*) AS n FROM eventmd_events('%s')"
                       % SAMPLE)
            db.execute("CREATE TEMP VIEW tv AS SELECT count(*) AS n FROM eventmd_events('%s')"
                       % SAMPLE)
            with self.assertRaises(sqlite3.OperationalError) as cm:
                db.execute("SELECT n FROM main.v").fetchall()
            self.assertEqual(str(cm.exception), 'unsafe use of virtual table "eventmd_events"')
            self.assertEqual(db.execute("SELECT n FROM tv").fetchone(), (N_EVENTS,))
        finally:
            db.close()
        # A database file opened later: its stored view still cannot read files.
        db = connect(path)
        try:
            with self.assertRaises(sqlite3.OperationalError) as cm:
                db.execute("SELECT n FROM v").fetchall()
            self.assertEqual(str(cm.exception), 'unsafe use of virtual table "eventmd_events"')
        finally:
            db.close()


if __name__ == "__main__":
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        raise SystemExit("test_python.py: this Python's sqlite3 module cannot load "
                         "extensions; run it with /usr/bin/python3")
    unittest.main(verbosity=2)
