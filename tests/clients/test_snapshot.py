#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Snapshot (sql/snapshot.sql, ext/eventmd-snapshot.sh) and full-text search
(sql/fts_live.sql, sql/search.sql) tests.

Usage (from the repository root, after `make`):
    /usr/bin/python3 tests/clients/test_snapshot.py [-v]

Environment:
    EVENTMD_EXT   the extension, as for .load        (default build/eventmd)
    EVENTMD_BIN   folder of the eventmd shell wrapper (default build/bin)
    EVENTMD_SQLITE3  the sqlite3 shell                (default sqlite3)

Every test works on a temporary copy of tests/sample; the snapshot wrapper is
made from the template ext/eventmd-snapshot.sh into a temporary folder, the
way the Makefile makes build/bin/eventmd-snapshot.  The snapshot is read by
plain sqlite3 connections that never load the extension; the live tables,
for comparison, by another connection that does.  Nothing here skips itself:
a missing extension, wrapper or sqlite3 shell is a failure.
"""

import collections
import json
import os
import re
import resource
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(REPO, "tests", "sample")
SQLDIR = os.path.join(REPO, "sql")
EXT = os.path.abspath(os.path.join(REPO, os.environ.get("EVENTMD_EXT", "build/eventmd")))
BIN = os.path.abspath(os.path.join(REPO, os.environ.get("EVENTMD_BIN", "build/bin")))
SQLITE3 = os.environ.get("EVENTMD_SQLITE3", "sqlite3")
VERSION = "1.1.0"

# Columns compared, live table -> snapshot table (same names, plus the ids).
COLUMNS = {
    "events": "path, date, title, topic, summary, cover_image, day_index, is_current, "
              "current_path, n_sources, n_related, n_changes, size, mtime, problem",
    "sources": "event_path, ordinal, name, url, domain",
    "related": "event_path, ordinal, title, target, target_date, context",
    "changes": "event_path, ordinal, title, target, changed_at, label, is_current",
}
# The snapshot's events table, in order (eventmd 1.1's columns after the id,
# then the source names that events_fts indexes).
EVENTS_COLUMNS = ["id"] + [c.strip() for c in COLUMNS["events"].split(",")] + ["sources"]
# The order of the ids after a full build: date, then path (no date last).
ID_ORDER = "date IS NULL, date, path"
# Row counts of the sample archive.
N_EVENTS, N_SOURCES, N_RELATED, N_CHANGES = 54, 194, 83, 67

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
# 2018/03/2: a 4-version chain (Ouagadougou), an orphan old version and its
# newest version (tariffs), a README.md day page and an older index.md.
OUAGA = "/news/2018/03/2/"
OUAGA_V = [OUAGA + n for n in (
    "2018-ouagadougou-attacks-pgunmen-attack-the-french-embassy-in-ouagadougou-"
    "burkina-faso.md",
    "2018-ouagadougou-attacks-gunmen-attack-the-french-embassy-and-the-army-"
    "headquarters-in-ouagadougou-burkina-faso.md",
    "gunmen-attack-the-french-embassy-and-the-army-headquarters-in-ouagadougou-burkina-"
    "faso-killing-at-least-seven-soldiers.md",
    "coordinated-attacks-by-armed-militants-on-the-french-embassy-and-the-army-"
    "headquarters-in-ouagadougou-burkina-faso-kill-eight-soldiers-eight.md")]
TARIFFS_OLD = (OUAGA + "the-european-union-warns-it-will-respond-to-tariffs-on-steel-and-"
               "aluminium-announced-by-the-united-states.md")
TARIFFS = (OUAGA + "the-european-commission-prepares-countermeasures-against-u-s-goods-"
           "after-the-united-states-announces-tariffs-of-25-on-steel-and-10-on-alumin.md")
OUAGA_V5 = OUAGA + "a-fifth-version-of-the-ouagadougou-attacks.md"

# The 1.0 snapshot layout (sql/snapshot.sql of eventmd 1.0.0), written by hand
# for the upgrade test: 14 event columns, no topic, no current_path, an FTS
# index over three columns, no snapshot_folders.
SCHEMA_1_0 = """
CREATE TABLE events(
  id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, date TEXT, title TEXT,
  summary TEXT, cover_image TEXT, day_index TEXT, is_current INTEGER,
  n_sources INTEGER, n_related INTEGER, n_changes INTEGER, size INTEGER,
  mtime INTEGER, problem TEXT);
CREATE INDEX events_date ON events(date);
CREATE INDEX events_file ON events(id, size, mtime);
CREATE TABLE sources(
  event_id INTEGER NOT NULL REFERENCES events(id), event_path TEXT NOT NULL,
  ordinal INTEGER NOT NULL, name TEXT, url TEXT, domain TEXT,
  PRIMARY KEY(event_path, ordinal));
CREATE INDEX sources_event_id ON sources(event_id);
CREATE INDEX sources_domain ON sources(domain);
CREATE TABLE related(
  event_id INTEGER NOT NULL REFERENCES events(id), event_path TEXT NOT NULL,
  ordinal INTEGER NOT NULL, title TEXT, target TEXT, target_date TEXT,
  context TEXT, PRIMARY KEY(event_path, ordinal));
CREATE INDEX related_event_id ON related(event_id);
CREATE INDEX related_target ON related(target);
CREATE INDEX related_target_date ON related(target_date);
CREATE TABLE changes(
  event_id INTEGER NOT NULL REFERENCES events(id), event_path TEXT NOT NULL,
  ordinal INTEGER NOT NULL, title TEXT, target TEXT, changed_at TEXT,
  label TEXT, is_current INTEGER, PRIMARY KEY(event_path, ordinal));
CREATE INDEX changes_event_id ON changes(event_id);
CREATE INDEX changes_target ON changes(target);
CREATE VIRTUAL TABLE events_fts USING fts5(
  title, summary, sources, tokenize = 'porter unicode61 remove_diacritics 2');
INSERT INTO events_fts(events_fts, rank) VALUES('rank', 'bm25(10.0, 5.0, 1.0)');
CREATE VIEW events_fts_docs AS SELECT id, path, date, size, mtime FROM events;
CREATE TABLE snapshot_info(key TEXT PRIMARY KEY, value);
CREATE VIEW events_per_month AS
  SELECT substr(date, 1, 7) AS month, count(*) AS files, sum(is_current) AS events,
         sum(n_sources * is_current) AS sources
    FROM events WHERE date IS NOT NULL GROUP BY month ORDER BY month;
CREATE VIEW top_outlets AS
  SELECT s.domain AS domain, count(*) AS citations FROM events e
    JOIN sources s ON s.event_id = e.id WHERE e.is_current GROUP BY s.domain;
CREATE VIEW problems AS SELECT path, date, problem FROM events WHERE problem IS NOT NULL;
"""


def make_wrapper(template, dest, ext=EXT):
    """The build's sed: @EXT@ and @SQLDIR@ replaced by paths relative to
    the wrapper's folder (the script finds them from its own location)."""
    with open(template) as f:
        text = f.read()
    here = os.path.dirname(os.path.abspath(dest))
    text = text.replace("@EXT@", os.path.relpath(ext, here)).replace(
        "@SQLDIR@", os.path.relpath(SQLDIR, here))
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


def dump(path):
    """Every row and schema object of a database file, as SQL text."""
    db = plain_connection(path)
    try:
        return "\n".join(db.iterdump())
    finally:
        db.close()


class SnapshotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Not a skip: without these the tests cannot say anything.
        assert os.path.exists(EXT + ".so") or os.path.exists(EXT), \
            "extension %s not built (make)" % EXT
        assert shutil.which(SQLITE3), "the sqlite3 shell (%s) is not installed" % SQLITE3
        assert hasattr(sqlite3.Connection, "enable_load_extension"), \
            "this Python cannot load extensions: run it with /usr/bin/python3"

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

    def write(self, relpath, text, mtime=None):
        """Write an archive file; mtime an hour in the past unless given (well
        before now, so that eventmd's recently-written-file checks stay out
        of the counts)."""
        p = self.file(relpath)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        if mtime is None:
            mtime = int(os.path.getmtime(p)) - 3600
        os.utime(p, (mtime, mtime))

    def read(self, relpath):
        with open(self.file(relpath), encoding="utf-8") as f:
            return f.read()

    def edit(self, relpath, old, new, mtime_delta=-100):
        """Replace text in an archive file and move its mtime (whole seconds:
        what eventmd compares is size and mtime in seconds)."""
        p = self.file(relpath)
        st = os.stat(p)
        text = self.read(relpath)
        self.assertIn(old, text)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))
        os.utime(p, (st.st_atime, int(st.st_mtime) + mtime_delta))

    def run_wrapper(self, *args, cwd=None, wrapper=None, **kw):
        """Run the wrapper: (returncode, stdout, stderr)."""
        r = subprocess.run([wrapper or self.wrapper] + list(args or (self.archive,
                                                                      self.snapshot)),
                           capture_output=True, text=True, cwd=cwd, **kw)
        return r.returncode, r.stdout, r.stderr

    def refresh(self, *args, **kw):
        """Run the wrapper, expecting success and exactly one line."""
        rc, out, err = self.run_wrapper(*args, **kw)
        self.assertEqual(rc, 0, err)
        self.assertEqual(err, "")
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        return lines[0]

    def info(self, path=None):
        db = plain_connection(path or self.snapshot)
        try:
            return dict(db.execute("SELECT key, value FROM snapshot_info"))
        finally:
            db.close()

    def counts(self, path=None):
        info = self.info(path)
        return (info["inserted"], info["updated"], info["deleted"])

    def snap_rows(self, sql, params=()):
        db = plain_connection(self.snapshot)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def child_rowids(self, table):
        """{(event_path, ordinal): rowid} of a snapshot child table."""
        return {(p, o): r for r, p, o in
                self.snap_rows("SELECT rowid, event_path, ordinal FROM %s" % table)}

    def assert_snapshot_equals_live(self, path=None):
        """Every snapshot table has exactly the live tables' rows."""
        path = path or self.snapshot
        snap = plain_connection(path)
        live = live_connection(self.archive, "live_")
        try:
            self.assertEqual([r[1] for r in snap.execute("PRAGMA table_info(events)")],
                             EVENTS_COLUMNS)
            for table, cols in COLUMNS.items():
                got = collections.Counter(snap.execute(
                    "SELECT %s FROM %s" % (cols, table)))
                want = collections.Counter(live.execute(
                    "SELECT %s FROM live_%s t" % (cols, table)))
                self.assertEqual(sum(got.values()), sum(want.values()), table)
                self.assertEqual(got, want, table)
                if table != "events":  # event_id is the id of the event_path's row
                    self.assertEqual(snap.execute(
                        "SELECT count(*) FROM %s t LEFT JOIN events e ON e.id = t.event_id "
                        "WHERE e.path IS NOT t.event_path" % table).fetchone()[0], 0, table)
            # events.sources: the source names in order, as events_fts indexes them.
            self.assertEqual(snap.execute(
                "SELECT count(*) FROM events e WHERE e.sources IS NOT (SELECT group_concat("
                "name, ' ; ') FROM (SELECT name FROM sources s WHERE s.event_id = e.id "
                "ORDER BY ordinal))").fetchone()[0], 0)
            # The ids are the snapshot's own: positive, never above last_id.
            last_id = dict(snap.execute("SELECT key, value FROM snapshot_info"))["last_id"]
            self.assertEqual(snap.execute("SELECT count(*) FROM events WHERE id < 1 OR id > ?",
                                          (last_id,)).fetchone()[0], 0)
            # The same, in SQL: EXCEPT both ways (the snapshot attached
            # read-only to the connection that has the extension).
            live.execute("ATTACH ? AS snap", ("file:%s?mode=ro" % path,))
            for table, cols in COLUMNS.items():
                for a, b in (("live_" + table, "snap." + table),
                             ("snap." + table, "live_" + table)):
                    n = live.execute("SELECT count(*) FROM (SELECT %s FROM %s EXCEPT "
                                     "SELECT %s FROM %s)" % (cols, a, cols, b)).fetchone()[0]
                    self.assertEqual(n, 0, "%s EXCEPT %s" % (a, b))
            live.execute("DETACH snap")
            # Full-text index: one row per event, the event's text.
            fts = snap.execute(
                "SELECT count(*) FROM events_fts f JOIN events e ON e.id = f.rowid "
                "WHERE f.title IS e.title AND f.topic IS e.topic AND f.summary IS e.summary "
                "AND f.sources IS (SELECT group_concat(name, ' ; ') FROM (SELECT name "
                "FROM sources s WHERE s.event_id = e.id ORDER BY ordinal))").fetchone()[0]
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
            # rank 1: the index checked against the events table's text too
            snap.execute("INSERT INTO events_fts(events_fts, rank) "
                         "VALUES('integrity-check', 1)")
            self.assertEqual(snap.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(snap.execute("PRAGMA foreign_key_check").fetchall(), [])
            self.assertEqual(snap.execute("PRAGMA application_id").fetchone()[0], 1702260068)
        finally:
            snap.close()
            live.close()

    def live_meta(self):
        """{path: (size, mtime)} of the live archive."""
        live = live_connection(self.archive)
        try:
            return {p: (s, m) for p, s, m in
                    live.execute("SELECT path, size, mtime FROM events")}
        finally:
            live.close()

    def search(self, db, q):
        return db.execute(read_sql("search.sql"), {"q": q}).fetchall()

    def shell_refresh(self, extra_sql=""):
        """snapshot.sql run by hand in the sqlite3 shell, as its header says,
        with eventmd's counters reset first: (returncode, output, stats)."""
        r = subprocess.run(
            [SQLITE3, "-batch", "-bail", "-cmd", ".load " + EXT,
             "-cmd", "PRAGMA temp_store = MEMORY",
             "-cmd", "SELECT 1 WHERE eventmd_attach('%s', 'live_') IS NULL"
             % self.archive.replace("'", "''"),
             "-cmd", "SELECT 1 WHERE eventmd_config('reset_stats') IS NOT NULL",
             self.snapshot, ".read " + os.path.join(SQLDIR, "snapshot.sql"),
             "SELECT 'stats: ' || eventmd_stats()" + extra_sql],
            capture_output=True, text=True)
        stats = None
        for line in r.stdout.splitlines():
            if line.startswith("stats: "):
                stats = json.loads(line[len("stats: "):])
        return r.returncode, r.stdout + r.stderr, stats

    # -- build, refresh, columns ------------------------------------------------

    def test_build_refresh(self):
        line = self.refresh()
        self.assertRegex(line, r"^eventmd-snapshot: %s: 54 inserted, 0 updated, 0 deleted; "
                               r"54 events; \d+\.\d\d s$" % re.escape(self.snapshot))
        self.assert_snapshot_equals_live()
        info = self.info()
        self.assertEqual(self.counts(), (54, 0, 0))
        self.assertEqual((info["events"], info["sources"], info["related"], info["changes"]),
                         (N_EVENTS, N_SOURCES, N_RELATED, N_CHANGES))
        db = plain_connection(self.snapshot)
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        db.close()
        # The first build went through a temporary file, gone now.
        self.assertEqual(sorted(os.listdir(self.tmp)),
                         ["archive", "eventmd-snapshot", "snapshot.db"])

        # Nothing changed: nothing done.
        self.assertIn(": 0 inserted, 0 updated, 0 deleted; 54 events;", self.refresh())

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
        text = self.read(KHARTOUM_2013).replace("2013-11-14", "2019-01-02").replace(
            "Water MINISTERS", "Boat owners on the Nile at Khartoum, a new event:")
        self.write(NEW_EVENT, text)
        os.remove(self.file(TYPHOON_2013))
        changed = {KHARTOUM_2013, NOBEL_2017, NEW_EVENT, TYPHOON_2013}

        line = self.refresh()
        self.assertIn(": 1 inserted, 2 updated, 1 deleted; 54 events;", line)
        self.assertEqual(self.counts(), (1, 2, 1))
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

    def test_new_columns(self):
        """The 1.1 columns in their places, with the sample's 1.1 values."""
        self.refresh()
        self.assert_snapshot_equals_live()
        rows = self.snap_rows(
            "SELECT path, topic, is_current, current_path, n_changes FROM events "
            "WHERE date = '2018-03-02' ORDER BY path")
        self.assertEqual(sorted(rows), sorted([
            (OUAGA_V[0], None, 0, OUAGA_V[3], 0),
            (OUAGA_V[1], None, 0, OUAGA_V[3], 2),
            (OUAGA_V[2], "2018 Ouagadougou attacks", 0, OUAGA_V[3], 3),
            (OUAGA_V[3], "2018 Ouagadougou attacks", 1, OUAGA_V[3], 4),
            (TARIFFS_OLD, None, 0, None, 0),   # the orphan: only the day page tells
            (TARIFFS, "2018 steel and aluminium tariffs", 1, TARIFFS, 0),  # day page topic
        ]))
        # The Chinese mirror's day: /zh/news/ links shown as /news/, joined.
        self.assertEqual(self.snap_rows(
            "SELECT count(*) FROM related r JOIN events e ON e.path = r.target "
            "WHERE r.event_path LIKE '/news/2019/03/3/%'"), [(2,)])
        self.assertEqual(self.snap_rows(
            "SELECT day_index FROM events WHERE date = '2019-03-03' GROUP BY 1"),
            [("/news/2019/03/3/index.md",)])
        # Day pages and pages outside news/ are not events.
        self.assertEqual(self.snap_rows(
            "SELECT count(*) FROM events WHERE path LIKE '%/README.md' "
            "OR path LIKE '%/index.md' OR path LIKE '/opinion/%'"), [(0,)])
        self.assertEqual(self.snap_rows(
            "SELECT count(*), sum(is_current), count(topic) FROM events"), [(54, 45, 20)])

    def test_views(self):
        self.refresh()
        db = plain_connection(self.snapshot)
        counts = {v: db.execute("SELECT count(*) FROM " + v).fetchone()[0] for v in (
            "events_per_month", "top_outlets", "dangling_links", "problems",
            "version_history", "related_pairs", "events_fts_docs", "newest_versions",
            "title_changes", "stories")}
        self.assertEqual(counts, {
            "events_per_month": 32, "top_outlets": 15, "dangling_links": 17,
            "problems": 3, "version_history": 51, "related_pairs": 83,
            "events_fts_docs": 54, "newest_versions": 45,
            "title_changes": 4 + 3 + 2 + 2 + 2,   # Ouagadougou, Blue Nile, Nepal,
            "stories": 12})                       # Sulawesi, the Alabama tornado
        self.assertEqual(db.execute("SELECT * FROM events_per_month LIMIT 2").fetchall(),
                         [("2013-11", 3, 3, 10), ("2014-02", 1, 1, 3)])
        self.assertEqual(db.execute("SELECT * FROM events_per_month WHERE month = '2018-03'"
                                    ).fetchall(), [("2018-03", 7, 3, 12)])
        self.assertEqual(db.execute("SELECT * FROM top_outlets LIMIT 2").fetchall(),
                         [("reuters.com", 38, "2013", "2018"), ("bbc.co.uk", 31, "2013", "2018")])
        self.assertEqual([r[2] for r in db.execute("SELECT * FROM problems")], [
            "date heading 2014-05-27 differs from path", "invalid UTF-8", "no title"])
        self.assertEqual(db.execute("SELECT sum(cited_by) FROM dangling_links").fetchone()[0], 19)
        self.assertEqual(db.execute(
            "SELECT count(*) FROM related_pairs WHERE in_archive").fetchone()[0], 61)
        self.assertEqual(db.execute("SELECT topic, events FROM stories LIMIT 4").fetchall(), [
            ("Grand Ethiopian Renaissance Dam", 4), ("Iran nuclear deal", 3),
            ("Paris Agreement", 2), ("Typhoon Haiyan", 2)])
        self.assertEqual(db.execute(
            "SELECT topic, versions, path FROM newest_versions WHERE date = '2018-03-02'"
        ).fetchall(), [("2018 Ouagadougou attacks", 4, OUAGA_V[3]),
                       ("2018 steel and aluminium tariffs", 1, TARIFFS)])
        self.assertEqual(db.execute(
            "SELECT n, label, version_path FROM title_changes WHERE event_path = ?",
            (OUAGA_V[3],)).fetchall(),
            [(1, "First version", OUAGA_V[0]), (2, "Update", OUAGA_V[1]),
             (3, "Update", OUAGA_V[2]), (4, "Current version", OUAGA_V[3])])

        # The views give what the sql/ examples give live.
        live = live_connection(self.archive)
        try:
            for view, script, cols in (
                    ("events_per_month", "events_per_month.sql", "*"),
                    ("top_outlets", "top_outlets.sql", "*"),
                    ("problems", "problems.sql", "path, coalesce(date, ''), problem"),
                    ("stories", "stories.sql",
                     "topic, events, first_day, last_day, CASE WHEN length(latest) > 50 "
                     "THEN substr(latest, 1, 49) || '…' ELSE latest END")):
                want = live.execute(read_sql(script)).fetchall()
                got = db.execute("SELECT %s FROM %s" % (cols, view)).fetchall()
                self.assertTrue(want, script)
                self.assertEqual(got[:len(want)], want, view)
            want = live.execute(
                "SELECT r.target, count(*) FROM related r JOIN events s "
                "ON s.path = r.event_path AND s.is_current LEFT JOIN events e "
                "ON e.path = r.target WHERE e.path IS NULL AND r.target IS NOT NULL "
                "GROUP BY r.target ORDER BY 2 DESC, 1").fetchall()
            self.assertEqual(db.execute(
                "SELECT missing_target, cited_by FROM dangling_links").fetchall(), want)
            self.assertEqual(
                [(r[1], r[0]) for r in live.execute(read_sql("dangling_links.sql"))
                 if not r[2].endswith("…")],
                [(r[1], r[0]) for r in db.execute(
                    "SELECT target_date, cited_by, missing_target FROM dangling_links")
                 if len(r[2]) <= 70])
            for path in (NOBEL_2017, OUAGA_V[3], "/news/2015/03/23/the-leaders-of-egypt-sudan-"
                         "and-ethiopia-sign-a-declaration-of-principles-in-khartoum-on-the-"
                         "blue-nile-dam-committing-their-countries-to-se.md"):
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
            # newest_versions.sql for a day, the view filtered on that day.
            for day in ("2018-03-02", "2019-03-03", "2015-03-23"):
                want = live.execute(read_sql("newest_versions.sql"), {"day": day}).fetchall()
                got = db.execute(
                    "SELECT date, coalesce(topic, ''), versions, sources, "
                    "CASE WHEN length(title) > 60 THEN substr(title, 1, 59) || '…' "
                    "ELSE title END FROM newest_versions WHERE date = ? "
                    "ORDER BY topic IS NULL, topic, path", (day,)).fetchall()
                self.assertTrue(want, day)
                self.assertEqual(got, want, day)
            # title_changes.sql for an event: the view's versions in the same order.
            want = live.execute(read_sql("title_changes.sql"), {"event": OUAGA_V[0]}).fetchall()
            self.assertEqual([(n, label) for n, at, label, is_, t in want], [
                (1, "First version"), (2, "Update"), (3, "Update"), (4, "Current version")])
            self.assertEqual([r[3] for r in want], ["first", "changed", "changed", "changed"])
            got = db.execute("SELECT n, coalesce(changed_at, ''), label FROM title_changes "
                             "WHERE event_path = ?", (OUAGA_V[3],)).fetchall()
            self.assertEqual([(i + 1, at, label) for i, (n, at, label) in enumerate(got)],
                             [(n, at, label) for n, at, label, is_, t in want])
        finally:
            live.close()
            db.close()

        # The plain sqlite3 shell, no extension, answers.
        r = subprocess.run([SQLITE3, self.snapshot, "SELECT count(*) FROM events_per_month"],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "32\n", ""))

    # -- versions across refreshes ------------------------------------------------

    def test_version_flips(self):
        """A new version, a deleted one, and day pages that change: the other
        files of the folder are refreshed too."""
        self.refresh()
        # A fifth version of the Ouagadougou attacks: it lists the fourth as
        # an update; the day page links it instead of the fourth.
        v4 = self.read(OUAGA_V[3])
        v5 = v4.replace("# Coordinated attacks", "# A fifth version: coordinated attacks")
        v5 = v5.replace("kill-eight-soldiers-eight.md) _(Current version)_",
                        "kill-eight-soldiers-eight.md) _2018-03-03 08:00:00 (Update)_\n"
                        "5. [A fifth version](%s) _(Current version)_" % OUAGA_V5)
        self.assertNotEqual(v5, v4)
        self.write(OUAGA_V5, v5)
        readme = OUAGA + "README.md"
        self.write(readme, self.read(readme).replace(OUAGA_V[3], OUAGA_V5))
        line = self.refresh()
        # new: the fifth; updated: the fourth (is_current) and the first
        # three (current_path); the tariffs files are looked at, unchanged.
        self.assertIn(": 1 inserted, 4 updated, 0 deleted; 55 events;", line)
        self.assert_snapshot_equals_live()
        self.assertEqual(self.snap_rows(
            "SELECT path, is_current, current_path FROM events WHERE path IN (?, ?, ?) "
            "ORDER BY path", (OUAGA_V[3], OUAGA_V5, TARIFFS)),
            sorted([(OUAGA_V[3], 0, OUAGA_V5), (OUAGA_V5, 1, OUAGA_V5),
                    (TARIFFS, 1, TARIFFS)]))

        # The fifth version goes again (the day page is left as it is: it now
        # links a file that is not there, and still links the tariffs, so the
        # fourth is an old version that nothing supersedes: current_path
        # NULL; the first three lead to it).
        os.remove(self.file(OUAGA_V5))
        line = self.refresh()
        self.assertIn(": 0 inserted, 4 updated, 1 deleted; 54 events;", line)
        self.assert_snapshot_equals_live()
        self.assertEqual(self.snap_rows("SELECT path, is_current, current_path FROM events "
                                        "WHERE path IN (?, ?) ORDER BY path",
                                        (OUAGA_V[0], OUAGA_V[3])),
                         sorted([(OUAGA_V[0], 0, OUAGA_V[3]), (OUAGA_V[3], 0, None)]))

        # Only the day page changes: it links the fourth version again and
        # files the tariffs under another topic.  No event file changed.
        self.write(readme, self.read(readme).replace(OUAGA_V5, OUAGA_V[3]).replace(
            "##### 2018 steel and aluminium tariffs", "##### Transatlantic trade dispute"))
        line = self.refresh()
        self.assertIn(": 0 inserted, 2 updated, 0 deleted; 54 events;", line)
        self.assert_snapshot_equals_live()
        self.assertEqual(self.snap_rows("SELECT is_current, topic FROM events WHERE path IN "
                                        "(?, ?) ORDER BY path", (OUAGA_V[3], TARIFFS)),
                         [(1, "2018 Ouagadougou attacks"), (1, "Transatlantic trade dispute")])
        # The topic is in the full-text index.
        self.assertEqual(self.snap_rows(
            "SELECT rowid FROM events_fts WHERE events_fts MATCH 'topic:transatlantic'"),
            self.snap_rows("SELECT id FROM events WHERE path = ?", (TARIFFS,)))

        # The README.md goes: the older index.md is the day page now, and it
        # links the first two versions and the orphan - the files it does not
        # link are superseded.
        os.remove(self.file(readme))
        line = self.refresh()
        self.assertRegex(line, r": 0 inserted, [1-9]\d* updated, 0 deleted; 54 events;")
        self.assert_snapshot_equals_live()
        self.assertEqual(dict(self.snap_rows(
            "SELECT path, is_current FROM events WHERE date = '2018-03-02'")), {
                OUAGA_V[0]: 0, OUAGA_V[1]: 0, OUAGA_V[2]: 0, OUAGA_V[3]: 0,
                TARIFFS_OLD: 1, TARIFFS: 0})
        # ... and the index.md changes too (it now links the newest files).
        index = OUAGA + "index.md"
        self.write(index, self.read(index) + "4. [The newest](%s)\n5. [Tariffs](%s)\n"
                   % (OUAGA_V[3], TARIFFS))
        line = self.refresh()
        self.assertRegex(line, r": 0 inserted, [1-9]\d* updated, 0 deleted; 54 events;")
        self.assert_snapshot_equals_live()

    def test_refresh_reads_only_touched_folders(self):
        """snapshot.sql run by hand in the sqlite3 shell: eventmd's counters
        show which files a refresh reads."""
        self.refresh()
        # One file of a one-event folder (with an index.md day page) changes:
        # it is parsed, and its day page; nothing else.
        self.edit(HARVEY_2017, "Rockport", "Rockport (Aransas County)")
        rc, out, stats = self.shell_refresh()
        self.assertEqual(rc, 0, out)
        self.assertIsNotNone(stats, out)
        self.assertEqual(stats["files_parsed"], 2, stats)
        self.assertLessEqual(stats["files_read"], 8, stats)
        # One metadata walk: no file was deleted, so no second walk to find
        # which (each event file stated once, a few more for the lookups).
        self.assertLess(stats["files_stated"], N_EVENTS + 10, stats)
        self.assertEqual(self.counts(), (0, 1, 0))

        # A file of the 2018/03/2 folder: the folder's six event files and its
        # day page are parsed (versions), once each; no other folder.
        self.edit(OUAGA_V[1], "Security forces", "The security forces")
        rc, out, stats = self.shell_refresh()
        self.assertEqual(rc, 0, out)
        self.assertEqual(stats["files_parsed"], 7, stats)
        self.assertEqual(self.counts(), (0, 1, 0))

        # A deleted file: a second (metadata) walk finds which; the folder's
        # remaining files and its day page are read for their versions,
        # nothing else.
        os.remove(self.file(TYPHOON_2013))
        rc, out, stats = self.shell_refresh()
        self.assertEqual(rc, 0, out)
        self.assertEqual((stats["files_parsed"], stats["files_read"]), (0, 0), stats)
        self.assertEqual(self.counts(), (0, 0, 1))
        os.remove(self.file(KHARTOUM_2013))
        rc, out, stats = self.shell_refresh()
        self.assertEqual(rc, 0, out)
        self.assertEqual(stats["files_parsed"], 2, stats)   # the other file, README.md
        self.assertEqual(self.counts(), (0, 0, 1))
        self.assert_snapshot_equals_live()

    def test_readers_see_whole_refreshes(self):
        """WAL: a reader inside a transaction keeps its snapshot while a refresh
        commits, then sees all of the refresh."""
        self.refresh()
        reader = plain_connection(self.snapshot)
        reader.execute("BEGIN")
        q = "SELECT count(*), (SELECT count(*) FROM sources), " \
            "(SELECT value FROM snapshot_info WHERE key = 'deleted') FROM events"
        self.assertEqual(reader.execute(q).fetchone(), (N_EVENTS, N_SOURCES, 0))
        os.remove(self.file(TYPHOON_2013))
        self.assertIn(": 0 inserted, 0 updated, 1 deleted; 53 events;", self.refresh())
        self.assertEqual(reader.execute(q).fetchone(), (N_EVENTS, N_SOURCES, 0))
        reader.execute("COMMIT")
        self.assertEqual(reader.execute(q).fetchone(), (N_EVENTS - 1, N_SOURCES - 4, 1))
        reader.close()

    # -- a snapshot written by eventmd 1.0 -----------------------------------------

    def make_1_0_snapshot(self, path):
        """A snapshot in eventmd 1.0's layout, with 1.0's habits: every file
        but the 2019 ones (newer than that snapshot) and two README.md day
        pages as events with 'no title' (1.0 read them as events)."""
        live = live_connection(self.archive, "live_")
        db = plain_connection(path)
        try:
            db.executescript(SCHEMA_1_0)
            db.execute("BEGIN")
            old = "path NOT LIKE '/news/2019/%'"
            for row in live.execute(
                    "SELECT rowid, path, date, title, summary, cover_image, day_index, "
                    "is_current, n_sources, n_related, n_changes, size, mtime, problem "
                    "FROM live_events WHERE " + old):
                db.execute("INSERT INTO events VALUES (%s)" % ",".join("?" * 14), row)
            for i, p in enumerate(("/news/2015/03/23/README.md", OUAGA + "README.md"), 1):
                db.execute("INSERT INTO events(id, path, date, is_current, n_sources, "
                           "n_related, n_changes, size, mtime, problem) "
                           "VALUES (?, ?, ?, 1, 0, 0, 0, 700, 1500000000, 'no title')",
                           (i, p, p[6:16].replace("/", "-")))
            for table, cols in (("sources", "event_path, ordinal, name, url, domain"),
                                ("related", COLUMNS["related"]),
                                ("changes", COLUMNS["changes"])):
                for row in live.execute("SELECT (SELECT rowid FROM live_events e WHERE "
                                        "e.path = t.event_path), %s FROM live_%s t WHERE "
                                        "event_path NOT LIKE '/news/2019/%%'" % (cols, table)):
                    db.execute("INSERT INTO %s(event_id, %s) VALUES (%s)"
                               % (table, cols, ",".join("?" * len(row))), row)
            db.execute("INSERT INTO events_fts(rowid, title, summary, sources) "
                       "SELECT id, title, summary, (SELECT group_concat(name, ' ; ') "
                       "FROM sources s WHERE s.event_id = e.id) FROM events e")
            n = db.execute("SELECT count(*) FROM events").fetchone()[0]
            for k, v in (("root", os.path.realpath(self.archive)),
                         ("eventmd_version", "1.0.0"),
                         ("refreshed_at", "2025-06-01T00:00:00.000Z"),
                         ("refresh_seconds", 0.2), ("inserted", n), ("updated", 0),
                         ("deleted", 0), ("events", n)):
                db.execute("INSERT INTO snapshot_info VALUES (?, ?)", (k, v))
            # A view of the user's own: it survives the rebuild.
            db.execute("CREATE VIEW my_current_events AS "
                       "SELECT path FROM events WHERE is_current")
            db.execute("COMMIT")
            db.execute("PRAGMA journal_mode = WAL")
            return n
        finally:
            db.close()
            live.close()

    def test_upgrade_from_1_0(self):
        n = self.make_1_0_snapshot(self.snapshot)
        self.assertEqual(n, 51 + 2)
        self.assertNotIn("topic", [r[1] for r in self.snap_rows("PRAGMA table_info(events)")])
        old_dump = dump(self.snapshot)

        # Run by hand, the script refuses it (and changes nothing).
        rc, out, stats = self.shell_refresh()
        self.assertNotEqual(rc, 0)
        self.assertIn("this snapshot was written by another eventmd version or in an older "
                      "layout: rebuild it with eventmd-snapshot, or delete it", out)
        self.assertEqual(dump(self.snapshot), old_dump)

        # A reader of the 1.0 snapshot keeps it until it ends its transaction.
        reader = plain_connection(self.snapshot)
        reader.execute("BEGIN")
        self.assertEqual(reader.execute("SELECT count(*) FROM events").fetchone()[0], 53)

        # eventmd-snapshot rebuilds it, saying so in one line.
        line = self.refresh()
        self.assertRegex(line, r"^eventmd-snapshot: %s was written by eventmd 1\.0\.0: "
                               r"rebuilt for %s: 3 inserted, 51 updated, 2 deleted; "
                               r"54 events; \d+\.\d\d s$"
                         % (re.escape(self.snapshot), re.escape(VERSION)))
        self.assertEqual(reader.execute("SELECT count(*) FROM events").fetchone()[0], 53)
        reader.execute("COMMIT")
        self.assertEqual(reader.execute("SELECT count(*) FROM events").fetchone()[0], 54)
        reader.close()

        # The result: a 1.1 snapshot, row for row the live tables.
        self.assert_snapshot_equals_live()
        self.assertEqual(self.info()["eventmd_version"], VERSION)
        self.assertEqual(self.counts(), (3, 51, 2))
        db = plain_connection(self.snapshot)
        try:
            self.assertEqual([r[1] for r in db.execute("PRAGMA table_info(events_fts)")],
                             ["title", "topic", "summary", "sources"])
            self.assertEqual(db.execute("SELECT count(*) FROM events_fts WHERE events_fts "
                                        "MATCH 'topic:ouagadougou'").fetchone()[0], 2)
            self.assertEqual(db.execute("SELECT count(*) FROM my_current_events"
                                        ).fetchone()[0], 45)
            self.assertEqual(db.execute("SELECT count(*) FROM events WHERE path LIKE "
                                        "'%README.md'").fetchone()[0], 0)
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        finally:
            db.close()

        # Then it is an ordinary snapshot: the next run refreshes it.
        self.assertIn(": 0 inserted, 0 updated, 0 deleted; 54 events;", self.refresh())

    def test_upgrade_from_1_0_refuses_to_shrink(self):
        """The shrink check holds for a rebuild too, against the rows the 1.0
        snapshot had."""
        self.make_1_0_snapshot(self.snapshot)
        old_dump = dump(self.snapshot)
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        rc, out, err = self.run_wrapper(empty, self.snapshot)
        self.assertEqual((rc, out), (3, ""), err)
        self.assertIn("would delete 53 of the 53 events", err)
        self.assertEqual(dump(self.snapshot), old_dump)

    # -- refusing to shrink ----------------------------------------------------------

    def test_allow_shrink(self):
        self.refresh()
        old_dump = dump(self.snapshot)
        empty = os.path.join(self.tmp, "empty")  # as an unmounted archive looks
        os.mkdir(empty)

        rc, out, err = self.run_wrapper(empty, self.snapshot)
        self.assertEqual(rc, 3, err)
        self.assertEqual(out, "")
        self.assertEqual(err.splitlines(), [
            "eventmd-snapshot: %s: refused: this refresh would delete 54 of the 54 events "
            "in the snapshot (the archive has 0 event files); nothing was changed; if the "
            "archive really lost them, run again with --allow-shrink" % self.snapshot])
        self.assertEqual(dump(self.snapshot), old_dump)   # rows and snapshot_info untouched
        self.assertEqual(self.counts(), (54, 0, 0))

        # Half of them may go: deleting 27 of 54 is a refresh; 28 is not.
        live = live_connection(self.archive)
        paths = [p for (p,) in live.execute("SELECT path FROM events ORDER BY path")]
        live.close()
        for p in paths[:27]:
            os.remove(self.file(p))
        self.assertRegex(self.refresh(), r": 0 inserted, \d+ updated, 27 deleted; 27 events;")
        self.assert_snapshot_equals_live()
        os.remove(self.file(paths[27]))
        # (26 left of 27: not more than half gone; then 14 more: 15 > 13.5)
        self.assertIn("1 deleted; 26 events;", self.refresh())
        for p in paths[28:43]:
            os.remove(self.file(p))
        before = dump(self.snapshot)
        rc, out, err = self.run_wrapper()
        self.assertEqual(rc, 3, err)
        self.assertIn("would delete 15 of the 26 events in the snapshot (the archive has "
                      "11 event files)", err)
        self.assertEqual(dump(self.snapshot), before)

        # --allow-shrink: done.
        line = self.refresh("--allow-shrink", self.archive, self.snapshot)
        self.assertRegex(line, r": 0 inserted, \d+ updated, 15 deleted; 11 events;")
        self.assert_snapshot_equals_live()
        line = self.refresh("--allow-shrink", empty, self.snapshot)
        self.assertIn(": 0 inserted, 0 updated, 11 deleted; 0 events;", line)

        # The same refusal when snapshot.sql is run by hand, unless
        # @allow_shrink is set.
        self.refresh()
        shutil.rmtree(self.archive)
        os.mkdir(self.archive)
        rc, out, stats = self.shell_refresh()
        self.assertNotEqual(rc, 0)
        self.assertIn("refused: this refresh would delete 11 of the 11 events", out)
        self.assertIn("eventmd-snapshot: refused: the refresh would delete more than half "
                      "of the events", out)
        self.assertEqual(self.info()["events"], 11)

    # -- failures, odd arguments ------------------------------------------------------

    def assert_nothing_left(self, folder, allowed):
        self.assertEqual(sorted(os.listdir(folder)), sorted(allowed))

    def test_failed_first_build_leaves_no_file(self):
        # The archive is not a readable directory.
        rc, out, err = self.run_wrapper(os.path.join(self.tmp, "nope"), self.snapshot)
        self.assertEqual(rc, 1)
        self.assertIn("is not a readable directory", err)
        self.assert_nothing_left(self.tmp, ["archive", "eventmd-snapshot"])

        # The extension cannot be loaded (sqlite3 has opened the file by then).
        bad = make_wrapper(os.path.join(REPO, "ext", "eventmd-snapshot.sh"),
                           os.path.join(self.tmp, "bad-wrapper"),
                           ext=os.path.join(self.tmp, "no-such-extension"))
        rc, out, err = self.run_wrapper(self.archive, self.snapshot, wrapper=bad)
        self.assert_nothing_left(self.tmp, ["archive", "eventmd-snapshot", "bad-wrapper"])
        self.assertEqual(rc, 1)
        self.assertIn("no-such-extension", err)
        self.assertIn("not written", err)
        os.remove(bad)

        # The disk fills up half way (a file size limit of 64 KiB).
        def limit():
            resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        rc, out, err = self.run_wrapper(preexec_fn=limit)
        self.assert_nothing_left(self.tmp, ["archive", "eventmd-snapshot"])
        self.assertNotEqual(rc, 0)
        self.assertEqual(out, "")

        # The empty file a failed first build of eventmd 1.0 left behind is
        # replaced by a first build; stale -wal/-shm files beside it go.
        open(self.snapshot, "w").close()
        with open(self.snapshot + "-wal", "wb") as f:
            f.write(b"\x37\x7f\x06\x82" + b"\0" * 28)
        line = self.refresh()
        self.assertIn(": 54 inserted, 0 updated, 0 deleted; 54 events;", line)
        self.assert_snapshot_equals_live()

    def test_wrapper_refuses_other_files(self):
        # Not a database; a database that is not a snapshot; a folder.
        for name, content in (("notes.db", b"not a database at all\n" * 100),):
            p = os.path.join(self.tmp, name)
            with open(p, "wb") as f:
                f.write(content)
            rc, out, err = self.run_wrapper(self.archive, p)
            self.assertEqual(rc, 1, err)
            self.assertIn("cannot read it as an SQLite database", err)
            with open(p, "rb") as f:
                self.assertEqual(f.read(), content)
        other = os.path.join(self.tmp, "other.db")
        db = plain_connection(other)
        db.execute("CREATE TABLE events(x)")
        db.execute("INSERT INTO events VALUES (42)")
        db.close()
        before = dump(other)
        rc, out, err = self.run_wrapper(self.archive, other)
        self.assertEqual(rc, 1, err)
        self.assertIn("is not an eventmd snapshot (it has tables but no snapshot_info): "
                      "not touched", err)
        self.assertEqual(dump(other), before)
        rc, out, err = self.run_wrapper(self.archive, self.tmp)
        self.assertEqual(rc, 1, err)
        self.assertIn("is not a regular file", err)
        # Usage.
        rc, out, err = self.run_wrapper(self.archive)
        self.assertEqual(rc, 2)
        self.assertIn("usage", err)
        rc, out, err = self.run_wrapper("--shrink", self.archive, self.snapshot)
        self.assertEqual(rc, 2)
        self.assertIn("unknown option '--shrink'", err)
        self.assertFalse(os.path.exists(self.snapshot))

    def test_arguments_are_not_globbed(self):
        """Arguments with *, ? and [...] reach the program as given."""
        work = os.path.join(self.tmp, "work")
        os.mkdir(work)
        shutil.move(self.archive, os.path.join(work, "arch*"))
        os.mkdir(os.path.join(work, "archive-empty"))   # what arch* would match too
        self.archive = os.path.join(work, "arch*")
        decoy = os.path.join(work, "snap1.db")        # what snap*.db would match
        with open(decoy, "wb") as f:
            f.write(b"a decoy: not a database\n")
        decoy_b = os.path.join(work, "a.db")          # what [ab].db would match
        with open(decoy_b, "wb") as f:
            f.write(b"another decoy\n")

        line = self.refresh("arch*", "snap*.db", cwd=work)
        self.assertIn("eventmd-snapshot: snap*.db: 54 inserted", line)
        self.snapshot = os.path.join(work, "snap*.db")
        self.assert_snapshot_equals_live()
        self.assertEqual(self.info()["root"], os.path.join(os.path.realpath(work), "arch*"))
        line = self.refresh("arch*", "[ab].db", cwd=work)
        self.assertIn("eventmd-snapshot: [ab].db: 54 inserted", line)
        self.assertTrue(os.path.exists(os.path.join(work, "[ab].db")))
        rc, out, err = self.run_wrapper("ar?h*", "snap*.db", cwd=work)
        self.assertEqual(rc, 1)
        self.assertIn("root 'ar?h*' is not a readable directory", err)
        with open(decoy, "rb") as f:
            self.assertEqual(f.read(), b"a decoy: not a database\n")
        with open(decoy_b, "rb") as f:
            self.assertEqual(f.read(), b"another decoy\n")
        # An option with a * is not matched against files named like options.
        with open(os.path.join(work, "--allow-shrink"), "w") as f:
            f.write("")
        rc, out, err = self.run_wrapper("--allow-*", "arch*", "snap*.db", cwd=work)
        self.assertEqual(rc, 2)
        self.assertIn("unknown option '--allow-*'", err)
        # A folder name with a newline at its end, and quotes.
        odd = os.path.join(self.tmp, "it's an\narchive\n")
        shutil.copytree(self.archive, odd)
        self.archive = odd
        self.snapshot = os.path.join(self.tmp, "odd.db")
        self.refresh(odd, self.snapshot)
        self.assert_snapshot_equals_live()

    # -- ids, layouts -------------------------------------------------------------------

    def ids_by_path(self):
        return dict(self.snap_rows("SELECT path, id FROM events"))

    def assert_ids_in_date_order(self):
        """A full build's ids: 1, 2, ... in date order, then path order."""
        self.assertEqual(
            [r[0] for r in self.snap_rows("SELECT id FROM events ORDER BY " + ID_ORDER)],
            list(range(1, self.info()["events"] + 1)))

    def test_ids_in_date_order(self):
        self.refresh()
        self.assert_ids_in_date_order()
        self.assertEqual(self.info()["last_id"], N_EVENTS)
        # Browsing by rowid (what Datasette and sqlite-utils rows do) reads
        # chronologically.
        dates = [d for (d,) in self.snap_rows("SELECT date FROM events ORDER BY rowid")
                 if d is not None]
        self.assertEqual(dates, sorted(dates))
        ids = self.ids_by_path()
        newest = max(ids, key=ids.get)

        # A refresh: a changed file keeps its id, a new one gets the next id,
        # the deleted file's id is not given again.
        self.edit(KHARTOUM_2013, "Water ministers", "The water ministers")
        self.write(NEW_EVENT, self.read(KHARTOUM_2013).replace("2013-11-14", "2019-01-02"))
        os.remove(self.file(newest))
        self.assertIn(": 1 inserted, 1 updated, 1 deleted;", self.refresh())
        after = self.ids_by_path()
        self.assertEqual(after[KHARTOUM_2013], ids[KHARTOUM_2013])
        self.assertEqual(after[NEW_EVENT], N_EVENTS + 1)
        self.assertNotIn(newest, after)
        self.assertEqual({p: i for p, i in after.items() if p != NEW_EVENT},
                         {p: i for p, i in ids.items() if p != newest})
        self.assert_snapshot_equals_live()
        os.remove(self.file(NEW_EVENT))
        self.write(NEW_EVENT.replace("a-new-event", "another-new-event"),
                   self.read(HARVEY_2017).replace("2017-08-25", "2019-01-02"))
        self.refresh()
        self.assertEqual(self.info()["last_id"], N_EVENTS + 2)
        self.assertEqual(max(self.ids_by_path().values()), N_EVENTS + 2)
        self.assert_snapshot_equals_live()

    def make_layout_2(self):
        """The snapshot as the previous layout (2) had it: ids not in date
        order, events_fts a full-text index with its own copy of the text,
        no sources column in events."""
        db = plain_connection(self.snapshot)
        try:
            db.executescript("""
                BEGIN;
                DROP TRIGGER events_fts_insert; DROP TRIGGER events_fts_delete;
                DROP TRIGGER events_fts_update; DROP TABLE events_fts;
                UPDATE events SET id = 1000003 * id % 7919 + 100000;
                UPDATE sources SET event_id = 1000003 * event_id % 7919 + 100000;
                UPDATE related SET event_id = 1000003 * event_id % 7919 + 100000;
                UPDATE changes SET event_id = 1000003 * event_id % 7919 + 100000;
                CREATE VIRTUAL TABLE events_fts USING fts5(
                  title, topic, summary, sources,
                  tokenize = 'porter unicode61 remove_diacritics 2');
                INSERT INTO events_fts(rowid, title, topic, summary, sources)
                  SELECT id, title, topic, summary, sources FROM events;
                ALTER TABLE events DROP COLUMN sources;
                UPDATE snapshot_info SET value = 2 WHERE key = 'layout';
                DELETE FROM snapshot_info WHERE key = 'last_id';
                COMMIT;""")
        finally:
            db.close()

    def test_upgrade_from_layout_2(self):
        self.refresh()
        self.make_layout_2()
        self.assertNotEqual(
            [r[0] for r in self.snap_rows("SELECT id FROM events ORDER BY " + ID_ORDER)],
            list(range(1, N_EVENTS + 1)))
        old_dump = dump(self.snapshot)
        # By hand: refused, nothing changed.
        rc, out, stats = self.shell_refresh()
        self.assertNotEqual(rc, 0)
        self.assertIn("or in an older layout: rebuild it with eventmd-snapshot", out)
        self.assertEqual(dump(self.snapshot), old_dump)
        # The command rebuilds it, saying so in its one line.
        line = self.refresh()
        self.assertRegex(line, r"^eventmd-snapshot: %s had snapshot layout 2: rebuilt in "
                               r"layout 3: 0 inserted, 54 updated, 0 deleted; 54 events; "
                               r"\d+\.\d\d s$" % re.escape(self.snapshot))
        self.assertEqual(self.info()["layout"], 3)
        self.assert_ids_in_date_order()
        self.assert_snapshot_equals_live()
        self.assertEqual(len(self.search(plain_connection(self.snapshot), "topic:haiyan")), 2)
        self.assertIn(": 0 inserted, 0 updated, 0 deleted; 54 events;", self.refresh())

    # -- the command line ---------------------------------------------------------------

    def test_help_version_usage(self):
        rc, out, err = self.run_wrapper("--help")
        self.assertEqual((rc, err), (0, ""))
        self.assertTrue(out.startswith("usage: eventmd-snapshot [--allow-shrink] [--quiet] "
                                       "ARCHIVE_DIR SNAPSHOT.db\n"), out)
        for word in ("--allow-shrink", "--quiet", "--version", "Exit status", "events_fts"):
            self.assertIn(word, out)
        self.assertEqual(self.run_wrapper("-h")[:2], (0, out))
        self.assertEqual(self.run_wrapper("--version"), (0, "eventmd-snapshot %s\n" % VERSION, ""))
        for args, why in (((), "expected 2 arguments, got 0"),
                          ((self.archive,), "expected 2 arguments, got 1"),
                          ((self.archive, self.snapshot, "x"), "expected 2 arguments, got 3"),
                          (("--frobnicate", self.archive, self.snapshot),
                           "unknown option '--frobnicate'")):
            r = subprocess.run([self.wrapper] + list(args), capture_output=True, text=True)
            self.assertEqual((r.returncode, r.stdout), (2, ""), args)
            self.assertEqual(r.stderr, "eventmd-snapshot: %s; usage: eventmd-snapshot "
                             "[--allow-shrink] [--quiet] ARCHIVE_DIR SNAPSHOT.db (try --help)\n"
                             % why, args)
        self.assertFalse(os.path.exists(self.snapshot))

    def run_on_terminal(self, *args):
        """Run the wrapper with its stderr on a pseudo-terminal (stdout a
        pipe): (returncode, stdout, what the terminal received)."""
        import pty
        import select
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen([self.wrapper] + list(args), stdout=subprocess.PIPE,
                                 stderr=slave, stdin=subprocess.DEVNULL)
            os.close(slave)
            slave = None
            got = b""
            while True:
                ready, _, _ = select.select([master], [], [], 60)
                self.assertTrue(ready, "no output for 60 s")
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    break
                if not chunk:
                    break
                got += chunk
            out = p.stdout.read().decode()
            p.stdout.close()
            return p.wait(), out, got.decode()
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)

    def test_progress_on_a_terminal(self):
        rc, out, term = self.run_on_terminal(self.archive, self.snapshot)
        self.assertEqual(rc, 0, term)
        self.assertRegex(out, r"^eventmd-snapshot: %s: 54 inserted, 0 updated, 0 deleted; "
                              r"54 events; \d+\.\d\d s\n$" % re.escape(self.snapshot))
        # Updated in place (carriage returns, no newline), files done/total
        # and a rate, then erased.
        self.assertNotIn("\n", term)
        self.assertRegex(term, r"\reventmd-snapshot: 54/54 files read, \d+ files/s\x1b\[K")
        self.assertTrue(term.endswith("\r\x1b[K"), repr(term))
        self.assert_snapshot_equals_live()
        # More than one batch: the count goes up batch by batch (1000 files
        # each); here a refresh of the sample's news/ (53 events) copied 20
        # times over.
        for i in range(1, 21):
            shutil.copytree(os.path.join(SAMPLE, "news"),
                            os.path.join(self.archive, "copy%02d" % i, "news"))
        rc, out, term = self.run_on_terminal(self.archive, self.snapshot)
        self.assertEqual(rc, 0, term)
        self.assertIn(": 1060 inserted, 0 updated, 0 deleted; 1114 events;", out)
        self.assertEqual(re.findall(r"(\d+)/(\d+) files read", term),
                         [("1000", "1060"), ("1060", "1060")])
        # --quiet: nothing at all on success; not a terminal: no progress.
        self.touch_all()
        rc, out, term = self.run_on_terminal("--quiet", self.archive, self.snapshot)
        self.assertEqual((rc, out, term), (0, "", ""))
        self.assertEqual(self.counts(), (0, 1114, 0))
        self.touch_all()
        rc, out, err = self.run_wrapper()
        self.assertEqual((rc, err), (0, ""))
        self.assertIn(": 0 inserted, 1114 updated, 0 deleted;", out)
        # Errors still reach stderr with --quiet.
        rc, out, err = self.run_wrapper("--quiet", os.path.join(self.tmp, "nope"),
                                        self.snapshot)
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("is not a readable directory", err)

    def touch_all(self):
        """Every event file's mtime one second back: all of them changed."""
        for folder, _, files in os.walk(self.archive):
            for f in files:
                p = os.path.join(folder, f)
                m = int(os.path.getmtime(p)) - 1
                os.utime(p, (m, m))

    # -- full-text search ----------------------------------------------------------------

    def test_fts_snapshot(self):
        self.refresh()
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
        best = db.execute(
            "SELECT d.path FROM events_fts f JOIN events_fts_docs d ON d.id = f.rowid "
            "WHERE events_fts MATCH 'nile AND khartoum' ORDER BY bm25(events_fts, 10, 5, 5, 1) "
            "LIMIT 1").fetchone()[0]
        self.assertEqual(best, BEST_NILE_KHARTOUM)
        # bm25 order = rank order, MATCH on one column, the sources column.
        self.assertEqual(
            [r[0] for r in db.execute("SELECT rowid FROM events_fts WHERE events_fts "
                                      "MATCH 'nile AND khartoum' ORDER BY rank")],
            [r[0] for r in db.execute("SELECT rowid FROM events_fts WHERE events_fts "
                                      "MATCH 'nile AND khartoum' ORDER BY "
                                      "bm25(events_fts, 10.0, 5.0, 5.0, 1.0)")])
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
        # The topic is indexed: "Haiyan" is only in the topic of the two
        # typhoon events (from their day pages), "Renaissance" only in the
        # Blue Nile dam's.
        self.assertEqual([r[1] for r in db.execute("PRAGMA table_info(events_fts)")],
                         ["title", "topic", "summary", "sources"])
        for q, n in (("haiyan", 2), ("topic:haiyan", 2), ("title:haiyan", 0),
                     ("renaissance", 4), ("topic:\"iran nuclear deal\"", 3)):
            self.assertEqual(db.execute("SELECT count(*) FROM events_fts WHERE events_fts "
                                        "MATCH ?", (q,)).fetchone()[0], n, q)
        self.assertEqual(len(self.search(db, "haiyan")), 2)
        self.assertEqual(sorted(r[0] for r in self.search(db, "topic:haiyan")),
                         ["2013-11-08", "2013-11-14"])
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
        self.assertEqual(db.execute("SELECT count(*) FROM temp.events_fts").fetchone()[0],
                         N_EVENTS)
        rows = self.search(db, "nile AND khartoum")
        self.assertEqual(len(rows), 5)
        self.assertEqual(rows[0][2][:12], "Blue [Nile] ")
        self.assertEqual(self.search(db, "omdurman"), [])
        self.assertEqual(len(self.search(db, "topic:haiyan")), 2)

        # Running it again with nothing changed reads no file.
        db.execute("SELECT eventmd_config('reset_stats')")
        db.executescript(read_sql("fts_live.sql"))
        self.assertEqual(db.execute("SELECT json_extract(s, '$.files_read'), "
                                    "json_extract(s, '$.files_parsed') FROM "
                                    "(SELECT eventmd_stats() AS s)").fetchone(), (0, 0))

        # A file changes: the next run sees it.
        self.edit(KHARTOUM_2013, "meet in Khartoum", "meet in Omdurman")
        self.assertEqual(len(self.search(db, "nile AND khartoum")), 5)  # not yet
        db.executescript(read_sql("fts_live.sql"))
        rows = self.search(db, "omdurman")
        self.assertEqual(len(rows), 1)
        self.assertIn("meet in [Omdurman]", rows[0][2])
        self.assertEqual(len(self.search(db, "nile AND khartoum")), 4)
        # Deleted and new files.
        os.remove(self.file(TYPHOON_2013))
        self.assertEqual(len(self.search(db, "typhoon AND philippines")), 2)
        db.executescript(read_sql("fts_live.sql"))
        self.assertEqual(len(self.search(db, "typhoon AND philippines")), 1)
        self.assertEqual(db.execute("SELECT count(*) FROM temp.events_fts").fetchone()[0],
                         N_EVENTS - 1)
        self.assertEqual(db.execute("SELECT count(*) FROM temp.events_fts_docs").fetchone()[0],
                         N_EVENTS - 1)
        db.close()


CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def banner(*lines):
    """A block on stderr that cannot be missed."""
    bar = "!" * 72
    sys.stderr.write("\n".join([bar] + ["!!! " + line for line in lines] + [bar]) + "\n")


def sqlite_utils_ready():
    """Debian's sqlite-utils command, and its Python module for this Python."""
    if not shutil.which("sqlite-utils"):
        return False
    try:
        import sqlite_utils  # noqa: F401
    except ImportError:
        return False
    return True


class SqliteUtilsTest(unittest.TestCase):
    """The snapshot through Debian's sqlite-utils (3.30): it finds events_fts
    by itself (Table.detect_fts(), the test Datasette makes too), and
    search, tables and rows work.  sqlite-utils is installed first when
    missing (tests/tools/deps.sh: apt-get as root).  When it still cannot
    run: under CI (CI=true) a failure; otherwise a loud skip."""

    @classmethod
    def setUpClass(cls):
        if not sqlite_utils_ready():
            subprocess.run(["sh", os.path.join(REPO, "tests", "tools", "deps.sh"),
                            "sqlite-utils"], check=False)
        if not sqlite_utils_ready():
            why = ("Debian's sqlite-utils (the sqlite-utils command and its Python module) "
                   "is not installed and could not be installed")
            if CI:
                raise AssertionError("the sqlite-utils test cannot run under CI: %s; install "
                                     "it: apt-get install sqlite-utils" % why)
            banner("SKIPPED: the sqlite-utils snapshot test is NOT run",
                   "because: " + why, "to run it: apt-get install sqlite-utils",
                   "(with CI=true this is a failure, not a skip)")
            raise unittest.SkipTest(why)
        cls.tmp = tempfile.mkdtemp(prefix="eventmd-sqlite-utils-test-")
        cls.archive = os.path.join(cls.tmp, "archive")
        shutil.copytree(SAMPLE, cls.archive)
        cls.db = os.path.join(cls.tmp, "news.db")
        cls.wrapper = make_wrapper(os.path.join(REPO, "ext", "eventmd-snapshot.sh"),
                                   os.path.join(cls.tmp, "eventmd-snapshot"))
        cls.snapshot()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def snapshot(cls):
        r = subprocess.run([cls.wrapper, "--quiet", cls.archive, cls.db],
                           capture_output=True, text=True)
        assert (r.returncode, r.stdout, r.stderr) == (0, "", ""), r

    def su(self, *args):
        """sqlite-utils ARGS: its JSON output."""
        r = subprocess.run(["sqlite-utils"] + list(args), capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stderr), (0, ""), args)
        return json.loads(r.stdout)

    def fts_paths(self, q):
        """The events matching q, best first, asked of the snapshot directly."""
        db = plain_connection(self.db)
        try:
            return [p for (p,) in db.execute(
                "SELECT e.path FROM events_fts f JOIN events e ON e.id = f.rowid "
                "WHERE events_fts MATCH ? ORDER BY f.rank", (q,))]
        finally:
            db.close()

    def test_detect_fts(self):
        import sqlite_utils
        db = sqlite_utils.Database(self.db)
        try:
            self.assertEqual(db["events"].detect_fts(), "events_fts")
            for other in ("sources", "related", "changes", "snapshot_info"):
                self.assertIsNone(db[other].detect_fts(), other)
            self.assertEqual(db["events_fts"].virtual_table_using, "FTS5")
            # The module's own search, ranked.
            got = [r["path"] for r in db["events"].search("Nile", columns=["path"])]
            self.assertEqual(got, self.fts_paths("Nile"))
        finally:
            db.close()
        # What Datasette looks for in sqlite_schema to show a search box on a
        # table: an FTS virtual table whose content is that table.
        db = plain_connection(self.db)
        try:
            self.assertEqual(db.execute(
                "SELECT name FROM sqlite_schema WHERE rootpage = 0 AND "
                "(sql LIKE ? OR sql LIKE ?)",
                ('%VIRTUAL TABLE%USING FTS%content="events"%',
                 "%VIRTUAL TABLE%USING FTS%content=[events]%")).fetchall(),
                [("events_fts",)])
        finally:
            db.close()

    def test_search(self):
        rows = self.su("search", self.db, "events", "Nile")
        self.assertGreaterEqual(len(rows), 5)
        self.assertEqual([r["path"] for r in rows], self.fts_paths("Nile"))
        self.assertTrue(set(EVENTS_COLUMNS) <= set(rows[0]), rows[0].keys())
        for r in rows:
            text = " ".join(str(r[c] or "") for c in ("title", "topic", "summary", "sources"))
            self.assertIn("nile", text.lower(), r["path"])
        # Two words, and a column filter (FTS5 syntax, as given).
        rows = self.su("search", self.db, "events", "nile khartoum", "-c", "path")
        self.assertEqual([r["path"] for r in rows][0], BEST_NILE_KHARTOUM)
        self.assertEqual(len(self.su("search", self.db, "events", "topic:haiyan")), 2)
        self.assertEqual(self.su("search", self.db, "events", "omdurman"), [])

    def test_tables_and_rows(self):
        tables = [t["table"] for t in self.su("tables", self.db)]
        for t in ("events", "sources", "related", "changes", "events_fts", "snapshot_info"):
            self.assertIn(t, tables)
        self.assertEqual(self.su("tables", self.db, "--fts5"), [{"table": "events_fts"}])
        self.assertEqual(self.su("tables", self.db, "--fts4"), [])
        rows = self.su("rows", self.db, "events")
        self.assertEqual(len(rows), N_EVENTS)
        # In rowid order, which is date order after a full build.
        self.assertEqual([r["id"] for r in rows], list(range(1, N_EVENTS + 1)))
        dates = [r["date"] for r in rows if r["date"] is not None]
        self.assertEqual(dates, sorted(dates))
        self.assertEqual(len(self.su("rows", self.db, "sources")), N_SOURCES)

    def test_search_after_refresh(self):
        """The index follows a refresh: changed, new and deleted files."""
        khartoum = os.path.join(self.archive, KHARTOUM_2013.lstrip("/"))
        typhoon = os.path.join(self.archive, TYPHOON_2013.lstrip("/"))
        with open(khartoum, encoding="utf-8") as f:
            old = f.read()
        st = os.stat(khartoum)
        with open(typhoon, encoding="utf-8") as f:
            typhoon_text = f.read()
        try:
            with open(khartoum, "w", encoding="utf-8") as f:
                f.write(old.replace("meet in Khartoum", "meet in Omdurman", 1))
            os.utime(khartoum, (st.st_atime, int(st.st_mtime) - 100))
            os.remove(typhoon)
            self.snapshot()
            self.assertEqual([r["path"] for r in self.su(
                "search", self.db, "events", "omdurman", "-c", "path")], [KHARTOUM_2013])
            self.assertNotIn(TYPHOON_2013, [r["path"] for r in self.su(
                "search", self.db, "events", "typhoon", "-c", "path")])
            db = plain_connection(self.db)
            db.execute("INSERT INTO events_fts(events_fts, rank) VALUES('integrity-check', 1)")
            db.close()
        finally:
            with open(khartoum, "w", encoding="utf-8") as f:
                f.write(old)
            os.utime(khartoum, (st.st_atime, st.st_mtime))
            with open(typhoon, "w", encoding="utf-8") as f:
                f.write(typhoon_text)
            # A full build again, for the other tests (ids in date order).
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(self.db + suffix):
                    os.remove(self.db + suffix)
            self.snapshot()
        self.assertIn(TYPHOON_2013, [r["path"] for r in self.su(
            "search", self.db, "events", "typhoon", "-c", "path")])


if __name__ == "__main__":
    unittest.main()
