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
# quotes, newlines, leading dashes); --help, --version and wrong usage (exit
# 2).  Every check prints "ok" or "FAIL" and the script exits non-zero on
# any failure.
set -u
bin=${1:-build/bin/eventmd}
sample=tests/sample
me=test_shell.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

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

# Command-line manners: --help to stdout and 0, --version from the
# extension and 0, wrong usage one line on stderr and 2.
out=$(mktemp)
err=$(mktemp)
menv=   # NAME=VALUE for the next run, or nothing
manners() { # args...: sets rc; stdout in $out, stderr in $err
  env ${menv:+"$menv"} "$bin" "$@" > "$out" 2> "$err"
  rc=$?
  menv=
}
manners --help
check "--help exits 0, quietly on stderr" "0 0" "$rc $(wc -c < "$err" | tr -d ' ')"
check "--help starts with the usage line" \
  "usage: eventmd [--no-cache] [sqlite3 options] ARCHIVE_DIR [sqlite3 options] [SQL ...]" \
  "$(head -n 1 "$out")"
check "--help names the options and the environment" "--no-cache --version EVENTMD_CACHE_FILE EVENTMD_ROOTS" \
  "$(for w in --no-cache --version EVENTMD_CACHE_FILE EVENTMD_ROOTS; do grep -q -e "$w" "$out" && printf '%s ' "$w"; done | sed 's/ $//')"
help=$(cat "$out")
for h in -help -h; do
  manners "$h"
  check "$h is --help" "0 yes" "$rc $([ "$(cat "$out")" = "$help" ] && echo yes)"
done
manners "$sample" --help
check "--help after the folder" "0 yes" "$rc $([ "$(cat "$out")" = "$help" ] && echo yes)"
version=$(sed -n 's/^#define EVENTMD_VERSION "\(.*\)"$/\1/p' include/eventmd.h)
manners --version
check "--version prints the header's version, exits 0" "0 eventmd $version" "$rc $(cat "$out")"
manners -version
check "-version is --version" "0 eventmd $version" "$rc $(cat "$out")"
check "--version comes from the loaded extension" "eventmd 9.9.9-test" \
  "$(printf '#!/bin/sh\necho 9.9.9-test\n' > "$err.sq"; chmod +x "$err.sq";
     EVENTMD_SQLITE3=$err.sq "$bin" --version; rm -f "$err.sq")"
manners
check "no folder: exit 2, one line on stderr, nothing on stdout" \
  "2 1 0 eventmd: no ARCHIVE_DIR given; try 'eventmd --help'" \
  "$rc $(wc -l < "$err" | tr -d ' ') $(wc -c < "$out" | tr -d ' ') $(cat "$err")"
manners -csv -header
check "options but no folder: exit 2" "2 1" "$rc $(wc -l < "$err" | tr -d ' ')"
manners "$sample" -separator
check "an option without its value: exit 2, naming it" \
  "2 eventmd: option '-separator' needs a value; try 'eventmd --help'" "$rc $(cat "$err")"
manners -lookaside 64
check "-lookaside with one value: exit 2" \
  "2 eventmd: option '-lookaside' needs two values; try 'eventmd --help'" "$rc $(cat "$err")"
manners --cmd
check "--cmd without its value: exit 2" "2 1" "$rc $(wc -l < "$err" | tr -d ' ')"
menv=EVENTMD_EXTENSION=/no/such/eventmd
manners "$sample" 'SELECT 1'
check "a missing extension: exit 1, naming it" \
  "1 eventmd: extension '/no/such/eventmd' not found (set EVENTMD_EXTENSION, or reinstall)" \
  "$rc $(cat "$err")"
menv=EVENTMD_EXTENSION=/no/such/eventmd
manners --version
check "--version with a missing extension: exit 1" "1 0" "$rc $(wc -c < "$out" | tr -d ' ')"
manners "$sample" 'SELECT 1' --help
check "--help after the SQL is sqlite3's argument, not ours" "no" \
  "$(grep -q '^usage: eventmd' "$out" && echo yes || echo no)"
rm -f "$out" "$err"

echo "test_shell.sh: $((n - fails)) of $n checks passed"
[ "$fails" -eq 0 ]
