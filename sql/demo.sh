#!/bin/sh
# SPDX-License-Identifier: MIT
# demo.sh - run every example in sql/ against the sample archive, as
# `make demo` does.  Each script runs through the one-command shell
# (build/bin/eventmd), which loads the extension and attaches the tables;
# the snapshot examples run on a snapshot written by build/bin/eventmd-snapshot
# into a temporary folder (removed at the end); the client examples in
# sql/clients/ run when their client is there.
#
#   sh sql/demo.sh [ARCHIVE_DIR]
#
# EVENTMD_BIN: the folder of the commands (default build/bin).  Fails when
# an example fails, or when a file in sql/ is not run here.
set -eu
archive=${1:-tests/sample}
bindir=${EVENTMD_BIN:-build/bin}
bin=$bindir/eventmd
ran=" "
run() {
  title=$1
  file=$2
  printf '\n== %s  (sql/%s)\n' "$title" "$file"
  "$bin" -box "$archive" < "sql/$file"
  ran="$ran$file "
}
# run_with TITLE FILE SHELL-COMMAND: the example with a parameter set first
run_with() {
  title=$1
  file=$2
  printf '\n== %s  (sql/%s, %s)\n' "$title" "$file" "$3"
  "$bin" -box "$archive" "$3" ".read sql/$file"
}
echo "eventmd $("$bin" "$archive" 'SELECT eventmd_version()') on $archive"
run "Events per month"                               events_per_month.sql
run "Most-cited outlets by domain"                   top_outlets.sql
run "One event's version history"                    version_history.sql
run "The newest version of each event on a day"      newest_versions.sql
run_with "The newest version of each event on a day" newest_versions.sql \
  ".param set @day \"'2015-03-23'\""
run "How an event's title changed"                   title_changes.sql
run "Stories: topics with the most events"           stories.sql
run "Related-event graph, two hops out"              related_two_hops.sql
run "Related links whose target is not in the archive" dangling_links.sql
run "Files with problems"                            problems.sql
run "A look at the archive: events per year, busiest outlets" charts.sql

printf '\n== Full-text search, live  (sql/fts_live.sql, then sql/search.sql)\n'
"$bin" -line "$archive" ".read sql/fts_live.sql" ".read sql/search.sql"
ran="${ran}fts_live.sql search.sql "

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '\n== The snapshot  (sql/snapshot.sql, through %s/eventmd-snapshot)\n' "$bindir"
"$bindir/eventmd-snapshot" "$archive" "$tmp/news.db"
sqlite3 -box "$tmp/news.db" "SELECT * FROM top_outlets LIMIT 5" \
  "SELECT topic, events, first_day, last_day FROM stories LIMIT 3"
printf '\n== Full-text search on the snapshot  (sql/search.sql)\n'
sqlite3 -line "$tmp/news.db" < sql/search.sql
ran="${ran}snapshot.sql "
if command -v sqlite-utils > /dev/null 2>&1; then
  printf '\n== The same index through sqlite-utils  (sqlite-utils search news.db events nile)\n'
  sqlite-utils search "$tmp/news.db" events nile -c date -c title --limit 3 -t
else
  printf '\n== sqlite-utils search: not run, needs the sqlite-utils package (make test installs it)\n'
fi
# The Datasette metadata example: every table, view, column and facet it
# names is in the snapshot, and events has the search Datasette finds.
printf '\n== Datasette metadata  (sql/clients/datasette-metadata.json)\n'
/usr/bin/python3 - "$tmp/news.db" sql/clients/datasette-metadata.json <<'EOF_PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
meta = json.load(open(sys.argv[2]))
for name, t in meta["databases"]["news"]["tables"].items():
    cols = [r[1] for r in db.execute("SELECT * FROM pragma_table_info(?)", (name,))]
    named = list(t.get("columns", {})) + t.get("facets", []) + \
        t.get("sortable_columns", []) + [t[k] for k in ("label_column", "fts_pk") if k in t]
    bad = [c for c in named if c not in cols]
    assert cols and not bad, "%s: not in the snapshot: %s" % (name, bad or name)
    fts = db.execute("SELECT name FROM sqlite_schema WHERE rootpage = 0 AND sql LIKE ?",
                     ('%VIRTUAL TABLE%USING FTS%content="' + name + '"%',)).fetchall()
    print("%-16s %2d columns, facets: %-28s search: %s" % (
        name, len(cols), ", ".join(t.get("facets", [])) or "-",
        fts[0][0] if fts else "-"))
EOF_PY

# The client examples, when their client can run.
if /usr/bin/python3 -c 'import sqlite3; sqlite3.Connection.enable_load_extension' \
     > /dev/null 2>&1; then
  printf '\n== Python  (sql/clients/example.py)\n'
  /usr/bin/python3 sql/clients/example.py "$bindir/../eventmd" "$archive"
else
  printf '\n== Python  (sql/clients/example.py): not run, /usr/bin/python3 cannot load extensions\n'
fi
if /usr/bin/python3 -c 'import apsw' > /dev/null 2>&1; then
  printf '\n== Python with apsw  (sql/clients/example_apsw.py)\n'
  /usr/bin/python3 sql/clients/example_apsw.py "$bindir/../eventmd" "$archive"
else
  printf '\n== Python with apsw  (sql/clients/example_apsw.py): not run, needs python3-apsw (make test installs it)\n'
fi
if command -v node > /dev/null 2>&1 &&
   [ -f build/node/node_modules/better-sqlite3/package.json ]; then
  printf '\n== Node.js  (sql/clients/example.mjs)\n'
  node sql/clients/example.mjs "$bindir/../eventmd" "$archive"
else
  printf '\n== Node.js  (sql/clients/example.mjs): not run, needs node and build/node/node_modules/better-sqlite3 (make test installs it)\n'
fi

# Every example in sql/ ran above.
missing=""
for f in sql/*.sql; do
  case "$ran" in
    *" ${f#sql/} "*) ;;
    *) missing="$missing ${f#sql/}" ;;
  esac
done
if [ -n "$missing" ]; then
  echo "demo.sh: not run by the demo:$missing (add them to sql/demo.sh)" >&2
  exit 1
fi
