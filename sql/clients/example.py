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

rows = con.execute(
    "SELECT date, n_sources, substr(title, 1, 50) FROM events "
    "WHERE date BETWEEN ? AND ? ORDER BY date",
    ("2017-10-01", "2017-10-31"),
)
for date, n_sources, title in rows:
    print(date, n_sources, title)

# Table-valued form with a bound root; a bad root is an exception.
(n,) = con.execute("SELECT count(*) FROM eventmd_changes(?)", (root,)).fetchone()
print("changes rows:", n)
try:
    con.execute("SELECT * FROM eventmd_events(?)", ("/no/such/archive",)).fetchall()
except sqlite3.OperationalError as e:
    print("error:", e)
