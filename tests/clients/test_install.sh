#!/bin/sh
# SPDX-License-Identifier: MIT
# test_install.sh - make install, make uninstall and make deb, checked as a
# user meets them.  Run from the top of the tree (make test does):
#
#   sh tests/clients/test_install.sh
#
# (a) make install DESTDIR=<tmp> PREFIX=/usr/local: the files in their
#     places; the staged tree moved elsewhere, its commands run from another
#     folder load the installed extension (the .so mapped into sqlite3 is
#     checked, and removing it makes the command fail rather than fall back
#     on the build tree); the installed eventmd-snapshot finds its SQL;
#     pkg-config finds eventmd.pc, and a C program built from the installed
#     header and library parses an event and queries the sample; both
#     manual pages render without warnings; make uninstall leaves no file
#     (and leaves another extension's file alone).
# (b) make deb: the package's fields and contents; dpkg -x into a throwaway
#     folder and the command run from there; dpkg --root installs it into
#     an empty root, runs, and removes it without leftovers.
# Every check prints "ok" or "FAIL"; the script exits non-zero on a failure.
set -u
MAKE=${MAKE:-make}
top=$(pwd)
sample=$top/tests/sample
me=test_install.sh
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"

[ -f include/eventmd.h ] || { echo "test_install.sh: run it from the top of the tree" >&2; exit 1; }
# What the checks run besides the build's own packages: man and groff for
# the manual pages, dpkg-dev for make deb (a minimal Debian has neither).
sh tests/tools/deps.sh man-db groff-base dpkg-dev ||
  { echo "test_install.sh: FAIL: cannot install man-db groff-base dpkg-dev" >&2; exit 1; }
version=$(sed -n 's/^#define EVENTMD_VERSION "\(.*\)"$/\1/p' include/eventmd.h)
n_events=$(find "$sample" -name '.*' -prune -o -type f -name '*.md' \
  ! -iname index.md ! -iname readme.md -print | wc -l | tr -d ' ')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# No setting from the caller's environment may point the commands anywhere.
unset EVENTMD_EXTENSION EVENTMD_SQLITE3 EVENTMD_CACHE_FILE EVENTMD_ROOTS EVENTMD_LOCK
export XDG_CACHE_HOME="$tmp/cache"
PATH=$PATH:/usr/sbin:/sbin
export PATH

# The path of the eventmd.so mapped into the sqlite3 process that $1 (a
# command) starts; the remaining arguments are the command's.
loaded_so() {
  cmd=$1
  shift
  # shellcheck disable=SC2016  # $PPID is for the shell sqlite3 starts
  "$cmd" "$@" '.shell grep -o "/[^ ]*eventmd\.so$" /proc/$PPID/maps | sort -u'
}

# ---------------------------------------------------------------- (a) install
stage=$tmp/stage
$MAKE -s install DESTDIR="$stage" PREFIX=/usr/local > "$tmp/install.out" 2>&1
status=$?
check "make install DESTDIR=... PREFIX=/usr/local succeeds" "0" "$status"
[ "$status" -eq 0 ] || cat "$tmp/install.out"
check "make install puts every file in its place" \
  "usr/local/bin/eventmd
usr/local/bin/eventmd-snapshot
usr/local/include/eventmd.h
usr/local/lib/libeventmd.a
usr/local/lib/pkgconfig/eventmd.pc
usr/local/lib/sqlite3/eventmd.so
usr/local/share/doc/eventmd/LICENSE
usr/local/share/doc/eventmd/README.md
usr/local/share/eventmd/snapshot.sql
usr/local/share/man/man1/eventmd-snapshot.1
usr/local/share/man/man1/eventmd.1" \
  "$(cd "$stage" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort)"
check "the commands are executable, the rest is not" "755 755 644 644" \
  "$(stat -c %a "$stage/usr/local/bin/eventmd" "$stage/usr/local/bin/eventmd-snapshot" \
       "$stage/usr/local/lib/sqlite3/eventmd.so" "$stage/usr/local/lib/libeventmd.a" | tr '\n' ' ' | sed 's/ $//')"
check "no build path is written into an installed file" "" \
  "$(grep -l -F "$top/build" -r "$stage" --exclude=eventmd.so --exclude=libeventmd.a)"

# Moved as a whole: the commands find the moved extension and SQL.
moved=$tmp/elsewhere/tree
mkdir -p "$tmp/elsewhere"
mv "$stage" "$moved"
prefix=$moved/usr/local
mkdir -p "$tmp/cwd"
cd "$tmp/cwd" || exit 1
check "the installed eventmd runs from another folder" "$n_events" \
  "$("$prefix/bin/eventmd" "$sample" 'SELECT count(*) FROM events' 2>&1)"
check "... and loads the installed extension, not the build tree's" \
  "$prefix/lib/sqlite3/eventmd.so" "$(loaded_so "$prefix/bin/eventmd" --no-cache "$sample")"
check "the installed eventmd --version" "eventmd $version" "$("$prefix/bin/eventmd" --version 2>&1)"
check "a plain sqlite3 loads PREFIX/lib/sqlite3/eventmd" "$version|$n_events" \
  "$(sqlite3 :memory: ".load $prefix/lib/sqlite3/eventmd" \
       "SELECT eventmd_version(), (SELECT count(*) FROM eventmd_events('$sample'))" 2>&1)"
"$prefix/bin/eventmd-snapshot" "$sample" "$tmp/snap.db" > "$tmp/snap.out" 2>&1
check "the installed eventmd-snapshot writes a snapshot" "0" "$?"
check "... of every event, with SQL from PREFIX/share/eventmd" "$n_events" \
  "$(sqlite3 "$tmp/snap.db" 'SELECT count(*) FROM events' 2>&1)"
cd "$top" || exit 1

# pkg-config and a program built from the installed header and library.
# PKG_CONFIG_SYSROOT_DIR maps the .pc's /usr/local onto the moved tree.
pc() { PKG_CONFIG_PATH=$prefix/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$moved pkg-config "$@"; }
check "pkg-config --modversion eventmd" "$version" "$(pc --modversion eventmd 2>&1)"
flags=$(pc --cflags --libs eventmd 2>&1)
check "pkg-config --cflags --libs eventmd names the installed tree" "yes yes yes" \
  "$(for f in "-I$prefix/include" "-L$prefix/lib" -leventmd; do
       case " $flags " in *" $f "*) printf 'yes ' ;; *) printf 'no(%s) ' "$f" ;; esac
     done | sed 's/ $//')"
# shellcheck disable=SC2086  # the flags are words
cc -Wall -Wextra -Werror -o "$tmp/installed_api" tests/clients/installed_api.c $flags 2> "$tmp/cc.err"
check "a C program builds with pkg-config's flags alone" "0 " "$? $(cat "$tmp/cc.err")"
cflags=$(pc --cflags eventmd)
# shellcheck disable=SC2086  # the flags are words
check "... against the installed header, not the tree's" "$prefix/include/eventmd.h" \
  "$(cc -M tests/clients/installed_api.c $cflags | tr -s ' ' '\n' | grep 'eventmd\.h$')"
check "... parses an event and queries the archive" "version: $version
date: 2019-03-03
title: A tornado strikes Lee County, Alabama.
problems: 0
sources: 2
domain: reuters.com
domain: bbc.co.uk
sql version: $version
events: $n_events" "$("$tmp/installed_api" "$sample" 2>&1)"
check "libeventmd.a defines no global symbol outside eventmd's names" "" \
  "$(nm -g --defined-only "$prefix/lib/libeventmd.a" | awk 'NF == 3 { print $3 }' |
       grep -v -E '^(emd_|eventmd_|sqlite3_eventmd_init$)')"

# The manual pages render, without a warning.
for page in eventmd eventmd-snapshot; do
  f=$prefix/share/man/man1/$page.1
  warn=$( { MANWIDTH=80 man --warnings -E UTF-8 -l "$f" > "$tmp/man.txt"; } 2>&1)
  check "man -l $page.1 renders without warnings" "" "$warn"
  check "... its NAME is $page" "yes" \
    "$(grep -q "^ *$page  *- " "$tmp/man.txt" && echo yes || echo no)"
  check "groff -ww -man -z $page.1 is silent" "" "$(groff -ww -man -z "$f" 2>&1)"
  check "... and names the header's version" "yes" \
    "$(grep -q "^\.TH .* \"eventmd $version\" " "$f" && echo yes || echo no)"
done

# A removed extension is an error, not a quiet fall-back on another one.
mv "$prefix/lib/sqlite3/eventmd.so" "$tmp/eventmd.so.away"
"$prefix/bin/eventmd" "$sample" 'SELECT 1' > /dev/null 2> "$tmp/err"
check "without its extension the installed eventmd fails (exit 1)" "1" "$?"
mv "$tmp/eventmd.so.away" "$prefix/lib/sqlite3/eventmd.so"

# Uninstall from where it was installed; another extension stays.
mv "$moved" "$stage"
touch "$stage/usr/local/lib/sqlite3/other.so"
$MAKE -s uninstall DESTDIR="$stage" PREFIX=/usr/local > "$tmp/un.out" 2>&1
check "make uninstall succeeds" "0" "$?"
check "make uninstall leaves no file of eventmd's" "usr/local/lib/sqlite3/other.so" \
  "$(cd "$stage" && find . -type f -o -type l | sed 's|^\./||')"
rm "$stage/usr/local/lib/sqlite3/other.so"
$MAKE -s uninstall DESTDIR="$stage" PREFIX=/usr/local > "$tmp/un.out" 2>&1
check "make uninstall again (nothing there) succeeds" "0" "$?"
check "... and removes eventmd's own folders" "" \
  "$(cd "$stage" && find . -path '*eventmd*' -o -path '*/lib/sqlite3')"

# -------------------------------------------------------------------- (b) deb
arch=$(dpkg --print-architecture)
deb=build/eventmd_${version}_$arch.deb
rm -f "$deb"
$MAKE -s deb > "$tmp/deb.out" 2>&1
status=$?
check "make deb succeeds" "0" "$status"
[ "$status" -eq 0 ] || tail -n 20 "$tmp/deb.out"
check "make deb writes $deb" "yes" "$([ -f "$deb" ] && echo yes || echo no)"
field() { dpkg-deb -f "$deb" "$1" 2>&1; }
check "Package, Version, Architecture" "eventmd $version $arch" \
  "$(field Package) $(field Version) $(field Architecture)"
check "Section, Priority" "database optional" "$(field Section) $(field Priority)"
check "Maintainer and Description are there" "yes yes" \
  "$([ -n "$(field Maintainer)" ] && echo yes) $([ "$(field Description | wc -l)" -gt 3 ] && echo yes)"
depends=$(field Depends)
check "Depends on libsqlite3-0, libcmark0.30.2, sqlite3 and libc6" "yes yes yes yes" \
  "$(for p in libsqlite3-0 libcmark0.30.2 sqlite3 libc6; do
       case ", $depends," in *", $p "* | *", $p,"*) printf 'yes ' ;; *) printf 'no(%s) ' "$p" ;; esac
     done | sed 's/ $//')"
check "every file in the package is owned by root" "" \
  "$(dpkg-deb -c "$deb" | awk '$2 != "root/root"')"
check "the package holds what Debian asks for" \
  "./usr/bin/eventmd ./usr/bin/eventmd-snapshot ./usr/lib/sqlite3/eventmd.so ./usr/share/doc/eventmd/changelog.gz ./usr/share/doc/eventmd/copyright ./usr/share/man/man1/eventmd-snapshot.1.gz ./usr/share/man/man1/eventmd.1.gz" \
  "$(dpkg-deb -c "$deb" | awk '{ print $6 }' | grep -x -E '\./usr/(bin/.*[^/]|lib/sqlite3/eventmd\.so|share/doc/eventmd/(copyright|changelog\.gz)|share/man/man1/.*[^/])' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
check "the extension in the package is stripped" "no" \
  "$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/sqlite3/eventmd.so > "$tmp/pkg.so"
     file "$tmp/pkg.so" | grep -q 'not stripped' && echo yes || echo no)"
check "the copyright file is machine-readable and names MIT" "yes yes" \
  "$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/eventmd/copyright > "$tmp/copyright"
     head -n 1 "$tmp/copyright" | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' && printf yes
     printf ' '; grep -q '^License: MIT$' "$tmp/copyright" && printf yes)"

# Unpacked into a throwaway folder: the command runs from there.
x=$tmp/x
dpkg -x "$deb" "$x"
check "from dpkg -x, /usr/bin/eventmd counts the sample's events" "$n_events" \
  "$(cd "$tmp" && "$x/usr/bin/eventmd" "$sample" 'SELECT count(*) FROM events' 2>&1)"
check "... with the package's extension" "$x/usr/lib/sqlite3/eventmd.so" \
  "$(loaded_so "$x/usr/bin/eventmd" --no-cache "$sample")"
check "... and eventmd-snapshot finds its SQL" "0 $n_events" \
  "$("$x/usr/bin/eventmd-snapshot" "$sample" "$tmp/snap2.db" > /dev/null 2>&1; echo "$?") $(sqlite3 "$tmp/snap2.db" 'SELECT count(*) FROM events' 2>&1)"
check "the package's man page renders" "" \
  "$(man --warnings -E UTF-8 -l "$x/usr/share/man/man1/eventmd.1.gz" 2>&1 > /dev/null)"

# Installed with dpkg into an empty root (its dependencies are the host's),
# then removed.
r=$tmp/root
mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates"
: > "$r/var/lib/dpkg/status"
dpkg --root="$r" --log=/dev/null --force-depends --force-not-root -i "$deb" > "$tmp/dpkg.out" 2>&1
status=$?
check "dpkg --root installs the package" "0" "$status"
[ "$status" -eq 0 ] || cat "$tmp/dpkg.out"
check "dpkg --root knows it as installed" "install ok installed $version" \
  "$(dpkg-query --admindir="$r/var/lib/dpkg" -W -f='${Status} ${Version}' eventmd 2>&1)"
check "the dpkg-installed eventmd runs" "$n_events" \
  "$("$r/usr/bin/eventmd" "$sample" 'SELECT count(*) FROM events' 2>&1)"
dpkg --root="$r" --log=/dev/null --force-not-root -r eventmd > "$tmp/dpkg.out" 2>&1
check "dpkg --root -r removes it" "0" "$?"
check "... leaving no file under usr" "" "$(find "$r/usr" -type f 2>/dev/null)"

echo "test_install.sh: $((n - fails)) of $n checks passed"
[ "$fails" -eq 0 ]
