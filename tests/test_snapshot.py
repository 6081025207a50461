#!/usr/bin/python3
"""Snapshot (sql/snapshot.sql, ext/eventmd-snapshot.sh) and full-text search
(sql/fts_live.sql, sql/search.sql) tests.

Usage (from the repository root, after `make`):
    /usr/bin/python3 tests/test_snapshot.py [-v]

Environment:
    EVENTMD_EXT   the extension, as for .load        (default build/eventmd)
    EVENTMD_BIN   folder of the eventmd shell wrapper (default build/bin)
    EVENTMD_SQLITE3  the sqlite3 shell                (default sqlite3)

Every test works on a temporary copy of tests/sample; the snapshot wrapper is
made from the template ext/eventmd-snapshot.sh into a temporary folder, the
way the Makefile makes build/bin/eventmd.  The snapshot is read by plain
sqlite3 connections that never load the extension; the live tables, for
comparison, by another connection that does.
"""

import collections
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(REPO, "tests", "sample")
SQLDIR = os.path.join(REPO, "sql")
EXT = os.path.abspath(os.path.join(REPO, os.environ.get("EVENTMD_EXT", "build/eventmd")))
BIN = os.path.abspath(os.path.join(REPO, os.environ.get("EVENTMD_BIN", "build/bin")))
SQLITE3 = os.environ.get("EVENTMD_SQLITE3", "sqlite3")

# Columns compared, live table -> snapshot table (same names, plus the ids).
COLUMNS = {
    "events": "path, date, title, summary, cover_image, day_index, is_current, "
              "n_sources, n_related, n_changes, size, mtime, problem",
    "sources": "event_path, ordinal, name, url, domain",
    "related": "event_path, ordinal, title, target, target_date, context",
    "changes": "event_path, ordinal, title, target, changed_at, label, is_current",
}

# The sample files the tests edit (root-relative).
KHARTOUM_2013 = ("/news/2013/11/14/water-ministers-of-egypt-sudan-and-ethiopia-meet-in-"
                 "khartoum-for-talks-on-the-construction-of-a-large-hydroelectric-dam-on-"
                 "the-blue-nile-an.md")
TYPHOON_2013 = ("/news/2013/11/8/a-powerful-typhoon-makes-landfall-in-the-central-"
                "philippines-forcing-the-evacuation-of-more-than-700-000-people-and-"
                "cutting-power-and-commu.md")
NOBEL_2017 = ("/news/2017/10/9/the-2017-nobel-memorial-prize-in-economic-sciences-is-"
              "awarded-to-richard-thaler-for-his-contributions-to-behavioural-economics.md")
HARVEY_2017 = ("/news/2017/8/25/hurricane-harvey-makes-landfall-near-rockport-texas-as-a-"
               "category-4-storm-the-strongest-to-hit-the-united-states-mainland-since-2004.md")
NEW_EVENT = "/news/2019/1/2/a-new-event-about-the-nile-added-after-the-first-snapshot.md"
# The best match of the documented search (Nile AND Khartoum) on the sample.
BEST_NILE_KHARTOUM = ("/news/2015/03/23/blue-nile-dam-pthe-leaders-of-egypt-sudan-and-"
                      "ethiopia-sign-a-declaration-of-principles-in-khartoum-on-the-blue-"
                      "nile-dam.md")


def make_wrapper(template, dest):
    """The build's sed: @EXT@ and @SQLDIR@ replaced by absolute paths."""
    with open(template) as f:
        text = f.read()
    text = text.replace("@EXT@", EXT).replace("@SQLDIR@", SQLDIR)
    with open(dest, "w") as f:
        f.write(text)
    os.chmod(dest, os.stat(dest).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return dest


def live_connection(archive, prefix=""):
    """A connection with the extension loaded and the archive attached."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(EXT)
    db.enable_load_extension(False)
    db.execute("SELECT eventmd_attach(?, ?)", (archive, prefix))
    return db


def plain_connection(path):
    """A plain connection to the snapshot: the extension is never loaded."""
    return sqlite3.connect(path, isolation_level=None)


def read_sql(name):
    with open(os.path.join(SQLDIR, name)) as f:
        return f.read()


class SnapshotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(EXT + ".so") and not os.path.exists(EXT):
            raise unittest.SkipTest("extension %s not built (make)" % EXT)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="eventmd-snapshot-test-")
        self.archive = os.path.join(self.tmp, "archive")
        shutil.copytree(SAMPLE, self.archive)  # copy2: mtimes kept
        self.snapshot = os.path.join(self.tmp, "snapshot.db")
        self.wrapper = make_wrapper(os.path.join(REPO, "ext", "eventmd-snapshot.sh"),
                                    os.path.join(self.tmp, "eventmd-snapshot"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers --------------------------------------------------------------

    def file(self, relpath):
        return os.path.join(self.archive, relpath.lstrip("/"))

    def edit(self, relpath, old, new, mtime_delta=100):
        """Replace text in an archive file and move its mtime on (whole seconds:
        what eventmd compares is size and mtime in seconds)."""
        p = self.file(relpath)
        st = os.stat(p)
        with open(p, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))
        os.utime(p, (st.st_atime, st.st_mtime + mtime_delta))

    def run_wrapper(self):
        r = subprocess.run([self.wrapper, self.archive, self.snapshot],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 1, r.stdout)
        return lines[0]

    def info(self):
        db = plain_connection(self.snapshot)
        try:
            return dict(db.execute("SELECT key, value FROM snapshot_info"))
        finally:
            db.close()

    def child_rowids(self, table):
        """{(event_path, ordinal): rowid} of a snapshot child table."""
        db = plain_connection(self.snapshot)
        try:
            return {(p, o): r for r, p, o in
                    db.execute("SELECT rowid, event_path, ordinal FROM %s" % table)}
        finally:
            db.close()

    def assert_snapshot_equals_live(self):
        """Every snapshot table has exactly the live tables' rows."""
        snap = plain_connection(self.snapshot)
        live = live_connection(self.archive, "live_")
        try:
            for table, cols in COLUMNS.items():
                idcol = "id" if table == "events" else "event_id"
                liveid = "rowid" if table == "events" else \
                    "(SELECT rowid FROM live_events e WHERE e.path = t.event_path)"
                got = collections.Counter(snap.execute(
                    "SELECT %s, %s FROM %s" % (idcol, cols, table)))
                want = collections.Counter(live.execute(
                    "SELECT %s, %s FROM live_%s t" % (liveid, cols, table)))
                self.assertEqual(sum(got.values()), sum(want.values()), table)
                self.assertEqual(got, want, table)
            # The same, in SQL: EXCEPT both ways (the snapshot attached
            # read-only to the connection that has the extension).
            live.execute("ATTACH ? AS snap", ("file:%s?mode=ro" % self.snapshot,))
            for table, cols in COLUMNS.items():
                for a, b in (("live_" + table, "snap." + table),
                             ("snap." + table, "live_" + table)):
                    n = live.execute("SELECT count(*) FROM (SELECT %s FROM %s EXCEPT "
                                     "SELECT %s FROM %s)" % (cols, a, cols, b)).fetchone()[0]
                    self.assertEqual(n, 0, "%s EXCEPT %s" % (a, b))
            n = live.execute("SELECT count(*) FROM (SELECT rowid, path FROM live_events "
                             "EXCEPT SELECT id, path FROM snap.events)").fetchone()[0]
            self.assertEqual(n, 0, "events ids are eventmd's rowids")
            # Full-text index: one row per event, the event's text.
            fts = snap.execute(
                "SELECT count(*) FROM events_fts f JOIN events e ON e.id = f.rowid "
                "WHERE f.title IS e.title AND f.summary IS e.summary AND f.sources IS "
                "(SELECT group_concat(name, ' ; ') FROM (SELECT name FROM sources s "
                " WHERE s.event_id = e.id ORDER BY ordinal))").fetchone()[0]
            self.assertEqual(fts, snap.execute("SELECT count(*) FROM events").fetchone()[0])
            self.assertEqual(snap.execute("SELECT count(*) FROM events_fts").fetchone()[0], fts)
            # Counts recorded.
            info = dict(snap.execute("SELECT key, value FROM snapshot_info"))
            for table in COLUMNS:
                self.assertEqual(int(info[table]), live.execute(
                    "SELECT count(*) FROM live_" + table).fetchone()[0], table)
            self.assertEqual(info["eventmd_version"],
                             live.execute("SELECT eventmd_version()").fetchone()[0])
            self.assertEqual(info["root"], os.path.realpath(self.archive))
            self.assertRegex(info["refreshed_at"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIsInstance(info["refresh_seconds"], (int, float))
            self.assertGreaterEqual(info["refresh_seconds"], 0)
            # Nothing in the file needs the extension.
            self.assertEqual(snap.execute("SELECT count(*) FROM sqlite_schema "
                                          "WHERE instr(sql, 'eventmd_') OR instr(sql, 'live_')"
                                          ).fetchone()[0], 0)
            snap.execute("INSERT INTO events_fts(events_fts) VALUES('integrity-check')")
            self.assertEqual(snap.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(snap.execute("PRAGMA foreign_key_check").fetchall(), [])
        finally:
            snap.close()
            live.close()

    @staticmethod
    def stats(db, counter=None):
        """(files_read, files_parsed) since the last reset_stats, or one counter."""
        if counter:
            return db.execute("SELECT json_extract(eventmd_stats(), ?)",
                              ("$." + counter,)).fetchone()[0]
        return db.execute("SELECT json_extract(s, '$.files_read'), "
                          "json_extract(s, '$.files_parsed') "
                          "FROM (SELECT eventmd_stats() AS s)").fetchone()

    def search(self, db, q):
        return db.execute(read_sql("search.sql"), {"q": q}).fetchall()

    # -- the tests ------------------------------------------------------------

    def test_build_refresh(self):
        line = self.run_wrapper()
        self.assertRegex(line, r"^eventmd-snapshot: .*: 45 inserted, 0 updated, 0 deleted; "
                               r"45 events; \d+\.\d\d s$")
        self.assert_snapshot_equals_live()
        info = self.info()
        self.assertEqual((info["inserted"], info["updated"], info["deleted"]), (45, 0, 0))
        self.assertEqual((info["events"], info["sources"], info["related"], info["changes"]),
                         (45, 169, 75, 54))
        db = plain_connection(self.snapshot)
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        db.close()

        # Nothing changed: nothing done.
        self.assertIn(": 0 inserted, 0 updated, 0 deleted; 45 events;", self.run_wrapper())

        before = {t: self.child_rowids(t) for t in ("sources", "related", "changes")}
        # Two files changed (one keeps its size: only the mtime tells), one
        # new, one deleted.
        meta = self.live_meta()
        self.edit(KHARTOUM_2013, "Water ministers", "Water MINISTERS")  # same size
        self.edit(NOBEL_2017, "Richard Thaler", "Richard H. Thaler", mtime_delta=0)
        after = self.live_meta()
        self.assertEqual(after[KHARTOUM_2013][0], meta[KHARTOUM_2013][0])
        self.assertNotEqual(after[KHARTOUM_2013][1], meta[KHARTOUM_2013][1])
        self.assertEqual(after[NOBEL_2017][1], meta[NOBEL_2017][1])  # same mtime
        self.assertNotEqual(after[NOBEL_2017][0], meta[NOBEL_2017][0])
        src = self.file(KHARTOUM_2013)
        os.makedirs(os.path.dirname(self.file(NEW_EVENT)))
        with open(src, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("2013-11-14", "2019-01-02").replace(
            "Water MINISTERS", "Boat owners on the Nile at Khartoum, a new event:")
        with open(self.file(NEW_EVENT), "w", encoding="utf-8") as f:
            f.write(text)
        os.remove(self.file(TYPHOON_2013))
        changed = {KHARTOUM_2013, NOBEL_2017, NEW_EVENT, TYPHOON_2013}

        line = self.run_wrapper()
        self.assertIn(": 1 inserted, 2 updated, 1 deleted; 45 events;", line)
        info = self.info()
        self.assertEqual((info["inserted"], info["updated"], info["deleted"]), (1, 2, 1))
        self.assert_snapshot_equals_live()

        # Unchanged events' child rows were not rewritten: same rowids; the
        # changed events' rows are new ones.
        for table, old in before.items():
            new = self.child_rowids(table)
            kept = {k: v for k, v in old.items() if k[0] not in changed}
            self.assertTrue(kept)
            self.assertEqual({k: new[k] for k in kept}, kept, table)
            top = max(old.values())
            for k, v in new.items():
                if k[0] in (KHARTOUM_2013, NOBEL_2017, NEW_EVENT):
                    self.assertGreater(v, top, (table, k))
            self.assertFalse([k for k in new if k[0] == TYPHOON_2013], table)

        db = plain_connection(self.snapshot)
        self.assertEqual(db.execute(
            "SELECT title FROM events WHERE path = ?", (KHARTOUM_2013,)).fetchone()[0][:15],
            "Water MINISTERS")
        rows = self.search(db, "thaler")
        self.assertEqual(len(rows), 1)
        self.assertIn("Richard H. [Thaler]", rows[0][2])
        self.assertEqual(self.search(db, "typhoon AND landfall"), [])
        db.close()

    def live_meta(self):
        """{path: (size, mtime)} of the live archive."""
        live = live_connection(self.archive)
        try:
            return {p: (s, m) for p, s, m in
                    live.execute("SELECT path, size, mtime FROM events")}
        finally:
            live.close()

    def test_views(self):
        self.run_wrapper()
        db = plain_connection(self.snapshot)
        counts = {v: db.execute("SELECT count(*) FROM " + v).fetchone()[0] for v in (
            "events_per_month", "top_outlets", "dangling_links", "problems",
            "version_history", "related_pairs", "events_fts_docs")}
        self.assertEqual(counts, {
            "events_per_month": 31, "top_outlets": 12, "dangling_links": 13,
            "problems": 3, "version_history": 44, "related_pairs": 75,
            "events_fts_docs": 45})
        self.assertEqual(db.execute("SELECT * FROM events_per_month LIMIT 2").fetchall(),
                         [("2013-11", 3, 3, 10), ("2014-02", 1, 1, 3)])
        self.assertEqual(db.execute("SELECT * FROM top_outlets LIMIT 2").fetchall(),
                         [("reuters.com", 38, "2013", "2018"), ("bbc.co.uk", 31, "2013", "2018")])
        self.assertEqual([r[2] for r in db.execute("SELECT * FROM problems")], [
            "date heading 2014-05-27 differs from path", "invalid UTF-8", "no title"])
        self.assertEqual(db.execute("SELECT sum(cited_by) FROM dangling_links").fetchone()[0], 16)
        self.assertEqual(db.execute(
            "SELECT count(*) FROM related_pairs WHERE in_archive").fetchone()[0], 59)

        # The views give what the sql/ examples give live.
        live = live_connection(self.archive)
        try:
            for view, script, cols in (
                    ("events_per_month", "events_per_month.sql", "*"),
                    ("top_outlets", "top_outlets.sql", "*"),
                    ("problems", "problems.sql", "path, coalesce(date, ''), problem")):
                want = live.execute(read_sql(script)).fetchall()
                got = db.execute("SELECT %s FROM %s" % (cols, view)).fetchall()
                self.assertEqual(got[:len(want)], want, view)
            want = live.execute(
                "SELECT r.target, count(*) FROM related r LEFT JOIN events e "
                "ON e.path = r.target WHERE e.path IS NULL AND r.target IS NOT NULL "
                "GROUP BY r.target ORDER BY 2 DESC, 1").fetchall()
            self.assertEqual(db.execute(
                "SELECT missing_target, cited_by FROM dangling_links").fetchall(), want)
            for path in (NOBEL_2017, "/news/2015/03/23/the-leaders-of-egypt-sudan-and-"
                         "ethiopia-sign-a-declaration-of-principles-in-khartoum-on-the-blue-"
                         "nile-dam-committing-their-countries-to-se.md"):
                want = live.execute(read_sql("version_history.sql"),
                                    {"event": path}).fetchall()
                got = db.execute(
                    "SELECT n, coalesce(changed_at, ''), label, file, "
                    "CASE WHEN length(title_of_that_version) > 60 "
                    "THEN substr(title_of_that_version, 1, 59) || '…' "
                    "ELSE title_of_that_version END FROM version_history "
                    "WHERE event_path = ? ORDER BY n", (path,)).fetchall()
                self.assertEqual(got, want, path)
                self.assertTrue(got)
        finally:
            live.close()
            db.close()

        # The plain sqlite3 shell, no extension, answers.
        r = subprocess.run([SQLITE3, self.snapshot, "SELECT count(*) FROM events_per_month"],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "31\n", ""))

    def test_fts_snapshot(self):
        self.run_wrapper()
        db = plain_connection(self.snapshot)
        rows = self.search(db, None)  # the documented default: Nile AND Khartoum
        self.assertEqual(len(rows), 5)
        scores = [r[1] for r in rows]
        self.assertEqual(scores, sorted(scores))
        self.assertLess(scores[0], scores[-1])
        self.assertEqual(rows[0][0], "2015-03-23")
        self.assertEqual(rows[0][2], "Blue [Nile] dam:The leaders of Egypt, Sudan and "
                         "Ethiopia sign a declaration of principles in [Khartoum] on the "
                         "Blue [Nile] dam.")
        for r in rows:  # highlight: the whole title; snippet: the best 12 words
            self.assertIn("[Khartoum]", r[2])
            self.assertIn("[Nile]", r[2])
            self.assertRegex(r[3], r"\[(Khartoum|Nile)\]")
            self.assertLessEqual(len(r[3].split()), 12)
        self.assertEqual(rows[2][3], "…on the Blue [Nile] dam ends in [Khartoum] without "
                                     "agreement, with Egypt…")
        best = db.execute(
            "SELECT d.path FROM events_fts f JOIN events_fts_docs d ON d.id = f.rowid "
            "WHERE events_fts MATCH 'nile AND khartoum' ORDER BY bm25(events_fts, 10, 5, 1) "
            "LIMIT 1").fetchone()[0]
        self.assertEqual(best, BEST_NILE_KHARTOUM)
        # bm25 order = rank order, MATCH on one column, the sources column.
        self.assertEqual(
            [r[0] for r in db.execute("SELECT rowid FROM events_fts WHERE events_fts "
                                      "MATCH 'nile AND khartoum' ORDER BY rank")],
            [r[0] for r in db.execute("SELECT rowid FROM events_fts WHERE events_fts "
                                      "MATCH 'nile AND khartoum' ORDER BY "
                                      "bm25(events_fts, 10.0, 5.0, 1.0)")])
        self.assertEqual(db.execute("SELECT count(*) FROM events_fts WHERE events_fts "
                                    "MATCH 'title:khartoum'").fetchone()[0], 5)
        self.assertEqual(db.execute("SELECT count(*) FROM events_fts WHERE events_fts "
                                    "MATCH 'sources:reuters'").fetchone()[0],
                         db.execute("SELECT count(DISTINCT event_id) FROM sources "
                                    "WHERE name LIKE '%reuters%'").fetchone()[0])
        # Stemming and diacritics: "earthquakes" finds "earthquake", "Sao" "São".
        for q, n in (("earthquake", 6), ("earthquakes", 6), ("sao AND paulo", 1)):
            self.assertEqual(db.execute("SELECT count(*) FROM events_fts WHERE events_fts "
                                        "MATCH ?", (q,)).fetchone()[0], n, q)
        db.close()

        # The same script through the sqlite3 shell: snapshot and live agree.
        with open(os.path.join(SQLDIR, "search.sql")) as f:
            snap_out = subprocess.run([SQLITE3, self.snapshot], stdin=f,
                                      capture_output=True, text=True)
        self.assertEqual(snap_out.stderr, "")
        live_out = subprocess.run(
            [os.path.join(BIN, "eventmd"), self.archive],
            input=".read %s\n.read %s\n" % (os.path.join(SQLDIR, "fts_live.sql"),
                                          os.path.join(SQLDIR, "search.sql")),
            capture_output=True, text=True)
        self.assertEqual(live_out.stderr, "")
        self.assertEqual(len(snap_out.stdout.splitlines()), 5)
        self.assertEqual(live_out.stdout, snap_out.stdout)

    def test_fts_live(self):
        db = live_connection(self.archive)
        db.executescript(read_sql("fts_live.sql"))
        self.assertEqual(db.execute("SELECT count(*) FROM temp.events_fts").fetchone()[0], 45)
        rows = self.search(db, "nile AND khartoum")
        self.assertEqual(len(rows), 5)
        self.assertEqual(rows[0][2][:12], "Blue [Nile] ")
        self.assertEqual(self.search(db, "omdurman"), [])

        # Running it again with nothing changed reads no file.
        db.execute("SELECT eventmd_config('reset_stats')")
        db.executescript(read_sql("fts_live.sql"))
        self.assertEqual(self.stats(db), (0, 0))

        # A file changes: the next run sees it, and reads only it.
        self.edit(KHARTOUM_2013, "meet in Khartoum", "meet in Omdurman")
        self.assertEqual(len(self.search(db, "nile AND khartoum")), 5)  # not yet
        db.execute("SELECT eventmd_config('reset_stats')")
        db.executescript(read_sql("fts_live.sql"))
        # One parse; a file changed in the last 2 s is read again by each
        # statement (eventmd's racy-file check), here events and sources.
        read, parsed = self.stats(db)
        self.assertEqual(parsed, 1)
        self.assertIn(read, (1, 2))
        rows = self.search(db, "omdurman")
        self.assertEqual(len(rows), 1)
        self.assertIn("meet in [Omdurman]", rows[0][2])
        self.assertEqual(len(self.search(db, "nile AND khartoum")), 4)
        # Deleted and new files.
        os.remove(self.file(TYPHOON_2013))
        self.assertEqual(len(self.search(db, "typhoon AND philippines")), 2)
        db.executescript(read_sql("fts_live.sql"))
        self.assertEqual(len(self.search(db, "typhoon AND philippines")), 1)
        self.assertEqual(db.execute("SELECT count(*) FROM temp.events_fts").fetchone()[0], 44)
        self.assertEqual(db.execute("SELECT count(*) FROM temp.events_fts_docs").fetchone()[0], 44)
        db.close()

    def test_refresh_reads_only_changed_files(self):
        """snapshot.sql in-process: the extension's counters show which files
        a refresh reads."""
        self.run_wrapper()
        self.edit(HARVEY_2017, "Rockport", "Rockport (Aransas County)")
        db = sqlite3.connect(self.snapshot, isolation_level=None)
        db.enable_load_extension(True)
        db.load_extension(EXT)
        db.execute("PRAGMA temp_store = MEMORY")
        db.execute("SELECT eventmd_attach(?, 'live_')", (self.archive,))
        db.execute("SELECT eventmd_config('reset_stats')")
        db.executescript(read_sql("snapshot.sql"))
        # One parse; a file changed in the last 2 s is read again by each
        # statement (eventmd's racy-file check): at most once per live table.
        read, parsed = self.stats(db)
        self.assertEqual(parsed, 1)
        self.assertIn(read, (1, 2, 3, 4))
        # One metadata walk (plus the first file, for the root): no file
        # was deleted, so no second walk to find which.
        self.assertLess(self.stats(db, "files_stated"), 50)
        info = dict(db.execute("SELECT key, value FROM snapshot_info"))
        self.assertEqual((info["inserted"], info["updated"], info["deleted"]), (0, 1, 0))

        # A deleted file: a second walk finds which; nothing is read.
        os.remove(self.file(TYPHOON_2013))
        db.execute("SELECT eventmd_config('reset_stats')")
        db.executescript(read_sql("snapshot.sql"))
        self.assertEqual(self.stats(db), (0, 0))
        self.assertGreater(self.stats(db, "files_stated"), 2 * 44)
        info = dict(db.execute("SELECT key, value FROM snapshot_info"))
        self.assertEqual((info["inserted"], info["updated"], info["deleted"]), (0, 0, 1))
        db.close()
        self.assert_snapshot_equals_live()

    def test_readers_see_whole_refreshes(self):
        """WAL: a reader inside a transaction keeps its snapshot while a refresh
        commits, then sees all of the refresh."""
        self.run_wrapper()
        reader = plain_connection(self.snapshot)
        reader.execute("BEGIN")
        q = "SELECT count(*), (SELECT count(*) FROM sources), " \
            "(SELECT value FROM snapshot_info WHERE key = 'deleted') FROM events"
        self.assertEqual(reader.execute(q).fetchone(), (45, 169, 0))
        os.remove(self.file(TYPHOON_2013))
        self.assertIn(": 0 inserted, 0 updated, 1 deleted; 44 events;", self.run_wrapper())
        self.assertEqual(reader.execute(q).fetchone(), (45, 169, 0))
        reader.execute("COMMIT")
        self.assertEqual(reader.execute(q).fetchone(), (44, 165, 1))
        reader.close()

    def test_wrapper_errors(self):
        r = subprocess.run([self.wrapper, os.path.join(self.tmp, "nope"), self.snapshot],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is not a readable directory", r.stderr)
        self.assertFalse(os.path.exists(self.snapshot))
        r = subprocess.run([self.wrapper, self.archive], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage", r.stderr)


if __name__ == "__main__":
    unittest.main()
