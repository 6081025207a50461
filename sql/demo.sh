#!/bin/sh
# demo.sh - run every example in sql/ against the sample archive, as
# `make demo` does.  Each script runs through the one-command shell
# (build/bin/eventmd), which loads the extension and attaches the tables.
#
#   sh sql/demo.sh [ARCHIVE_DIR]
set -eu
archive=${1:-tests/sample}
bin=build/bin/eventmd
run() {
  title=$1
  file=$2
  printf '\n== %s  (sql/%s)\n' "$title" "$file"
  "$bin" -box "$archive" < "sql/$file"
}
echo "eventmd $("$bin" "$archive" 'SELECT eventmd_version()') on $archive"
run "Events per month"                               events_per_month.sql
run "Most-cited outlets by domain"                   top_outlets.sql
run "One event's version history"                    version_history.sql
run "Related-event graph, two hops out"              related_two_hops.sql
run "Related links whose target is not in the archive" dangling_links.sql
run "Files with problems"                            problems.sql
run "A look at the archive: events per year, busiest outlets" charts.sql
