#!/bin/sh
# SPDX-License-Identifier: MIT
# leakcheck.sh - the C tests and the sql/ scripts under valgrind (make
# leakcheck).  Any error, or any byte definitely lost, fails.
#
#   sh tests/tools/leakcheck.sh "valgrind -q --leak-check=full ..." build
#
# EVENTMD_QUICK=1 (set by make leakcheck) makes the two slowest tests
# lighter under valgrind: the out-of-memory loop fails every 7th allocation
# instead of each, and the pathological inputs run at their suite size only.
set -u
valgrind=$1
out=$2
fails=0

run() { # name command...
  name=$1
  shift
  echo "== valgrind: $name"
  if $valgrind "$@" > "$out/leakcheck-$name.log" 2>&1; then
    grep -E "PASSED|passed" "$out/leakcheck-$name.log" | tail -1
  else
    echo "FAIL: $name (see $out/leakcheck-$name.log)"
    tail -30 "$out/leakcheck-$name.log"
    fails=$((fails + 1))
  fi
}

run test_parse "$out/test_parse"
run test_sql "$out/test_sql"
run test_corpus env EVENTMD_CORPUS=build/corpus-2400 "$out/test_corpus"
run test_pushdown env EVENTMD_CORPUS=build/corpus-2400 "$out/test_pushdown"
run test_patho "$out/test_patho"
run test_faults "$out/test_faults"
run test_oom "$out/test_oom"
run test_stress env EVENTMD_CORPUS10K=build/corpus-10000 EVENTMD_STRESS_SECONDS=2 "$out/test_stress"

# The sql/ scripts, through the sqlite3 shell with the extension loaded.
for f in sql/*.sql; do
  case "$f" in
    sql/snapshot.sql|sql/fts_live.sql|sql/search.sql) continue ;;
  esac
  name=$(basename "$f" .sql)
  echo "== valgrind: sqlite3 < $f"
  if $valgrind sqlite3 :memory: -cmd ".load $out/eventmd" \
       -cmd "SELECT eventmd_attach('tests/sample')" < "$f" > "$out/leakcheck-$name.log" 2>&1; then
    echo "clean ($(grep -c . "$out/leakcheck-$name.log") lines of output)"
  else
    echo "FAIL: $f (see $out/leakcheck-$name.log)"
    tail -30 "$out/leakcheck-$name.log"
    fails=$((fails + 1))
  fi
done

if [ "$fails" -ne 0 ]; then
  echo "leakcheck: $fails run(s) with valgrind errors or leaks"
  exit 1
fi
echo "leakcheck: no errors, nothing definitely lost"
