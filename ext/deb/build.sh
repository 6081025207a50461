#!/bin/sh
# SPDX-License-Identifier: MIT
# build.sh - pack a tree staged by `make install DESTDIR=ROOT PREFIX=/usr`
# into a Debian binary package, as debhelper would leave it: binaries
# stripped, manual pages and long documents compressed (gzip -9n), the
# copyright file in the machine-readable format, a changelog, md5sums, the
# shared-library dependencies worked out by dpkg-shlibdeps, every file owned
# by root.  Run by `make deb`.
#
#   sh ext/deb/build.sh ROOT VERSION ARCH OUT.deb
#
# $DEB_MAINTAINER names the maintainer ("Name <address>").
set -eu
[ $# -eq 4 ] || { echo "usage: build.sh ROOT VERSION ARCH OUT.deb" >&2; exit 2; }
root=$1
version=$2
arch=$3
out=$4
maintainer=${DEB_MAINTAINER:?DEB_MAINTAINER is not set}
src=$(dirname -- "$0")
top=$src/../..
umask 022

so=$root/usr/lib/sqlite3/eventmd.so
doc=$root/usr/share/doc/eventmd
[ -f "$so" ] || { echo "build.sh: $so is not there: stage the tree first" >&2; exit 1; }

# Stripped as dh_strip strips: the extension of its symbols but the dynamic
# ones, the static library of debugging information only.
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$so"
find "$root/usr/lib" -name 'libeventmd.a' -exec strip --strip-debug \
  --remove-section=.comment --remove-section=.note \
  --enable-deterministic-archives {} \;

# Manual pages and documents compressed; the licence lives in copyright.
gzip -9nf "$root"/usr/share/man/man1/*.1
gzip -9nf "$doc/README.md"
rm -f "$doc/LICENSE"
{
  sed '/^#/d' "$src/copyright.in"
  # LICENSE's permission text as the paragraph's body: indented by one
  # space, a blank line as " ."
  sed -n '/^Permission/,$p' "$top/LICENSE" | sed -e 's/^$/./' -e 's/^/ /'
} > "$doc/copyright"
# The entry's date: the last commit's, so that the same tree gives the same
# package; the time now outside a git checkout.
date=$(git -C "$top" log -1 --format=%cD 2>/dev/null || date -R)
sed -e "s|@VERSION@|$version|g" -e "s|@MAINTAINER@|$maintainer|" \
  -e "s|@DATE@|$date|" "$src/changelog.in" | gzip -9n > "$doc/changelog.gz"
chmod 644 "$doc"/*

# Depends: the libraries the extension links (versions from their shlibs
# files); SQLite, which a loadable extension reaches through the host's
# sqlite3_api table rather than by linking it, at least the release it was
# built against (an older library's table is shorter); and the sqlite3
# shell the commands run.
work=$(dirname -- "$root")/shlibdeps
rm -rf "$work"
mkdir -p "$work/debian"
printf 'Source: eventmd\n\nPackage: eventmd\nArchitecture: any\n' > "$work/debian/control"
abs_so=$(cd -- "$(dirname -- "$so")" && pwd)/eventmd.so
shlibs=$(cd "$work" && dpkg-shlibdeps -O "-e$abs_so" 2> /dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$work"
[ -n "$shlibs" ] || { echo "build.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
sqlite_version=$(pkg-config --modversion sqlite3)
depends="$shlibs, libsqlite3-0 (>= $sqlite_version), sqlite3"

# Installed-Size in KiB, counted as dpkg-gencontrol counts: each file
# rounded up to a KiB, each folder one.
size=$(find "$root" -path "$root/DEBIAN" -prune -o \( -type f -printf '%s\n' \) -o \
  \( -type d -printf '1024\n' \) | awk '{ k += int(($1 + 1023) / 1024) } END { print k }')

mkdir -p "$root/DEBIAN"
sed -e '/^#/d' -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" \
  -e "s#@MAINTAINER@#$maintainer#" -e "s#@INSTALLED_SIZE@#$size#" \
  -e "s#@DEPENDS@#$depends#" "$src/control.in" > "$root/DEBIAN/control"
(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) > "$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

dpkg-deb --root-owner-group --build "$root" "$out"
