#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/clients/clients.sh - eventmd through real clients: Python's sqlite3 module
# (tests/clients/test_python.py, and tests/clients/test_webui.py: the SQL Datasette sends,
# under EVENTMD_ROOTS and EVENTMD_LOCK), apsw (tests/clients/test_apsw.py) and
# Node's better-sqlite3.  Called by
# `make test`; builds nothing itself, so run `make` first (it needs
# build/eventmd.so, and build/corpus-2400 or $EVENTMD_CORPUS for the web UI).
#
#   sh tests/clients/clients.sh
#
# Environment:
#   EVENTMD_EXT  the extension, with or without .so (default build/eventmd)
#   PYTHON       the interpreter for tests/clients/test_python.py (default /usr/bin/python3,
#                Debian's, whose sqlite3 module can load extensions)
#   NODE, NPM    default: node and npm from PATH
#   EVENTMD_NODE_PREFIX  where better-sqlite3 is installed (default build/node)
#   CI           true or 1: a client that is missing is a failure (see below)
#
# better-sqlite3@12 (v13 does not run on Node 20) is installed once into
# build/node/ and used from there; nothing is installed elsewhere in the repo.
#
# A client test cannot pass silently without running.  When its client is
# missing (python3 whose sqlite3 module can load extensions, python3-apsw,
# node 20 or later, npm, or better-sqlite3@12 when npm cannot install it), its
# Debian packages are installed first (tests/tools/deps.sh: as root with
# apt-get; otherwise it prints the line to run), and a client still missing is:
#   - under CI (CI=true or CI=1) a FAILURE naming it and how to install it;
#   - otherwise a loud SKIPPED banner goes to stderr (and again at the end),
#     and the test does not count as failed.
# Exits non-zero when any test fails, or under CI when any client is missing.

set -u
cd "$(dirname "$0")/../.." || exit 2
REPO=$(pwd)

PYTHON=${PYTHON:-/usr/bin/python3}
NODE=${NODE:-node}
NPM=${NPM:-npm}
EVENTMD_EXT=${EVENTMD_EXT:-$REPO/build/eventmd}
export EVENTMD_EXT
NODE_PREFIX=${EVENTMD_NODE_PREFIX:-$REPO/build/node}

me=clients.sh
. "$REPO/tests/clients/lib.sh"

# try_install PACKAGE...: have tests/tools/deps.sh install the Debian
# packages (apt-get as root, as make test does for the build's own packages;
# otherwise it prints the line to run and the test is reported missing).
try_install() {
  say "trying to install the missing Debian package(s): $*"
  sh tests/tools/deps.sh "$@" || say "could not install $*"
}
pkg_installed() { # PACKAGE: is the Debian package installed?
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}
not_on_path() { # COMMAND PACKAGE: why COMMAND is missing
  case $1 in
    */*) echo "'$1' does not exist or is not executable"; return ;;
  esac
  if pkg_installed "$2"; then
    echo "'$1' is not found on PATH, though the package $2 is installed (PATH=$PATH)"
  else
    echo "'$1' is not found: the package $2 is not installed"
  fi
}

case $EVENTMD_EXT in
  *.so) so=$EVENTMD_EXT ;;
  *) so=$EVENTMD_EXT.so ;;
esac
if [ ! -f "$so" ]; then
  say "FAIL: $so does not exist; run 'make' first" >&2
  exit 1
fi

# --- Python ----------------------------------------------------------------
PY_TEST="the Python client test (tests/clients/test_python.py)"
PY_CHECK='import sqlite3, sys; sys.exit(0 if hasattr(sqlite3.Connection, "enable_load_extension") else 3)'
py_ok=0
py_state() { # 0 ready, 1 interpreter missing, 2 no sqlite3 module, 3 no extension loading
  command -v "$PYTHON" >/dev/null 2>&1 || return 1
  "$PYTHON" -c "$PY_CHECK" >/dev/null 2>&1
  case $? in
    0) return 0 ;;
    3) return 3 ;;
    *) return 2 ;;
  esac
}
py_state
st=$?
if [ "$st" = 1 ] && [ "$PYTHON" = /usr/bin/python3 ]; then
  try_install python3
  py_state
  st=$?
fi
case $st in
  0) py_ok=1 ;;
  1) missing "$PY_TEST" "$(not_on_path "$PYTHON" python3)" \
       "apt-get install python3 (Debian's /usr/bin/python3), or set PYTHON" ;;
  2) missing "$PY_TEST" "$PYTHON cannot import its sqlite3 module" \
       "apt-get install python3 and use Debian's /usr/bin/python3 (PYTHON=/usr/bin/python3)" ;;
  *) missing "$PY_TEST" "$PYTHON's sqlite3 module cannot load extensions (no enable_load_extension)" \
       "apt-get install python3 and use Debian's /usr/bin/python3 (PYTHON=/usr/bin/python3)" ;;
esac
if [ "$py_ok" = 1 ]; then
  say "Python: $("$PYTHON" -c 'import sys, sqlite3; print(sys.version.split()[0], "with SQLite", sqlite3.sqlite_version)')"
  t0=$(now)
  if "$PYTHON" tests/clients/test_python.py; then
    pass "Python client test passed ($(took "$t0"))"
  else
    fail "Python client test failed ($(took "$t0"))"
  fi
  t0=$(now)
  if "$PYTHON" tests/clients/test_webui.py; then
    pass "web UI test (Datasette's SQL, confined) passed ($(took "$t0"))"
  else
    fail "web UI test (Datasette's SQL, confined) failed ($(took "$t0"))"
  fi
fi

# --- apsw (Debian's python3-apsw: loads extensions on any Python that has it)
APSW_TEST="the apsw client test (tests/clients/test_apsw.py)"
APSW_CHECK='import apsw'
if [ "$py_ok" = 1 ] && ! "$PYTHON" -c "$APSW_CHECK" >/dev/null 2>&1; then
  try_install python3-apsw
fi
if [ "$py_ok" != 1 ]; then
  missing "$APSW_TEST" "there is no Python to run it with (see above)" \
    "apt-get install python3 python3-apsw"
elif ! "$PYTHON" -c "$APSW_CHECK" >/dev/null 2>&1; then
  missing "$APSW_TEST" "$PYTHON cannot import apsw" "apt-get install python3-apsw"
else
  t0=$(now)
  if "$PYTHON" tests/clients/test_apsw.py; then
    pass "apsw client test passed ($(took "$t0"))"
  else
    fail "apsw client test failed ($(took "$t0"))"
  fi
fi

# --- Node ------------------------------------------------------------------
NODE_TEST="the Node client test (tests/clients/test_node.mjs)"
# better-sqlite3 12.x installed under $NODE_PREFIX, and its native module loads.
have_better_sqlite3() {
  [ -f "$NODE_PREFIX/node_modules/better-sqlite3/package.json" ] &&
    (cd "$NODE_PREFIX" && "$NODE" -e '
      const v = require("better-sqlite3/package.json").version;
      if (!/^12\./.test(v)) process.exit(1);
      new (require("better-sqlite3"))(":memory:").close();' >/dev/null 2>&1)
}

ready=0
if ! have "$NODE"; then
  try_install nodejs
fi
if ! have "$NODE"; then
  missing "$NODE_TEST" "$(not_on_path "$NODE" nodejs)" \
    "apt-get install nodejs npm (better-sqlite3@12 needs Node.js 20 or later; Debian 12's own nodejs is 18)"
elif ! node_major=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null) ||
     [ "$node_major" -lt 20 ] 2>/dev/null; then
  missing "$NODE_TEST" "node is $("$NODE" --version 2>&1); better-sqlite3@12 needs Node.js 20 or later" \
    "install Node.js 20 or later (Debian 12's nodejs package is 18)"
elif have_better_sqlite3; then
  ready=1
else
  # A nodejs package that bundles npm (NodeSource's) conflicts with
  # Debian's npm package: install that only beside Debian's nodejs.
  npm_pkg=npm
  if dpkg-query -W -f='${Provides}' nodejs 2>/dev/null | grep -qw npm; then
    npm_pkg=nodejs
  fi
  if ! have "$NPM" && [ "$npm_pkg" = npm ]; then
    try_install npm
  fi
  if ! have "$NPM"; then
    missing "$NODE_TEST" "better-sqlite3@12 is not in $NODE_PREFIX and $(not_on_path "$NPM" "$npm_pkg")" \
      "apt-get install $npm_pkg (npm), then make test installs better-sqlite3@12"
  else
    say "installing better-sqlite3@12 into $NODE_PREFIX (once)"
    t0=$(now)
    mkdir -p "$NODE_PREFIX"
    if "$NPM" install --prefix "$NODE_PREFIX" better-sqlite3@12 \
         --no-audit --no-fund --loglevel=error && have_better_sqlite3; then
      say "installed better-sqlite3 ($(took "$t0"))"
      ready=1
    else
      missing "$NODE_TEST" "npm install --prefix $NODE_PREFIX better-sqlite3@12 failed, or its native module does not load (see above)" \
        "npm install --prefix $NODE_PREFIX better-sqlite3@12 (needs the npm registry)"
    fi
  fi
fi
NODE_PATH="$NODE_PREFIX/node_modules${NODE_PATH:+:$NODE_PATH}"
export NODE_PATH
if [ "$ready" = 1 ]; then
  say "Node: $("$NODE" --version) with better-sqlite3 $(cd "$NODE_PREFIX" && "$NODE" -p 'require("better-sqlite3/package.json").version')"
  t0=$(now)
  if "$NODE" --test --test-reporter=spec tests/clients/test_node.mjs; then
    pass "Node client test passed ($(took "$t0"))"
  else
    fail "Node client test failed ($(took "$t0"))"
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
    pass "$name ran as the README shows"
  else
    fail "$name: $out"
  fi
}
if [ "$py_ok" = 1 ]; then
  example sql/clients/example.py "$PYTHON" sql/clients/example.py "$EVENTMD_EXT"
  if "$PYTHON" -c "$APSW_CHECK" >/dev/null 2>&1; then
    example sql/clients/example_apsw.py "$PYTHON" sql/clients/example_apsw.py "$EVENTMD_EXT"
  fi
fi
if [ "$ready" = 1 ]; then
  example sql/clients/example.mjs "$NODE" sql/clients/example.mjs "$EVENTMD_EXT"
fi

summary "client test"
