#!/bin/sh
# SPDX-License-Identifier: MIT
# bench_snapshot.sh - the snapshot's full build against an incremental
# refresh after a few files change (make bench-snapshot; not part of make
# test).
#
#   sh tests/bench/bench_snapshot.sh EVENTMD_SNAPSHOT_COMMAND CORPUS_ARCHIVE WORKDIR
#
# Copies CORPUS_ARCHIVE to WORKDIR (the corpus itself is never edited), then
# in one run: builds the snapshot from nothing three times, and three times
# edits the title of 10 event files and refreshes.  Each refresh must show
# the ten new titles.  A refresh also looks again at the other files of the
# ten files' day folders (their versions depend on each other) and hashes
# every day folder's day pages.  Prints every time and the ratio of the
# median refresh to the median full build (target: <= 2 %).
set -eu
snap=$1
corpus=$2
work=$3
changed=10
cr=$(printf '\r')

now_ns() { date +%s%N; }
# seconds, with three decimals, from nanoseconds
secs() { printf '%d.%03d' $(($1 / 1000000000)) $(($1 / 1000000 % 1000)); }
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
timed() { # command... ; sets $took (ns)
  t0=$(now_ns)
  "$@" > /dev/null
  took=$(($(now_ns) - t0))
}

rm -rf "$work"
mkdir -p "$work"
echo "copying $corpus to $work/archive"
cp -a "$corpus" "$work/archive"
db=$work/snapshot.db
# Event files: *.md but not day pages (index.md, README.md, any case) or
# hidden names.
events() {
  find "$1" -name '*.md' ! -iname index.md ! -iname readme.md ! -path '*/.*'
}
nfiles=$(events "$work/archive" | wc -l)
echo "eventmd snapshot benchmark: $nfiles event files"

fulls=""
for i in 1 2 3; do
  rm -f "$db" "$db-wal" "$db-shm"
  timed "$snap" "$work/archive" "$db"
  echo "  full snapshot, run $i            $(secs $took) s"
  fulls="$fulls $took"
done

events "$work/archive/news" | sort > "$work/files.txt"
step=$(($(wc -l < "$work/files.txt") / changed))
refreshes=""
for round in 1 2 3; do
  # ten files spread over the archive, different ones each round
  awk -v r="$round" -v s="$step" -v n="$changed" \
    'NR >= r && (NR - r) % s == 0 && c < n { print; c++ }' \
    "$work/files.txt" > "$work/round.txt"
  while IFS= read -r f; do
    # the title line, before its CR in a CRLF file
    sed -i "0,/^# /s/^# \\([^$cr]*\\)/# \\1 (edited in round $round)/" "$f"
  done < "$work/round.txt"
  timed "$snap" "$work/archive" "$db"
  seen=$(sqlite3 "$db" \
    "SELECT count(*) FROM events WHERE title LIKE '%(edited in round $round)'")
  echo "  refresh after $changed files changed, round $round  $(secs $took) s  ($seen changed titles in the snapshot)"
  if [ "$seen" -ne "$changed" ]; then
    echo "FAIL: the refresh shows $seen of the $changed changed titles" >&2
    exit 1
  fi
  refreshes="$refreshes $took"
done
timed "$snap" "$work/archive" "$db"
echo "  refresh, nothing changed          $(secs $took) s"

full=$(median3 $fulls)
refresh=$(median3 $refreshes)
# ratio in hundredths of a percent, integer arithmetic
bp=$((refresh * 10000 / full))
verdict=met
[ "$bp" -le 200 ] || verdict="NOT met"
printf '  median refresh / median full      %d.%02d %%  (target <= 2 %%: %s)\n' \
  $((bp / 100)) $((bp % 100)) "$verdict"
rm -rf "$work"
