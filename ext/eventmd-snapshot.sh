#!/bin/sh
# eventmd-snapshot - build or refresh a snapshot of an archive of news-event
# markdown files in a plain SQLite file, for tools that cannot load
# extensions (Metabase, Grafana, Datasette, DB Browser, a plain sqlite3).
#
#   eventmd-snapshot ARCHIVE_DIR SNAPSHOT.db
#
# The first run creates SNAPSHOT.db; later runs refresh it incrementally:
# only new, changed and deleted event files are touched, in one transaction
# (readers see the old snapshot or the new one, never half of it).  Prints
# one line, e.g.
#   eventmd-snapshot: /data/snap.db: 1 inserted, 2 updated, 1 deleted; 100000 events; 0.21 s
# The SQL is sql/snapshot.sql.  $EVENTMD_SQLITE3 names another sqlite3.
set -u
ext='@EXT@'
sqldir='@SQLDIR@'
sqlite=${EVENTMD_SQLITE3:-sqlite3}

usage() {
  echo "usage: eventmd-snapshot ARCHIVE_DIR SNAPSHOT.db" >&2
  exit 2
}

[ $# -eq 2 ] || usage
case "$1" in -*) usage ;; esac
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
# The live tables keep the root as given: make it absolute, so that
# snapshot_info names the same root whatever the working directory.
root=$(cd "$archive" && pwd -P) || exit 1
q=$(printf '%s' "$root" | sed "s/'/''/g")
load=".load \"$(printf '%s' "$ext" | sed 's/"/\\"/g')\""
read_sql=".read \"$(printf '%s' "$sqldir/snapshot.sql" | sed 's/"/\\"/g')\""

start=$(date +%s.%N)
# -bail: the first error ends the run, and the open transaction with it
# (rolled back: the snapshot stays as it was).  The script's own output
# (PRAGMA journal_mode's "wal") goes to /dev/null; the summary line is the
# only output.
summary=$(
  "$sqlite" -batch -bail \
    -cmd "$load" \
    -cmd "PRAGMA temp_store = MEMORY" \
    -cmd "SELECT 1 WHERE eventmd_attach('$q', 'live_') IS NULL" \
    -cmd ".output /dev/null" \
    -cmd "$read_sql" \
    -cmd ".output stdout" \
    "$snapshot" \
    "SELECT (SELECT value FROM snapshot_info WHERE key = 'inserted') || ' inserted, ' ||
            (SELECT value FROM snapshot_info WHERE key = 'updated') || ' updated, ' ||
            (SELECT value FROM snapshot_info WHERE key = 'deleted') || ' deleted; ' ||
            (SELECT value FROM snapshot_info WHERE key = 'events') || ' events'"
) || {
  echo "eventmd-snapshot: $snapshot left as it was (error above)" >&2
  exit 1
}
end=$(date +%s.%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "eventmd-snapshot: $snapshot: $summary; $secs s"
