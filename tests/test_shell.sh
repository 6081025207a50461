#!/bin/sh
# test_shell.sh - the one-command shell, build/bin/eventmd, as a user runs it.
#
#   sh tests/test_shell.sh build/bin/eventmd
#
# Checks: SQL as an argument and from standard input, the four TEMP tables,
# sqlite3's output modes passing through (-csv, -json, -box, -header), the
# examples in sql/ running through it, and a bad archive folder as an error
# naming it.  Every check prints "ok" or "FAIL" and the script exits non-zero
# on any failure.
set -u
bin=${1:-build/bin/eventmd}
sample=tests/sample
fails=0
n=0

check() { # name expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then
    echo "ok $n - $1"
  else
    echo "FAIL $n - $1"
    echo "  expected: $2"
    echo "  actual:   $3"
    fails=$((fails + 1))
  fi
}

[ -x "$bin" ] || { echo "test_shell.sh: $bin is not built" >&2; exit 1; }

check "SQL as an argument" "45" \
  "$("$bin" "$sample" 'SELECT count(*) FROM events')"
check "the four tables are attached" "changes events related sources" \
  "$("$bin" "$sample" "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_temp_master ORDER BY name)")"
check "SQL from standard input" "169" \
  "$(echo 'SELECT count(*) FROM sources;' | "$bin" "$sample")"
check "a script file on standard input" "3" \
  "$("$bin" "$sample" < sql/problems.sql | grep -c '^/')"
check "-csv passes through" 'date,problem
2014-05-28,"date heading 2014-05-27 differs from path"' \
  "$("$bin" -csv -header "$sample" "SELECT date, problem FROM events WHERE problem LIKE 'date%'")"
check "-json after the folder" '[{"n":3}]' \
  "$("$bin" "$sample" -json "SELECT count(*) AS n FROM changes WHERE event_path LIKE '%/the-leaders-of-egypt%'")"
check "-box draws a table" "┌─────┐
│ one │
├─────┤
│ 1   │
└─────┘" \
  "$("$bin" -box "$sample" 'SELECT 1 AS one')"
check "several SQL arguments run in order" "1
2" \
  "$("$bin" "$sample" 'SELECT 1' 'SELECT 2')"
check "nothing is written: the main database is in memory" ":memory:" \
  "$("$bin" "$sample" "SELECT coalesce(nullif(file, ''), ':memory:') FROM pragma_database_list WHERE name = 'main'")"
check "a missing folder is an error naming it" "eventmd: root '/no/such/archive' is not a readable directory" \
  "$("$bin" /no/such/archive 'SELECT 1' 2>&1)"
check "a missing folder fails" "1" \
  "$("$bin" /no/such/archive 'SELECT 1' > /dev/null 2>&1; echo $?)"
check "folder names with quotes and spaces" "45" \
  "$(d=$(mktemp -d); mkdir -p "$d/it's an archive"; cp -r "$sample"/. "$d/it's an archive/";
     "$bin" "$d/it's an archive" 'SELECT count(*) FROM events'; rm -rf "$d")"
for f in sql/events_per_month.sql sql/top_outlets.sql sql/version_history.sql \
         sql/related_two_hops.sql sql/dangling_links.sql sql/problems.sql; do
  out=$("$bin" "$sample" < "$f" 2>&1)
  status=$?
  rows=$(printf '%s\n' "$out" | grep -c .)
  check "$f runs and gives rows" "0 yes" "$status $([ "$rows" -gt 0 ] && echo yes || echo no)"
done

echo "test_shell.sh: $((n - fails)) of $n checks passed"
[ "$fails" -eq 0 ]
