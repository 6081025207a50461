#!/bin/sh
# SPDX-License-Identifier: MIT
# eventmd - open an archive of news-event markdown files in the sqlite3 shell.
#
#   eventmd ARCHIVE_DIR                       interactive shell
#   eventmd ARCHIVE_DIR "SELECT ..."          run SQL and exit
#   eventmd ARCHIVE_DIR < script.sql          run a script
#   eventmd -box ARCHIVE_DIR "SELECT ..."     sqlite3 options pass through
#   eventmd ARCHIVE_DIR -csv "SELECT ..."     (before or after the folder)
#
# The extension is loaded and the four tables are created as TEMP tables
# named events, sources, related and changes, over an in-memory database.
# $EVENTMD_SQLITE3 names another sqlite3.
#
# Parsed files are kept between runs in a cache file per archive,
# $XDG_CACHE_HOME/eventmd/<hash of the archive's real path>.db (default
# ~/.cache/eventmd/), so the next run over an unchanged archive starts warm;
# --no-cache turns it off, and $EVENTMD_CACHE_FILE, when set, is used as it
# is.  Nothing else is written.
#
# Every argument reaches sqlite3 exactly as given (the list is rebuilt with
# "$@" only: no word splitting, no globbing), so option values such as
# -separator '*' or SQL holding spaces, quotes or newlines arrive intact.
# The setup commands come first, so a -cmd of the user's can use the tables.
set -u
# Where the extension and the SQL are: beside this script, found from its
# real location, so a moved build tree or an installed copy finds its own
# (build tree: build/bin/ -> build/eventmd.so and sql/; installed:
# PREFIX/bin/ -> PREFIX/lib/sqlite3/eventmd.so and PREFIX/share/eventmd/).
# $EVENTMD_EXTENSION names another extension.
here=$(dirname -- "$(readlink -f -- "$0")")
ext=${EVENTMD_EXTENSION:-$here/@EXT@}
sqlite=${EVENTMD_SQLITE3:-sqlite3}

usage() {
  echo "usage: eventmd [sqlite3 options] ARCHIVE_DIR [sqlite3 options] [SQL ...]" >&2
  exit 2
}

# Both set $r.  $(...) drops trailing newlines, so a final 'x' protects them.
sql_quote() { # text: r = text with ' doubled
  r=$(printf '%sx' "$1" | sed "s/'/''/g")
  r=${r%x}
}
dot_quote() { # text: r = text with \ and " escaped, for a "..." dot-command argument
  r=$(printf '%sx' "$1" | sed 's/[\\"]/\\&/g')
  r=${r%x}
}

# One pass over the arguments, each taken from the front and put back at the
# end unchanged: sqlite3 options (and the values they take) before and after
# the folder, the folder itself (replaced by :memory:), then SQL, which is
# passed on as it is from the first SQL argument on.  sqlite3 accepts its
# options with one dash or two.
archive=""
no_cache=0
state=options # options, then after-folder, then sql
n=$#
while [ "$n" -gt 0 ]; do
  a=$1
  shift
  n=$((n - 1))
  if [ "$state" = sql ]; then
    set -- "$@" "$a"
    continue
  fi
  case $a in
    -cmd | -separator | -newline | -nullvalue | -init | -vfs | -mmap | -maxsize | \
      -heap | -nonce | --cmd | --separator | --newline | --nullvalue | --init | \
      --vfs | --mmap | --maxsize | --heap | --nonce)
      [ "$n" -ge 1 ] || usage
      set -- "$@" "$a" "$1"
      shift
      n=$((n - 1))
      ;;
    -pagecache | -lookaside | --pagecache | --lookaside)
      [ "$n" -ge 2 ] || usage
      set -- "$@" "$a" "$1" "$2"
      shift 2
      n=$((n - 2))
      ;;
    -help | --help | -h) usage ;;
    --no-cache) no_cache=1 ;;
    -*) set -- "$@" "$a" ;;
    *)
      if [ "$state" = options ]; then
        archive=$a
        state=after-folder
        set -- "$@" :memory:
      else
        state=sql
        set -- "$@" "$a"
      fi
      ;;
  esac
done
[ "$state" != options ] || usage
if [ ! -d "$archive" ] || [ ! -r "$archive" ]; then
  echo "eventmd: root '$archive' is not a readable directory" >&2
  exit 1
fi
# The cache file: one per archive (by its real path), unless turned off.
if [ "$no_cache" = 1 ]; then
  unset EVENTMD_CACHE_FILE
elif [ -z "${EVENTMD_CACHE_FILE:-}" ]; then
  base=${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}
  real=$(cd "$archive" 2>/dev/null && pwd -P)
  if [ -n "$base" ] && [ -n "$real" ] &&
    mkdir -p "$base/eventmd" 2>/dev/null; then
    key=$(printf '%s' "$real" | cksum | cut -d ' ' -f 1)
    name=$(printf '%s' "${real##*/}" | tr -c 'A-Za-z0-9._-' '_')
    EVENTMD_CACHE_FILE="$base/eventmd/$name-$key.db"
    export EVENTMD_CACHE_FILE
  fi
fi

sql_quote "$archive"
q=$r
dot_quote "$ext"
load=".load \"$r\""

exec "$sqlite" -cmd "$load" \
  -cmd "CREATE VIRTUAL TABLE temp.events USING eventmd_events(root='$q')" \
  -cmd "CREATE VIRTUAL TABLE temp.sources USING eventmd_sources(root='$q')" \
  -cmd "CREATE VIRTUAL TABLE temp.related USING eventmd_related(root='$q')" \
  -cmd "CREATE VIRTUAL TABLE temp.changes USING eventmd_changes(root='$q')" \
  "$@"
