#!/bin/sh
# SPDX-License-Identifier: MIT
# bindings/node/pack.sh - the npm package of eventmd, with the extension built
# here as its prebuilt linux-x64 file: OUTDIR/eventmd-VERSION.tgz.
#
#   sh bindings/node/pack.sh [EXTENSION.so] [OUTDIR]     (default build/eventmd.so build)
#
# Copies the extension (without its debug info) to
# bindings/node/lib/linux-x64/eventmd.so and the repository's LICENSE beside
# package.json (neither is committed), then runs `npm pack`.  Fails when
# package.json's version is not include/eventmd.h's EVENTMD_VERSION, or when
# this is not a linux x86_64 machine (the package declares os linux, cpu x64).
# Prints the tarball's path as its last line.
#
# Environment: NPM (default npm).
set -eu
cd "$(dirname "$0")/../.."
REPO=$(pwd)
SO=${1:-build/eventmd.so}
OUTDIR=${2:-build}
NPM=${NPM:-npm}
PKG=bindings/node
say() { printf 'pack.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ -f "$SO" ] || die "$SO does not exist; run 'make' first"
case "$(uname -s) $(uname -m)" in
  "Linux x86_64") ;;
  *) die "the package's prebuilt is linux-x64, and this is $(uname -s) $(uname -m):" \
       "build with make and load build/eventmd.so directly, or set EVENTMD_EXTENSION" \
       "(see $PKG/README.md)" ;;
esac
command -v "$NPM" >/dev/null 2>&1 || die "'$NPM' is not found; install npm"

header=$(sed -n 's/^#define EVENTMD_VERSION "\(.*\)"$/\1/p' include/eventmd.h)
pkgver=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' $PKG/package.json)
[ -n "$header" ] || die "no EVENTMD_VERSION in include/eventmd.h"
[ "$header" = "$pkgver" ] ||
  die "$PKG/package.json has version '$pkgver' but include/eventmd.h has $header: keep them in step"

mkdir -p $PKG/lib/linux-x64 "$OUTDIR"
tmp=$PKG/lib/linux-x64/.eventmd.so.$$
if command -v objcopy >/dev/null 2>&1; then
  objcopy --strip-debug "$SO" "$tmp"
else
  cp "$SO" "$tmp"
fi
chmod 755 "$tmp"
mv -f "$tmp" $PKG/lib/linux-x64/eventmd.so
cp LICENSE $PKG/LICENSE

out=$(cd "$OUTDIR" && pwd)
name=$(cd $PKG && "$NPM" pack --pack-destination "$out" --loglevel=error) ||
  die "npm pack failed"
tgz=$out/$(printf '%s\n' "$name" | tail -1)
if [ "$tgz" != "$out/eventmd-$header.tgz" ] || [ ! -f "$tgz" ]; then
  die "npm pack made '$name', not eventmd-$header.tgz"
fi
say "packed ${tgz#"$REPO"/}"
printf '%s\n' "$tgz"
