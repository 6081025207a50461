# SPDX-License-Identifier: MIT
"""eventmd from Python through apsw (Debian's python3-apsw).

    /usr/bin/python3 sql/clients/example_apsw.py [EXTENSION] [ARCHIVE]

apsw brings its own way to load extensions, so it works where the sqlite3
module's enable_load_extension is missing.  Same queries, same output as
sql/clients/example.py.
"""
import sys

import apsw

ext = sys.argv[1] if len(sys.argv) > 1 else "build/eventmd"
root = sys.argv[2] if len(sys.argv) > 2 else "tests/sample"

con = apsw.Connection(":memory:")
con.enableloadextension(True)  # apsw 3.40 names; newer apsw also
con.loadextension(ext)  # accepts enable_load_extension/load_extension
con.enableloadextension(False)

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
except apsw.SQLError as e:
    print("error:", str(e).removeprefix("SQLError: "))
