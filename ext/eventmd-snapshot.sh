#!/bin/sh
# SPDX-License-Identifier: MIT
# eventmd-snapshot - build or refresh a snapshot of an archive of news-event
# markdown files in a plain SQLite file, for tools that cannot load
# extensions (Metabase, Grafana, Datasette, DB Browser, a plain sqlite3).
#
#   eventmd-snapshot [--allow-shrink] [--quiet] ARCHIVE_DIR SNAPSHOT.db
#   eventmd-snapshot --help | --version
#
# The first run writes SNAPSHOT.db under a temporary name in the same folder
# and renames it into place once it is complete: a failed first build leaves
# no file.  Later runs refresh it incrementally: only the folders where an
# event file is new, changed or deleted, or whose day page changed, are
# touched, in one transaction (readers see the old snapshot or the new one,
# never half of it).  A snapshot written by another eventmd version, or in
# an older snapshot layout (snapshot_info 'layout'), is rebuilt, in place
# and in one transaction too.  Prints one line at the end, e.g.
#   eventmd-snapshot: /data/snap.db: 1 inserted, 2 updated, 1 deleted; 100000 events; 0.21 s
#   eventmd-snapshot: /data/snap.db was written by eventmd 1.0.0: rebuilt for 1.1.0: 12 inserted, ...
#   eventmd-snapshot: /data/snap.db had snapshot layout 2: rebuilt in layout 3: 0 inserted, ...
# While files are read, and only when stderr is a terminal, a progress line
# (files read / files to read, files per second) is kept up to date on
# stderr, and erased at the end.  --quiet: no progress and no summary line
# (errors and refusals are still reported on stderr).
#
# A refresh that would delete more than half of the snapshot's events (an
# empty or unmounted archive folder, say) is refused, with a message naming
# the counts, and changes nothing, unless --allow-shrink is given.
#
# Exit status: 0 done; 1 error (the snapshot is left as it was); 2 usage;
# 3 refused (the refresh would delete more than half of the events).
# --help prints the usage to stdout; --version the extension's version.
#
# The SQL is sql/snapshot.sql.  $EVENTMD_SQLITE3 names another sqlite3.
set -u
set -f  # no pathname expansion anywhere: arguments reach sqlite3 as given
# Where the extension and the SQL are: beside this script, found from its
# real location, so a moved build tree or an installed copy finds its own
# (build tree: build/bin/ -> build/eventmd.so and sql/; installed:
# PREFIX/bin/ -> PREFIX/lib/sqlite3/eventmd.so and PREFIX/share/eventmd/).
# $EVENTMD_EXTENSION names another extension.
here=$(dirname -- "$(readlink -f -- "$0")")
ext=${EVENTMD_EXTENSION:-$here/@EXT@}
sqldir=$here/@SQLDIR@
sqlite=${EVENTMD_SQLITE3:-sqlite3}
nl='
'
load_cmd() { printf '.load "%s"' "$(printf '%s' "$ext" | sed 's/"/\\"/g')"; }

# The snapshot layout this script and sql/snapshot.sql write (snapshot_info
# 'layout'; 3: events_fts is an external-content index over events, and
# event ids are in date order).  A snapshot of another layout is rebuilt.
layout=3
synopsis="eventmd-snapshot [--allow-shrink] [--quiet] ARCHIVE_DIR SNAPSHOT.db"

help() {
  cat <<EOF_HELP
usage: $synopsis
       eventmd-snapshot --help | --version

Write the event files of ARCHIVE_DIR into SNAPSHOT.db, a plain SQLite
database that any SQLite client opens without the eventmd extension:
tables events, sources, related and changes, views for the sql/ examples,
and events_fts, a full-text index of the events that Datasette and
sqlite-utils find by themselves.  The first run builds it (under a
temporary name, renamed into place when complete); later runs refresh it
incrementally, in one transaction.  A snapshot written by another eventmd
version, or in an older layout, is rebuilt.

Options:
  --allow-shrink  refresh even when more than half of the snapshot's events
                  would be deleted (an empty or unmounted archive looks like
                  that: refused unless this is given)
  --quiet         no progress line and no summary line; errors still go to
                  stderr
  --help          this text
  --version       print the version and exit

On a terminal, a progress line (files read / to read, files per second) is
shown on stderr while files are read.  At the end one line says what was
done, e.g.
  eventmd-snapshot: news.db: 1 inserted, 2 updated, 1 deleted; 54 events; 0.05 s

Exit status: 0 done; 1 error (the snapshot is left as it was); 2 wrong
usage; 3 refused (the refresh would delete more than half of the events).

Environment: EVENTMD_EXTENSION (another extension), EVENTMD_SQLITE3
(another sqlite3 shell).
EOF_HELP
}
usage() { # [what is wrong]: one line on stderr, exit 2
  echo "eventmd-snapshot: ${1:+$1; }usage: $synopsis (try --help)" >&2
  exit 2
}

allow_shrink=0
quiet=0
while [ $# -gt 0 ]; do
  case "$1" in
    --allow-shrink) allow_shrink=1; shift ;;
    --quiet | -q) quiet=1; shift ;;
    --help | -h) help; exit 0 ;;
    --version)
      v=$("$sqlite" -batch -bail -cmd "$(load_cmd)" :memory: "SELECT eventmd_version()") ||
        { echo "eventmd-snapshot: cannot load the extension $ext" >&2; exit 1; }
      echo "eventmd-snapshot $v"
      exit 0 ;;
    --) shift; break ;;
    -*) usage "unknown option '$1'" ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || usage "expected 2 arguments, got $#"
archive=$1
snapshot=$2
case "$snapshot" in -*) snapshot=./$snapshot ;; esac  # not a sqlite3 option
if [ ! -d "$archive" ] || [ ! -r "$archive" ]; then
  echo "eventmd-snapshot: root '$archive' is not a readable directory" >&2
  exit 1
fi
if [ ! -r "$sqldir/snapshot.sql" ]; then
  echo "eventmd-snapshot: cannot read $sqldir/snapshot.sql" >&2
  exit 1
fi

# sql_quote: $1 as the body of an SQL string literal.  (Here and below, a
# '.' printed after a value keeps its trailing newlines through $(...).)
sql_quote() {
  quoted=$(printf '%s.' "$1" | sed "s/'/''/g")
  printf '%s' "${quoted%.}"
}
# The live tables keep the root as given: make it absolute, so that
# snapshot_info names the same root whatever the working directory.
root=$(cd -- "$archive" && pwd -P && echo .) || exit 1
root=${root%"$nl."}
q=$(sql_quote "$root" && echo .)
q=${q%.}
load=$(load_cmd)
read_sql=".read \"$(printf '%s' "$sqldir/snapshot.sql" | sed 's/"/\\"/g')\""

# What is there now: nothing (or an empty file, as eventmd 1.0 left after a
# failed first build): a first build; a snapshot of this version: a refresh;
# of another version: a rebuild; any other database: refused.
mode=refresh
before_version=
if [ ! -e "$snapshot" ] || { [ -f "$snapshot" ] && [ ! -s "$snapshot" ]; }; then
  mode=first
elif [ ! -f "$snapshot" ]; then
  echo "eventmd-snapshot: $snapshot is not a regular file: not touched" >&2
  exit 1
else
  state=$("$sqlite" -batch -bail -readonly -cmd ".timeout 60000" "$snapshot" \
    "SELECT (SELECT count(*) FROM sqlite_schema) || ' ' ||
            (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'snapshot_info') || ' ' ||
            (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'events') || ' ' ||
            (SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'snapshot_folders') || ' ' ||
            (SELECT count(*) FROM pragma_table_info('events', 'main') WHERE name = 'current_path')" 2>&1) || {
    echo "eventmd-snapshot: $snapshot: cannot read it as an SQLite database (${state##*: }): not touched" >&2
    exit 1
  }
  # shellcheck disable=SC2086  # five numbers: word splitting wanted (set -f is on)
  set -- $state
  if [ "$1" -gt 0 ] && [ "$2" -eq 0 ]; then
    echo "eventmd-snapshot: $snapshot is not an eventmd snapshot (it has tables but no snapshot_info): not touched" >&2
    exit 1
  fi
  if [ "$3" -gt 0 ]; then
    before_version=$("$sqlite" -batch -bail -readonly -cmd ".timeout 60000" "$snapshot" \
      "SELECT coalesce((SELECT value FROM snapshot_info WHERE key = 'eventmd_version'), 'an unknown version')") || exit 1
    before_layout=$("$sqlite" -batch -bail -readonly -cmd ".timeout 60000" "$snapshot" \
      "SELECT coalesce((SELECT value FROM snapshot_info WHERE key = 'layout'), 1)") || exit 1
    this_version=$("$sqlite" -batch -bail -cmd "$load" :memory: "SELECT eventmd_version()") || exit 1
    if [ "$before_version" != "$this_version" ] || [ "$4" -eq 0 ] || [ "$5" -eq 0 ] ||
       [ "$before_layout" != "$layout" ]; then
      mode=rebuild
    fi
  fi
fi

# A first build goes to a temporary file beside the snapshot, renamed into
# place once complete; whatever happens, nothing else is left behind.
target=$snapshot
tmp=
cleanup() {
  if [ -n "$tmp" ]; then
    rm -f -- "$tmp" "$tmp-wal" "$tmp-shm" "$tmp-journal"
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 1' HUP INT TERM
if [ "$mode" = first ]; then
  dir=$(dirname -- "$snapshot" && echo .)
  dir=${dir%"$nl."}
  base=$(basename -- "$snapshot" && echo .)
  base=${base%"$nl."}
  tmp=$dir/.$base.eventmd-tmp-$$
  cleanup
  target=$tmp
  case "$target" in -*) target=./$target ;; esac
fi

# A rebuild: the old tables and views go, in the same transaction as the
# build (temp.snapshot_before keeps the paths the snapshot had, for the
# counts and the shrink check; ids are given afresh, in date order).
rebuild_sql=".bail on"
if [ "$mode" = rebuild ]; then
  rebuild_sql="CREATE TEMP TABLE snapshot_before(path TEXT PRIMARY KEY) WITHOUT ROWID;
    INSERT OR IGNORE INTO temp.snapshot_before SELECT path FROM main.events;
    DROP VIEW IF EXISTS events_per_month; DROP VIEW IF EXISTS top_outlets;
    DROP VIEW IF EXISTS dangling_links; DROP VIEW IF EXISTS problems;
    DROP VIEW IF EXISTS version_history; DROP VIEW IF EXISTS related_pairs;
    DROP VIEW IF EXISTS events_fts_docs; DROP VIEW IF EXISTS newest_versions;
    DROP VIEW IF EXISTS title_changes; DROP VIEW IF EXISTS stories;
    DROP TABLE IF EXISTS events_fts; DROP TABLE IF EXISTS sources;
    DROP TABLE IF EXISTS related; DROP TABLE IF EXISTS changes;
    DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS snapshot_folders;
    DELETE FROM snapshot_info;"
fi
shrink_cmd=".bail on"
[ "$allow_shrink" = 1 ] && shrink_cmd=".parameter set @allow_shrink 1"
# Progress, on a terminal only: sqlite3 gets this script's stderr as fd 3
# (its own stderr is collected below), and snapshot.sql writes the progress
# line to /dev/fd/3 after each batch of files read.
progress=0
progress_cmd=".bail on"
if [ "$quiet" = 0 ] && [ -t 2 ]; then
  progress=1
  progress_cmd=".parameter set @progress_to \"'/dev/fd/3'\""
  printf '\reventmd-snapshot: comparing %s with the archive...\033[K' "$snapshot" >&2
fi

start=$(date +%s.%N)
# One sqlite3 run, one transaction (BEGIN IMMEDIATE here; snapshot.sql's
# SAVEPOINT nests in it).  -bail: the first error ends the run, and the open
# transaction with it (rolled back: the snapshot stays as it was).  Output
# and errors are collected: the summary line, or the refusal's counts, are
# picked out below.
out=$(
  "$sqlite" -batch -bail \
    -cmd "$load" \
    -cmd "PRAGMA temp_store = MEMORY" \
    -cmd "SELECT 1 WHERE eventmd_attach('$q', 'live_') IS NULL" \
    -cmd "$shrink_cmd" \
    -cmd "$progress_cmd" \
    -cmd ".timeout 60000" \
    -cmd "PRAGMA journal_mode = WAL" \
    -cmd "PRAGMA synchronous = NORMAL" \
    -cmd "BEGIN IMMEDIATE" \
    -cmd "$rebuild_sql" \
    -cmd "$read_sql" \
    "$target" \
    "COMMIT;
     SELECT 'summary: ' ||
            (SELECT value FROM snapshot_info WHERE key = 'inserted') || ' inserted, ' ||
            (SELECT value FROM snapshot_info WHERE key = 'updated') || ' updated, ' ||
            (SELECT value FROM snapshot_info WHERE key = 'deleted') || ' deleted; ' ||
            (SELECT value FROM snapshot_info WHERE key = 'events') || ' events'" 3>&2 2>&1
)
status=$?
[ "$progress" = 1 ] && printf '\r\033[K' >&2  # the progress line goes
summary=$(printf '%s\n' "$out" | sed -n 's/^summary: //p')
if [ "$status" -ne 0 ] || [ -z "$summary" ]; then
  refused=$(printf '%s\n' "$out" | sed -n 's/^refused: //p')
  if [ -n "$refused" ]; then
    echo "eventmd-snapshot: $snapshot: refused: $refused; if the archive really lost them, run again with --allow-shrink" >&2
    exit 3
  fi
  # sqlite3's own lines, without the pragmas' echoes
  printf '%s\n' "$out" | grep -v -x -e wal -e 60000 -e 67108864 -e delete >&2
  if [ "$mode" = first ]; then
    echo "eventmd-snapshot: $snapshot not written (error above)" >&2
  else
    echo "eventmd-snapshot: $snapshot left as it was (error above)" >&2
  fi
  exit 1
fi

if [ "$mode" = first ]; then
  # The last connection closed: the -wal was checkpointed into the file and
  # removed.  Stale -wal/-shm files of a snapshot deleted by hand would be
  # taken for the new file's: away with them, then into place (a snapshot
  # that appeared meanwhile, checked just before, is left alone).
  if [ -e "$tmp-wal" ] && [ -s "$tmp-wal" ]; then
    "$sqlite" -batch "$target" "PRAGMA wal_checkpoint(TRUNCATE)" > /dev/null 2>&1
  fi
  if [ -e "$snapshot" ] && [ -s "$snapshot" ]; then
    echo "eventmd-snapshot: $snapshot appeared during the first build: left alone; run again to refresh it" >&2
    exit 1
  fi
  rm -f -- "$snapshot-wal" "$snapshot-shm" "$snapshot-journal"
  if ! mv -f -- "$tmp" "$snapshot"; then
    echo "eventmd-snapshot: cannot rename $tmp to $snapshot" >&2
    exit 1
  fi
  rm -f -- "$tmp-wal" "$tmp-shm"
  tmp=
fi
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
if [ "$quiet" = 1 ]; then
  :
elif [ "$mode" = rebuild ] && [ "$before_version" != "$this_version" ]; then
  echo "eventmd-snapshot: $snapshot was written by eventmd $before_version: rebuilt for $this_version: $summary; $secs s"
elif [ "$mode" = rebuild ]; then
  echo "eventmd-snapshot: $snapshot had snapshot layout $before_layout: rebuilt in layout $layout: $summary; $secs s"
else
  echo "eventmd-snapshot: $snapshot: $summary; $secs s"
fi
