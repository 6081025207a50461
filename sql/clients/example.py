# SPDX-License-Identifier: MIT
"""eventmd from Python: Debian's /usr/bin/python3 and its sqlite3 module.

    /usr/bin/python3 sql/clients/example.py [EXTENSION] [ARCHIVE]

(The python3 of pyenv and similar builds often cannot load extensions:
enable_load_extension is missing.  Debian's can.)
"""
import sqlite3
import sys

ext = sys.argv[1] if len(sys.argv) > 1 else "build/eventmd"
root = sys.argv[2] if len(sys.argv) > 2 else "tests/sample"

con = sqlite3.connect(":memory:")
con.enable_load_extension(True)
con.load_extension(ext)
con.enable_load_extension(False)

# The four tables, as TEMP tables events, sources, related, changes.
con.execute("SELECT eventmd_attach(?)", (root,))

# The newest version of each event (is_current) in a date range, how many
# versions of it the archive holds, and its story (topic).
rows = con.execute(
    "SELECT date, (SELECT count(*) FROM events v WHERE v.date = e.date"
    "              AND v.current_path = e.path),"
    " coalesce(topic || ': ', '') || title FROM events e "
    "WHERE is_current AND date BETWEEN ? AND ? ORDER BY date, path",
    ("2018-02-01", "2018-03-31"),
)
for date, versions, text in rows:
    print(date, versions, text[:60])

# Table-valued form with a bound root; a bad root is an exception.
(n,) = con.execute("SELECT count(*) FROM eventmd_changes(?)", (root,)).fetchone()
print("changes rows:", n)
try:
    con.execute("SELECT * FROM eventmd_events(?)", ("/no/such/archive",)).fetchall()
except sqlite3.OperationalError as e:
    print("error:", e)
