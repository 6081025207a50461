#!/bin/sh
# tests/clients.sh - eventmd through real clients: Python's sqlite3 module and
# Node's better-sqlite3.  Called by `make test`; builds nothing itself, so run
# `make` first (it needs build/eventmd.so).
#
#   sh tests/clients.sh
#
# Environment:
#   EVENTMD_EXT  the extension, with or without .so (default build/eventmd)
#   PYTHON       the interpreter for tests/test_python.py (default /usr/bin/python3,
#                Debian's, whose sqlite3 module can load extensions)
#   NODE, NPM    default: node and npm from PATH
#
# better-sqlite3@12 (v13 does not run on Node 20) is installed once into
# build/node/ and used from there; nothing is installed elsewhere in the repo.
# Exits non-zero when any test fails or cannot be run for a reason other than
# node not being installed (which is reported, not silently skipped).

set -u
cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd)

PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
NPM=${NPM:-npm}
EVENTMD_EXT=${EVENTMD_EXT:-$REPO/build/eventmd}
export EVENTMD_EXT
NODE_PREFIX=$REPO/build/node

status=0
say() { printf 'clients.sh: %s\n' "$*"; }
fail() { say "FAIL: $*" >&2; status=1; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2fs", b - a }'; }

case $EVENTMD_EXT in
  *.so) so=$EVENTMD_EXT ;;
  *) so=$EVENTMD_EXT.so ;;
esac
if [ ! -f "$so" ]; then
  say "FAIL: $so does not exist; run 'make' first" >&2
  exit 1
fi

# --- Python ----------------------------------------------------------------
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  fail "$PYTHON is not installed (the Python client test needs Debian's python3)"
elif ! "$PYTHON" -c 'import sqlite3, sys; sys.exit(0 if hasattr(sqlite3.Connection, "enable_load_extension") else 1)'; then
  fail "$PYTHON's sqlite3 module has no enable_load_extension (built without loadable extensions); use Debian's /usr/bin/python3"
else
  say "Python: $("$PYTHON" -c 'import sys, sqlite3; print(sys.version.split()[0], "with SQLite", sqlite3.sqlite_version)')"
  t0=$(now)
  if "$PYTHON" tests/test_python.py; then
    say "Python client test passed ($(took "$t0"))"
  else
    fail "Python client test failed ($(took "$t0"))"
  fi
fi

# --- Node ------------------------------------------------------------------
# better-sqlite3 12.x installed under build/node, and its native module loads.
have_better_sqlite3() {
  [ -f "$NODE_PREFIX/node_modules/better-sqlite3/package.json" ] &&
    (cd "$NODE_PREFIX" && "$NODE" -e '
      const v = require("better-sqlite3/package.json").version;
      if (!/^12\./.test(v)) process.exit(1);
      new (require("better-sqlite3"))(":memory:").close();' >/dev/null 2>&1)
}

if ! command -v "$NODE" >/dev/null 2>&1; then
  say "NOTE: the Node client test (tests/test_node.mjs) is NOT run: node is not installed"
else
  ready=1
  if ! have_better_sqlite3; then
    if ! command -v "$NPM" >/dev/null 2>&1; then
      fail "the Node client test cannot run: npm is not installed, and better-sqlite3@12 is not in build/node"
      ready=0
    else
      say "installing better-sqlite3@12 into build/node (once)"
      t0=$(now)
      mkdir -p "$NODE_PREFIX"
      if "$NPM" install --prefix "$NODE_PREFIX" better-sqlite3@12 \
           --no-audit --no-fund --loglevel=error && have_better_sqlite3; then
        say "installed better-sqlite3 ($(took "$t0"))"
      else
        fail "npm install --prefix build/node better-sqlite3@12 failed; the Node client test cannot run"
        ready=0
      fi
    fi
  fi
  if [ "$ready" = 1 ]; then
    say "Node: $("$NODE" --version) with better-sqlite3 $(cd "$NODE_PREFIX" && "$NODE" -p 'require("better-sqlite3/package.json").version')"
    t0=$(now)
    if NODE_PATH="$NODE_PREFIX/node_modules${NODE_PATH:+:$NODE_PATH}" \
         "$NODE" --test --test-reporter=spec tests/test_node.mjs; then
      say "Node client test passed ($(took "$t0"))"
    else
      fail "Node client test failed ($(took "$t0"))"
    fi
  fi
fi

# The README's client examples (sql/clients/) must run and end with
# eventmd's error for a bad root, as shown there.
example() { # name command...
  name=$1
  shift
  out=$("$@" 2>&1)
  if [ $? -eq 0 ] && printf '%s\n' "$out" | tail -1 |
       grep -q "^error: eventmd: root '/no/such/archive' is not a readable directory"; then
    say "$name ran as the README shows"
  else
    fail "$name: $out"
  fi
}
if [ -x "$PYTHON" ]; then example sql/clients/example.py "$PYTHON" sql/clients/example.py; fi
if [ "${ready:-0}" = 1 ]; then example sql/clients/example.mjs "$NODE" sql/clients/example.mjs; fi

if [ "$status" = 0 ]; then say "all client tests passed"; else say "client tests FAILED" >&2; fi
exit $status
