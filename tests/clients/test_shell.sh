#!/bin/sh
# SPDX-License-Identifier: MIT
# test_shell.sh - the one-command shell, build/bin/eventmd, as a user runs it.
#
#   sh tests/clients/test_shell.sh build/bin/eventmd
#
# Checks: SQL as an argument and from standard input, the four TEMP tables,
# sqlite3's output modes passing through (-csv, -json, -box, -header), the
# examples in sql/ running through it, a bad archive folder as an error
# naming it, and every argument passed on literally (no word splitting, no
# globbing: option values and folder names with '*', '?', '[', spaces,
# quotes, newlines, leading dashes).  Every check prints "ok" or "FAIL" and the script exits non-zero
# on any failure.
set -u
bin=${1:-build/bin/eventmd}
sample=tests/sample
fails=0
n=0

check() { # name expected actual
  n=$((n + 1))
  if [ "$2" = "$3" ]; then
    printf 'ok %s - %s\n' "$n" "$1"
  else
    printf 'FAIL %s - %s\n' "$n" "$1"
    printf '  expected: %s\n' "$2"
    printf '  actual:   %s\n' "$3"
    fails=$((fails + 1))
  fi
}

[ -x "$bin" ] || { echo "test_shell.sh: $bin is not built" >&2; exit 1; }

# The sample's event files, counted without eventmd: *.md that are not day
# pages (index.md, README.md, any case) and not hidden.
n_events=$(find "$sample" -name '.*' -prune -o -type f -name '*.md' \
  ! -iname index.md ! -iname readme.md -print | wc -l | tr -d ' ')

check "SQL as an argument" "$n_events" \
  "$("$bin" "$sample" 'SELECT count(*) FROM events')"
check "the four tables are attached" "changes events related sources" \
  "$("$bin" "$sample" "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_temp_master ORDER BY name)")"
check "SQL from standard input" "194" \
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
check "folder names with quotes and spaces" "$n_events" \
  "$(d=$(mktemp -d); mkdir -p "$d/it's an archive"; cp -r "$sample"/. "$d/it's an archive/";
     "$bin" "$d/it's an archive" 'SELECT count(*) FROM events'; rm -rf "$d")"

# Arguments reach sqlite3 exactly as given: no word splitting, no globbing
# (issue 10: -separator '*' was expanded as a glob).  These run in a folder
# holding files that '*', '?' and '[ab]' would match.
nl='
'
here=$(pwd)
case $bin in /*) abin=$bin ;; *) abin=$here/$bin ;; esac
asample=$here/$sample
gd=$(mktemp -d)
touch "$gd/a" "$gd/b" "$gd/x" "$gd/-x"
run() { (cd "$gd" && "$abin" "$@" 2>&1) }
check "-separator '*' before the folder is not a glob" "1*2" \
  "$(run -separator '*' "$asample" 'SELECT 1, 2')"
check "--separator '*' after the folder is not a glob" "1*2" \
  "$(run "$asample" --separator '*' 'SELECT 1, 2')"
check "-nullvalue '?' is not a glob" "?" \
  "$(run -nullvalue '?' "$asample" 'SELECT NULL')"
check "-separator '[ab]' is not a glob" "1[ab]2" \
  "$(run -separator '[ab]' "$asample" 'SELECT 1, 2')"
check "an option value with spaces and quotes" "1 ' \" 2" \
  "$(run -separator " ' \" " "$asample" 'SELECT 1, 2')"
check "an option value holding a newline" "a${nl}b" \
  "$(run -nullvalue "a${nl}b" "$asample" 'SELECT NULL')"
check "an empty option value" ",1" \
  "$(run -nullvalue '' -separator , "$asample" 'SELECT NULL, 1')"
check "option values that start with a dash" "---x1" \
  "$(run -separator -x "$asample" -nullvalue -- 'SELECT NULL, 1')"
check "-lookaside takes two values" "1" \
  "$(run -lookaside 64 8 "$asample" 'SELECT 1')"
check "SQL with glob characters, spaces and a newline" "* [ab] ?" \
  "$(run "$asample" "SELECT '*' || ' [ab] ?'${nl}AS x")"
check "a -cmd before the folder can use the tables" "4${nl}1" \
  "$(run -cmd 'SELECT count(*) FROM sqlite_temp_master' "$asample" 'SELECT 1')"
# The exact argument list sqlite3 is given, after the five setup commands.
# shellcheck disable=SC2016
printf '#!/bin/sh\nfor a; do printf "<%%s>\\n" "$a"; done\n' > "$gd/args"
chmod +x "$gd/args"
check "every argument is passed on as one argument, unchanged" \
  "<-separator>$nl<*>$nl<-nullvalue>$nl<>$nl<--cmd>$nl<a  b>$nl<:memory:>$nl<-json>$nl<SELECT '*' ?${nl}[ab]>$nl<-x>$nl<*>" \
  "$(cd "$gd" && EVENTMD_SQLITE3=$gd/args "$abin" -separator '*' -nullvalue '' --cmd 'a  b' \
       "$asample" -json "SELECT '*' ?${nl}[ab]" -x '*' | sed 1,10d)"
# Folder names with glob characters, a newline (also at the end), a
# backslash and a leading dash: each gives the sample's rows.
events=$("$bin" "$sample" 'SELECT count(*) FROM events')
for name in '*' 'a?[b]' "new${nl}line" "trailing${nl}" 'back\slash' '-dash'; do
  mkdir "$gd/$name" && cp -r "$sample"/. "$gd/$name/"
  shown=$(printf '%sx' "$name" | awk 'NR > 1 { printf "%s", "\\n" } { printf "%s", $0 }')
  check "a folder named '${shown%x}'" "$events" "$(run "./$name" 'SELECT count(*) FROM events')"
done
rm -rf "$gd"

for f in sql/events_per_month.sql sql/top_outlets.sql sql/version_history.sql \
         sql/related_two_hops.sql sql/dangling_links.sql sql/problems.sql; do
  out=$("$bin" "$sample" < "$f" 2>&1)
  status=$?
  rows=$(printf '%s\n' "$out" | grep -c .)
  check "$f runs and gives rows" "0 yes" "$status $([ "$rows" -gt 0 ] && echo yes || echo no)"
done

echo "test_shell.sh: $((n - fails)) of $n checks passed"
[ "$fails" -eq 0 ]
