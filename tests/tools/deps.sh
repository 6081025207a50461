#!/bin/sh
# SPDX-License-Identifier: MIT
# deps.sh - make sure the Debian packages eventmd builds and tests with are
# installed.  As root, missing packages are installed with apt-get; otherwise
# this prints the exact apt-get line to run and fails.
#
#   tests/tools/deps.sh [extra-package ...]
set -u
need="gcc make pkg-config sqlite3 libsqlite3-dev libcmark-dev libcmocka-dev python3 $*"
missing=""
for p in $need; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "eventmd: installing missing packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends $missing ||
    { apt-get update && apt-get install -y --no-install-recommends $missing; } ||
    { echo "eventmd: apt-get could not install:$missing" >&2; exit 1; }
  exit 0
fi
echo "eventmd: missing packages:$missing" >&2
echo "eventmd: run:  sudo apt-get install -y$missing" >&2
exit 1
