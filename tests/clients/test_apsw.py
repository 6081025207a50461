# SPDX-License-Identifier: MIT
"""Real-client test: eventmd loaded through apsw (Debian's python3-apsw).

apsw loads extensions itself, so this is the way in for a Python whose
sqlite3 module has no enable_load_extension.

    /usr/bin/python3 tests/clients/test_apsw.py
    EVENTMD_EXT=/path/to/eventmd /usr/bin/python3 tests/clients/test_apsw.py

The expected values are the sample archive's, shared with test_python.py;
every table is also compared row for row with what the sqlite3 module
returns when it can load the extension.
"""

import os
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

import apsw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_python import (COUNTS, EXT, REPO, SAMPLE, V1, V3, V3_TITLE,  # noqa: E402
                         not_readable)


def connect():
    con = apsw.Connection(":memory:")
    con.enableloadextension(True)
    con.loadextension(EXT)
    con.enableloadextension(False)
    return con


class ApswTest(unittest.TestCase):
    def setUp(self):
        self.con = connect()

    def tearDown(self):
        self.con.close()

    def one(self, sql, params=()):
        row = self.con.execute(sql, params).fetchone()
        return row[0] if row is not None and len(row) == 1 else row

    def test_counts_and_versions(self):
        self.con.execute("SELECT eventmd_attach(?)", (SAMPLE,))
        for table, n in COUNTS.items():
            self.assertEqual(self.one("SELECT count(*) FROM " + table), n, table)
        self.assertEqual(self.one("SELECT is_current FROM events WHERE path = ?", (V1,)), 0)
        self.assertEqual(self.one("SELECT is_current, current_path FROM events WHERE path = ?",
                                  (V3,)), (1, V3))
        self.assertEqual(self.one("SELECT title FROM eventmd_events(?) WHERE path = ?",
                                  (SAMPLE, V3)), V3_TITLE)

    def test_bad_root_is_sqlerror(self):
        with self.assertRaises(apsw.SQLError) as cm:
            self.con.execute("SELECT * FROM eventmd_events(?)", ("/no/such/archive",)).fetchall()
        self.assertIn(not_readable("/no/such/archive"), str(cm.exception))

    def test_loading_turned_off_again(self):
        with self.assertRaises(apsw.Error):
            self.con.loadextension(EXT)

    def test_same_rows_as_sqlite3_module(self):
        if not hasattr(sqlite3.Connection, "enable_load_extension"):
            self.fail("this Python's sqlite3 module cannot load extensions: "
                      "run the test with Debian's /usr/bin/python3")
        ref = sqlite3.connect(":memory:")
        ref.enable_load_extension(True)
        ref.load_extension(EXT)
        for table in COUNTS:
            q = "SELECT * FROM eventmd_%s(?) ORDER BY 1, 2" % table
            mine = [tuple(r) for r in self.con.execute(q, (SAMPLE,))]
            theirs = ref.execute(q, (SAMPLE,)).fetchall()
            self.assertEqual(mine, theirs, table)
            self.assertEqual(len(mine), COUNTS[table])
        ref.close()

    def test_interrupt_from_another_thread(self):
        # A join that yields no rows and would run for hours: interrupted
        # from another thread after 0.2 s, it must stop within a second.  A
        # progress handler ends it after 30 s should the interrupt be lost.
        deadline = time.monotonic() + 30
        self.con.setprogresshandler(lambda: time.monotonic() > deadline, 10000)
        timer = threading.Timer(0.2, self.con.interrupt)
        t0 = time.monotonic()
        timer.start()
        with self.assertRaises(apsw.InterruptError):
            self.con.execute(
                "SELECT count(*) FROM eventmd_sources(?1) a, eventmd_sources(?1) b,"
                " eventmd_sources(?1) c, eventmd_sources(?1) d WHERE a.url = 'none'"
                " OR b.ordinal + c.ordinal + d.ordinal < 0", (SAMPLE,)).fetchall()
        timer.join()
        self.assertLess(time.monotonic() - t0, 1.2)

    def test_example_prints_what_the_sqlite3_example_prints(self):
        ex = os.path.join(REPO, "sql", "clients")
        a = subprocess.run([sys.executable, os.path.join(ex, "example_apsw.py"), EXT, SAMPLE],
                           capture_output=True, text=True, check=True).stdout
        b = subprocess.run([sys.executable, os.path.join(ex, "example.py"), EXT, SAMPLE],
                           capture_output=True, text=True, check=True).stdout
        self.assertEqual(a, b)
        self.assertIn("changes rows: %d" % COUNTS["changes"], a)


if __name__ == "__main__":
    unittest.main(verbosity=2)
