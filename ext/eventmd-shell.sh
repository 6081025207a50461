#!/bin/sh
# eventmd - open an archive of news-event markdown files in the sqlite3 shell.
#
#   eventmd ARCHIVE_DIR                       interactive shell
#   eventmd ARCHIVE_DIR "SELECT ..."          run SQL and exit
#   eventmd ARCHIVE_DIR < script.sql          run a script
#   eventmd -box ARCHIVE_DIR "SELECT ..."     sqlite3 options pass through
#   eventmd ARCHIVE_DIR -csv "SELECT ..."     (before or after the folder)
#
# The extension is loaded and the four tables are created as TEMP tables
# named events, sources, related and changes, over an in-memory database:
# nothing is written anywhere.  $EVENTMD_SQLITE3 names another sqlite3.
set -u
ext='@EXT@'
sqlite=${EVENTMD_SQLITE3:-sqlite3}

usage() {
  echo "usage: eventmd [sqlite3 options] ARCHIVE_DIR [sqlite3 options] [SQL ...]" >&2
  exit 2
}

# Split the arguments: sqlite3 options (some take a value), the archive
# folder (the first other argument), then SQL.
opts=""
archive=""
nl='
'
while [ $# -gt 0 ]; do
  case "$1" in
    -cmd|-separator|-newline|-nullvalue|-init|-vfs|-mmap|-maxsize|-pagecache|-lookaside|-heap)
      [ $# -ge 2 ] || usage
      opts="$opts$1$nl$2$nl"; shift 2 ;;
    -help|--help|-h) usage ;;
    -*) opts="$opts$1$nl"; shift ;;
    *)
      if [ -z "$archive" ]; then archive=$1; shift; else break; fi ;;
  esac
done
[ -n "$archive" ] || usage
if [ ! -d "$archive" ] || [ ! -r "$archive" ]; then
  echo "eventmd: root '$archive' is not a readable directory" >&2
  exit 1
fi
q=$(printf '%s' "$archive" | sed "s/'/''/g")
load=".load \"$(printf '%s' "$ext" | sed 's/"/\\"/g')\""

# Rebuild "$@" (now the SQL) as: options, setup commands, :memory:, SQL.
old_ifs=$IFS
IFS=$nl
# shellcheck disable=SC2086
set -- $opts -cmd "$load" \
  -cmd "CREATE VIRTUAL TABLE temp.events USING eventmd_events(root='$q')" \
  -cmd "CREATE VIRTUAL TABLE temp.sources USING eventmd_sources(root='$q')" \
  -cmd "CREATE VIRTUAL TABLE temp.related USING eventmd_related(root='$q')" \
  -cmd "CREATE VIRTUAL TABLE temp.changes USING eventmd_changes(root='$q')" \
  :memory: "$@"
IFS=$old_ifs
exec "$sqlite" "$@"
