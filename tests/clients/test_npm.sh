#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/clients/test_npm.sh - the npm package (bindings/node) as a user gets it:
# packs build/eventmd-VERSION.tgz (bindings/node/pack.sh), installs the
# tarball into a fresh project together with better-sqlite3@12 and, when it can
# be installed here, node-sqlite3 (the sqlite3 package), then runs
# tests/clients/test_npm.mjs in that project (queries over tests/sample through
# require('eventmd').load(db) and import { load } from 'eventmd') and
# type-checks index.d.ts with TypeScript.  Called by `make test`; builds
# nothing itself, so run `make` first.
#
#   sh tests/clients/test_npm.sh
#
# Environment:
#   EVENTMD_EXT        the extension, with or without .so (default build/eventmd)
#   NODE, NPM          default: node and npm from PATH
#   EVENTMD_NPM_WORK   the work folder (default build/npm-test): the tarball
#                      and the project (made afresh on each run)
#   EVENTMD_NODE_PREFIX where better-sqlite3@12, sqlite3@6 and TypeScript are
#                      installed once (default build/node, shared with
#                      clients.sh; native modules are built from source when
#                      their prebuilt binaries cannot be downloaded, which is
#                      slow) and copied into the project from
#   CI                 true or 1: a client that cannot be installed is a failure
#
# As in clients.sh, nothing passes silently without running: when node, npm,
# better-sqlite3, sqlite3 or TypeScript is missing, a loud SKIPPED banner says
# what did not run and why (to stderr, and again at the end); under CI that
# is a FAILURE instead.  Exits non-zero when anything fails.

set -u
cd "$(dirname "$0")/../.." || exit 2
REPO=$(pwd)

NODE=${NODE:-node}
NPM=${NPM:-npm}
EVENTMD_EXT=${EVENTMD_EXT:-$REPO/build/eventmd}
WORK=${EVENTMD_NPM_WORK:-$REPO/build/npm-test}
case $WORK in /*) ;; *) WORK=$REPO/$WORK ;; esac
# The clients are installed once, where tests/clients/clients.sh installs
# better-sqlite3@12 (build/node): built from source when no prebuilt binary
# can be downloaded, each takes minutes, so they are built once for both.
DEPS=${EVENTMD_NODE_PREFIX:-$REPO/build/node}
case $DEPS in /*) ;; *) DEPS=$REPO/$DEPS ;; esac
PROJECT=$WORK/project
BETTER_SPEC=better-sqlite3@12
SQLITE3_SPEC=sqlite3@6
TYPES_SPECS="typescript@5 @types/node@20 @types/better-sqlite3@7"

me=test_npm.sh
. "$REPO/tests/clients/lib.sh"

finish() {
  summary "npm package test"
  exit
}

case $EVENTMD_EXT in
  *.so) so=$EVENTMD_EXT ;;
  *) so=$EVENTMD_EXT.so ;;
esac
case $so in /*) ;; *) so=$REPO/$so ;; esac
if [ ! -f "$so" ]; then
  say "FAIL: $so does not exist; run 'make' first" >&2
  exit 1
fi

NPM_TEST="the npm package test (tests/clients/test_npm.sh)"
if ! have "$NODE"; then
  missing "$NPM_TEST" "'$NODE' is not found" "install Node.js 20 or later and npm"
  finish
fi
node_major=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  missing "$NPM_TEST" "node is $("$NODE" --version 2>&1); better-sqlite3@12 needs Node.js 20 or later" \
    "install Node.js 20 or later"
  finish
fi
if ! have "$NPM"; then
  missing "$NPM_TEST" "'$NPM' is not found" "install npm (it comes with Node.js)"
  finish
fi
say "Node $("$NODE" --version), npm $("$NPM" --version)"

# --- the tarball --------------------------------------------------------------
mkdir -p "$WORK"
rm -f "$WORK"/eventmd-*.tgz
t0=$(now)
if ! tgz=$(NPM=$NPM sh bindings/node/pack.sh "$so" "$WORK" | tail -1) || [ ! -f "$tgz" ]; then
  fail "bindings/node/pack.sh could not pack the package"
  finish
fi
version=$(sed -n 's/^#define EVENTMD_VERSION "\(.*\)"$/\1/p' include/eventmd.h)
contents=$(tar tzf "$tgz" | LC_ALL=C sort | tr '\n' ' ')
want="package/LICENSE package/README.md package/index.d.ts package/index.js package/index.mjs package/lib/linux-x64/eventmd.so package/package.json "
if [ "${tgz##*/}" = "eventmd-$version.tgz" ] && [ "$contents" = "$want" ]; then
  pass "packed ${tgz#"$REPO"/} ($(du -k "$tgz" | cut -f1) KiB: $contents) ($(took "$t0"))"
else
  fail "the tarball is ${tgz##*/} holding: $contents; expected eventmd-$version.tgz holding: $want"
fi

# --- the clients, installed once into $DEPS -------------------------------------
# The node headers of this Node.js install, for node-gyp when a native module
# has to be built from source and nodejs.org (its usual source of headers)
# cannot be reached.
node_root=$(dirname "$(dirname "$(command -v "$NODE")")")
nodedir=""
[ -f "$node_root/include/node/node.h" ] && nodedir=$node_root

# dep_ok CHECK: does the JavaScript CHECK succeed in $DEPS?
dep_ok() { [ -d "$DEPS/node_modules" ] && (cd "$DEPS" && "$NODE" -e "$1" >/dev/null 2>&1); }

# install_dep NAME CHECK SPEC...: make sure NAME is installed in $DEPS; the npm
# output goes to $WORK/install-NAME.log.  Fails with $why set to the reason.
install_dep() {
  name=$1 check=$2
  shift 2
  why=""
  dep_ok "$check" && return 0
  log=$WORK/install-$name.log
  mkdir -p "$DEPS"
  say "installing $* into ${DEPS#"$REPO"/} (once; a native module built from source takes minutes)"
  t0=$(now)
  "$NPM" install --prefix "$DEPS" --no-audit --no-fund --loglevel=error "$@" >"$log" 2>&1
  if ! dep_ok "$check" && [ -n "$nodedir" ]; then
    say "retrying $* built from source against the headers in $nodedir/include/node"
    "$NPM" install --prefix "$DEPS" --no-audit --no-fund --loglevel=error \
      --build-from-source --nodedir="$nodedir" "$@" >>"$log" 2>&1
  fi
  if dep_ok "$check"; then
    say "installed $* ($(took "$t0"))"
    return 0
  fi
  why="npm install $* failed or what it installed does not load (${log#"$REPO"/}, last lines:$nl$(tail -n 12 "$log"))"
  [ -n "$nodedir" ] ||
    why="$why${nl}(and $node_root/include/node has no node headers to build native modules from source)"
  return 1
}

CHECK_BETTER='if (!/^12\./.test(require("better-sqlite3/package.json").version)) process.exit(1);
  new (require("better-sqlite3"))(":memory:").close();'
CHECK_SQLITE3='if (!/^6\./.test(require("sqlite3/package.json").version)) process.exit(1);
  const db = new (require("sqlite3").Database)(":memory:");
  if (typeof db.loadExtension !== "function") process.exit(2);
  db.close();'
CHECK_TYPES='require("typescript"); require.resolve("@types/node/package.json");
  require.resolve("@types/better-sqlite3/package.json");'

if ! install_dep better-sqlite3 "$CHECK_BETTER" "$BETTER_SPEC"; then
  missing "$NPM_TEST (better-sqlite3)" "$why" \
    "npm install --prefix ${DEPS#"$REPO"/} $BETTER_SPEC (needs the npm registry, and a C++ compiler when the prebuilt binary cannot be downloaded)"
  finish
fi
with_sqlite3=0
if install_dep sqlite3 "$CHECK_SQLITE3" "$SQLITE3_SPEC"; then
  with_sqlite3=1
else
  missing "the node-sqlite3 part of $NPM_TEST" "$why" \
    "npm install --prefix ${DEPS#"$REPO"/} $SQLITE3_SPEC --build-from-source --nodedir=<a folder with include/node/node.h> (needs python3, make and a C++ compiler)"
fi
with_types=0
# shellcheck disable=SC2086 # TYPES_SPECS is a list
if install_dep typescript "$CHECK_TYPES" $TYPES_SPECS; then
  with_types=1
else
  missing "the type check of bindings/node/index.d.ts" "$why" \
    "npm install --prefix ${DEPS#"$REPO"/} $TYPES_SPECS"
fi

# --- a fresh project ------------------------------------------------------------
# The cached clients are copied in (with npm's lockfiles, so npm keeps them as
# they are), then the tarball is installed the way a user installs a package.
rm -rf "$PROJECT"
mkdir -p "$PROJECT"
cp -a "$DEPS/package.json" "$DEPS/package-lock.json" "$DEPS/node_modules" "$PROJECT/"
specs="$tgz $BETTER_SPEC"
[ "$with_sqlite3" = 1 ] && specs="$specs $SQLITE3_SPEC"
t0=$(now)
# shellcheck disable=SC2086 # specs is a list
if (cd "$PROJECT" && "$NPM" install --no-audit --no-fund --loglevel=error $specs \
      >"$WORK/install-project.log" 2>&1) &&
   [ -f "$PROJECT/node_modules/eventmd/lib/linux-x64/eventmd.so" ]; then
  pass "npm install --no-audit --no-fund ${tgz##*/} $BETTER_SPEC$([ "$with_sqlite3" = 1 ] && echo " $SQLITE3_SPEC") in a fresh project ($(took "$t0"))"
else
  fail "npm install of the tarball into ${PROJECT#"$REPO"/} failed:$nl$(tail -n 20 "$WORK/install-project.log")"
  finish
fi

# --- the queries ----------------------------------------------------------------
cp tests/clients/test_npm.mjs "$PROJECT/test_npm.mjs"
t0=$(now)
if (cd "$PROJECT" && EVENTMD_REPO=$REPO EVENTMD_SO=$so EVENTMD_NPM_SQLITE3=$with_sqlite3 \
      EVENTMD_EXTENSION='' "$NODE" --test --test-reporter=spec test_npm.mjs); then
  if [ "$with_sqlite3" = 1 ]; then
    pass "the package loads and answers in better-sqlite3 and node-sqlite3 ($(took "$t0"))"
  else
    pass "the package loads and answers in better-sqlite3 (node-sqlite3 NOT tested) ($(took "$t0"))"
  fi
else
  fail "tests/clients/test_npm.mjs failed ($(took "$t0"))"
fi

# --- the types ------------------------------------------------------------------
if [ "$with_types" = 1 ]; then
  mkdir -p "$PROJECT/types"
  {
    echo "import Database = require('better-sqlite3');"
    echo "import eventmd = require('eventmd');"
    echo "const file: string = eventmd.getLoadablePath();"
    echo "const db = new Database(':memory:');"
    echo "const same: Database.Database = eventmd.load(db);"
    echo "eventmd.load(db, (err: Error | null) => void err);"
    echo "// @ts-expect-error a number is no database"
    echo "eventmd.load(42);"
    echo "// @ts-expect-error better-sqlite3's load() returns the database, not a Promise"
    echo "const p: Promise<unknown> = eventmd.load(db);"
    echo "export { file, same, p };"
  } >"$PROJECT/types/check-cjs.cts"
  {
    echo "import Database from 'better-sqlite3';"
    echo "import { load, getLoadablePath } from 'eventmd';"
    echo "const file: string = getLoadablePath();"
    echo "const same: Database.Database = load(new Database(':memory:'));"
    if [ "$with_sqlite3" = 1 ]; then
      echo "import sqlite3 from 'sqlite3';"
      echo "const sdb = new sqlite3.Database(':memory:');"
      echo "const later: Promise<sqlite3.Database> = load(sdb);"
      echo "const now: sqlite3.Database = load(sdb, (err: Error | null) => void err);"
      echo "export { later, now };"
    fi
    echo "export { file, same };"
  } >"$PROJECT/types/check-esm.mts"
  t0=$(now)
  if (cd "$PROJECT" && node_modules/.bin/tsc --noEmit --strict --target es2022 \
        --module node16 --moduleResolution node16 --esModuleInterop --types node \
        types/check-cjs.cts types/check-esm.mts); then
    pass "index.d.ts type-checks (tsc --strict, require and import) ($(took "$t0"))"
  else
    fail "tsc found errors with bindings/node/index.d.ts (above)"
  fi
fi

finish
