#!/bin/sh
# SPDX-License-Identifier: MIT
# eventmd - open an archive of news-event markdown files in the sqlite3 shell.
#
#   eventmd ARCHIVE_DIR                       interactive shell
#   eventmd ARCHIVE_DIR "SELECT ..."          run SQL and exit
#   eventmd ARCHIVE_DIR < script.sql          run a script
#   eventmd -box ARCHIVE_DIR "SELECT ..."     sqlite3 options pass through
#   eventmd ARCHIVE_DIR -csv "SELECT ..."     (before or after the folder)
#   eventmd --help | --version
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
#
# --help (also sqlite3's -help, and -h) prints the usage to stdout; --version
# (also -version) prints the version of the extension that would be loaded,
# asked from it, so the two never disagree; both exit 0.  Wrong usage (no
# folder, an option without its value) prints a one-line hint to stderr and
# exits 2; a folder that cannot be read, or an extension that is not there,
# exits 1.  Otherwise the exit status is sqlite3's.
set -u
# Where the extension and the SQL are: beside this script, found from its
# real location, so a moved build tree or an installed copy finds its own
# (build tree: build/bin/ -> build/eventmd.so and sql/; installed:
# PREFIX/bin/ -> PREFIX/lib/sqlite3/eventmd.so and PREFIX/share/eventmd/).
# $EVENTMD_EXTENSION names another extension.
here=$(dirname -- "$(readlink -f -- "$0")")
ext=${EVENTMD_EXTENSION:-$here/@EXT@}
sqlite=${EVENTMD_SQLITE3:-sqlite3}

usage_error() { # what is wrong: one line on stderr, exit 2
  echo "eventmd: $1; try 'eventmd --help'" >&2
  exit 2
}

show_help() {
  cat <<'EOF'
usage: eventmd [--no-cache] [sqlite3 options] ARCHIVE_DIR [sqlite3 options] [SQL ...]
       eventmd --help | --version

Opens ARCHIVE_DIR, a folder of news-event markdown files, in the sqlite3
shell, with the eventmd extension loaded and four TEMP tables attached over
an in-memory database: events, sources, related and changes.  With SQL
arguments, runs them in order and exits; without, reads SQL from standard
input (the interactive shell on a terminal).

Options:
  --no-cache            keep no cache file (every run parses what it reads)
  --help, -help, -h     show this help and exit
  --version, -version   print the extension's version and exit
  Every other option is sqlite3's (-csv, -json, -box, -header, -cmd COMMAND,
  -separator SEP, ...; see 'sqlite3 -help') and is passed on exactly as
  given, before or after ARCHIVE_DIR.  Arguments after the first SQL
  argument are all SQL.

Environment:
  XDG_CACHE_HOME       cache files go to $XDG_CACHE_HOME/eventmd/ (default
                       ~/.cache/eventmd/), one per archive
  EVENTMD_CACHE_FILE   the cache file to use instead
  EVENTMD_EXTENSION    the extension to load (default: the one installed
                       beside this command)
  EVENTMD_SQLITE3      the sqlite3 program to run (default: sqlite3)
  EVENTMD_ROOTS        folders, ':'-separated, outside which nothing is read
  EVENTMD_LOCK         1: the extension's settings cannot be changed by SQL

Exit status: 0 done (else sqlite3's own status), 1 ARCHIVE_DIR is not a
readable folder or the extension is missing, 2 wrong usage.
See eventmd(1).
EOF
  exit 0
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

dot_quote "$ext"
load=".load \"$r\""

# The extension named by a path must be there (sqlite3 would only warn and
# go on without the tables); a bare name is left to the dynamic loader.
check_extension() {
  case $ext in
    */*)
      if [ ! -f "$ext" ] && [ ! -f "$ext.so" ]; then
        echo "eventmd: extension '$ext' not found (set EVENTMD_EXTENSION, or reinstall)" >&2
        exit 1
      fi
      ;;
  esac
}

show_version() {
  check_extension
  if ! v=$("$sqlite" -batch -bail -cmd "$load" :memory: "SELECT eventmd_version()" < /dev/null) ||
    [ -z "$v" ]; then
    echo "eventmd: cannot load the extension '$ext'" >&2
    exit 1
  fi
  echo "eventmd $v"
  exit 0
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
      [ "$n" -ge 1 ] || usage_error "option '$a' needs a value"
      set -- "$@" "$a" "$1"
      shift
      n=$((n - 1))
      ;;
    -pagecache | -lookaside | --pagecache | --lookaside)
      [ "$n" -ge 2 ] || usage_error "option '$a' needs two values"
      set -- "$@" "$a" "$1" "$2"
      shift 2
      n=$((n - 2))
      ;;
    -help | --help | -h) show_help ;;
    -version | --version) show_version ;;
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
[ "$state" != options ] || usage_error "no ARCHIVE_DIR given"
if [ ! -d "$archive" ] || [ ! -r "$archive" ]; then
  echo "eventmd: root '$archive' is not a readable directory" >&2
  exit 1
fi
check_extension
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

exec "$sqlite" -cmd "$load" \
  -cmd "CREATE VIRTUAL TABLE temp.events USING eventmd_events(root='$q')" \
  -cmd "CREATE VIRTUAL TABLE temp.sources USING eventmd_sources(root='$q')" \
  -cmd "CREATE VIRTUAL TABLE temp.related USING eventmd_related(root='$q')" \
  -cmd "CREATE VIRTUAL TABLE temp.changes USING eventmd_changes(root='$q')" \
  "$@"
