# SPDX-License-Identifier: MIT
# eventmd - SQL over an archive of news-event markdown files.
#
#   make              build build/eventmd.so and build/bin/eventmd*
#   make demo         build, then run the sql/ examples on the sample archive
#   make node-package the npm package: build/eventmd-<version>.tgz (bindings/node)
#   make install      PREFIX=/usr/local DESTDIR= : extension, commands, header,
#                     libeventmd.a + eventmd.pc, man pages (make uninstall)
#   make deb          build/eventmd_<version>_<arch>.deb (dpkg-deb)
#   make test         build and run every test (C tests, clients, shells)
#   make bench        the benchmark (not part of make test)
#   make asan         the C tests under AddressSanitizer + UBSan
#   make ubsan        the C tests under UBSan alone
#   make tsan         the concurrency tests under ThreadSanitizer
#   make leakcheck    the C tests and the sql/ scripts under valgrind
#   make fuzz         both libFuzzer targets, FUZZ_SECONDS each (default 60)
#   make analyze      cppcheck and clang --analyze on ext/
#   make format       clang-format the C sources
#   make format-check fail when a C source is not formatted
#   make clean
#
# Missing Debian packages are installed first (as root) or named with the
# exact apt-get line to run (tests/tools/deps.sh).

CC       ?= cc
PKGS      = sqlite3 libcmark
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS += -Iinclude -Iext -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  = $(shell pkg-config --libs cmocka 2>/dev/null)
PYTHON   ?= /usr/bin/python3

# The seed file from the real archive, which the tests check the parser
# against: beside the repository (../shared), or the machine's shared folder.
# A missing seed makes those tests fail, loudly.
EVENTMD_SEED ?= $(firstword $(wildcard ../shared/seed/example-event.md \
                  /work/shared/seed/example-event.md))
export EVENTMD_SEED

# OUT: where programs are built (sanitizer builds use build/asan, ...).
# DATA: generated corpora, shared by every build.
OUT  ?= build
DATA  = build
SAN  ?=

EXT_SRC = ext/text.c ext/arena.c ext/record.c ext/parse.c ext/guard.c \
          ext/versions.c ext/walk.c ext/lookup.c ext/foldersums.c ext/watch.c \
          ext/readfile.c ext/cache.c ext/cachefile.c ext/warm.c ext/conn.c ext/entry.c \
          ext/folder.c \
          ext/dateorder.c \
          ext/readahead.c ext/scan.c ext/vtab.c ext/table_events.c \
          ext/table_sources.c ext/table_related.c ext/table_changes.c \
          ext/eventmd.c
EXT_HDR = $(wildcard ext/*.h) include/eventmd.h
PARSER_SRC = ext/text.c ext/arena.c ext/record.c ext/parse.c ext/guard.c

SO   = $(OUT)/eventmd.so
BINS = $(OUT)/bin/eventmd $(OUT)/bin/eventmd-snapshot

.PHONY: all deps demo test check-c clean format format-check bench \
        bench-snapshot asan \
        ubsan tsan leakcheck fuzz analyze
all: $(SO) $(BINS)

deps:
	@sh tests/tools/deps.sh

# The loadable extension.
$(SO): $(EXT_SRC) $(EXT_HDR) | deps
	@mkdir -p $(OUT)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(SAN) $(WARN) -fPIC -shared \
	  -fvisibility=hidden -o $@ $(EXT_SRC) $(PKG_LIBS) -lpthread

# The shell commands.  Each finds the extension and the SQL relative to its
# own location (no absolute path baked in): here build/bin/../eventmd and
# build/bin/../../sql.
$(OUT)/bin/eventmd: ext/eventmd-shell.sh
	@mkdir -p $(OUT)/bin
	sed -e "s|@EXT@|../eventmd|" -e "s|@SQLDIR@|../../sql|" $< > $@
	chmod +x $@
$(OUT)/bin/eventmd-snapshot: ext/eventmd-snapshot.sh
	@mkdir -p $(OUT)/bin
	sed -e "s|@EXT@|../eventmd|" -e "s|@SQLDIR@|../../sql|" $< > $@
	chmod +x $@

# make install / make uninstall (PREFIX, default /usr/local; DESTDIR), laid
# out as Debian's own SQLite extension packages are:
#   $(PREFIX)/lib/sqlite3/eventmd.so      the extension (.load PREFIX/lib/sqlite3/eventmd)
#   $(PREFIX)/bin/eventmd, eventmd-snapshot
#   $(PREFIX)/share/eventmd/snapshot.sql  what eventmd-snapshot runs
#   $(PREFIX)/include/eventmd.h           the entry point and the parser's API
#   $(LIBDIR)/libeventmd.a, $(LIBDIR)/pkgconfig/eventmd.pc
#   $(PREFIX)/share/man/man1/eventmd.1, eventmd-snapshot.1
#   $(PREFIX)/share/doc/eventmd/LICENSE, README.md
# The installed commands find the extension and the SQL relative to
# themselves (bin/../lib/sqlite3/eventmd, bin/../share/eventmd), so the
# tree can be staged (DESTDIR) or moved as a whole.  The library is static
# (see the README's Install section for why), built from its own objects:
# -fPIC, -DSQLITE_CORE, no sanitizers.  LIBDIR may name a multiarch folder.
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
VERSION := $(shell sed -n 's/^.define EVENTMD_VERSION "\(.*\)"$$/\1/p' include/eventmd.h)
INST = $(OUT)/install
PIC_OBJ = $(EXT_SRC:ext/%.c=$(OUT)/pic/%.o)
INST_FILES = $(SO) $(INST)/eventmd $(INST)/eventmd-snapshot $(INST)/libeventmd.a
MAN_PAGES = ext/man/eventmd.1 ext/man/eventmd-snapshot.1

.PHONY: install uninstall deb
$(OUT)/pic/%.o: ext/%.c $(EXT_HDR) | deps
	@mkdir -p $(OUT)/pic
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARN) -fPIC -fvisibility=hidden \
	  -DSQLITE_CORE -c -o $@ $<
$(INST)/libeventmd.a: $(PIC_OBJ)
	rm -f $@
	ar rcs $@ $(PIC_OBJ)
$(INST)/eventmd: ext/eventmd-shell.sh
	@mkdir -p $(INST)
	sed -e "s|@EXT@|../lib/sqlite3/eventmd|" -e "s|@SQLDIR@|../share/eventmd|" $< > $@
	chmod +x $@
$(INST)/eventmd-snapshot: ext/eventmd-snapshot.sh
	@mkdir -p $(INST)
	sed -e "s|@EXT@|../lib/sqlite3/eventmd|" -e "s|@SQLDIR@|../share/eventmd|" $< > $@
	chmod +x $@
# eventmd.pc names PREFIX and LIBDIR: written by install itself.
PC_LIBDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))

install: $(INST_FILES) $(MAN_PAGES) ext/eventmd.pc.in
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/sqlite3 \
	  $(DESTDIR)$(PREFIX)/share/eventmd $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/doc/eventmd
	install -m 755 $(INST)/eventmd $(INST)/eventmd-snapshot $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(SO) $(DESTDIR)$(PREFIX)/lib/sqlite3/eventmd.so
	install -m 644 sql/snapshot.sql $(DESTDIR)$(PREFIX)/share/eventmd/
	install -m 644 include/eventmd.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(INST)/libeventmd.a $(DESTDIR)$(LIBDIR)/
	sed -e "s|@PREFIX@|$(PREFIX)|" -e 's|@LIBDIR@|$(PC_LIBDIR)|' \
	  -e "s|@VERSION@|$(VERSION)|" ext/eventmd.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/eventmd.pc
	chmod 644 $(DESTDIR)$(LIBDIR)/pkgconfig/eventmd.pc
	install -m 644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 LICENSE README.md $(DESTDIR)$(PREFIX)/share/doc/eventmd/

# Removes what install put there, and eventmd's own folders when empty.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/eventmd $(DESTDIR)$(PREFIX)/bin/eventmd-snapshot \
	  $(DESTDIR)$(PREFIX)/lib/sqlite3/eventmd.so \
	  $(DESTDIR)$(PREFIX)/share/eventmd/snapshot.sql \
	  $(DESTDIR)$(PREFIX)/include/eventmd.h $(DESTDIR)$(LIBDIR)/libeventmd.a \
	  $(DESTDIR)$(LIBDIR)/pkgconfig/eventmd.pc \
	  $(DESTDIR)$(PREFIX)/share/man/man1/eventmd.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man1/eventmd-snapshot.1 \
	  $(DESTDIR)$(PREFIX)/share/doc/eventmd/LICENSE \
	  $(DESTDIR)$(PREFIX)/share/doc/eventmd/README.md
	rmdir $(DESTDIR)$(PREFIX)/share/eventmd $(DESTDIR)$(PREFIX)/share/doc/eventmd \
	  $(DESTDIR)$(PREFIX)/lib/sqlite3 2>/dev/null || true

# make deb: build/eventmd_<version>_<arch>.deb, built with Debian's
# hardening flags in build/deb/, staged with PREFIX=/usr (the library and
# its .pc in the multiarch folder), then packed by ext/deb/build.sh.
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEB = build/eventmd_$(VERSION)_$(DEB_ARCH).deb
DEB_MAINTAINER ?= eventmd maintainers <eventmd@example.org>
deb: | deps
	@sh tests/tools/deps.sh dpkg-dev
	rm -rf build/deb/root
	CPPFLAGS="$$(dpkg-buildflags --get CPPFLAGS)" $(MAKE) install OUT=build/deb \
	  CFLAGS="$$(dpkg-buildflags --get CFLAGS) $$(dpkg-buildflags --get LDFLAGS) -Wl,-z,now" \
	  PREFIX=/usr LIBDIR=/usr/lib/$$(dpkg-architecture -qDEB_HOST_MULTIARCH) \
	  DESTDIR=$(CURDIR)/build/deb/root
	DEB_MAINTAINER="$(DEB_MAINTAINER)" sh ext/deb/build.sh build/deb/root \
	  $(VERSION) $(DEB_ARCH) $(DEB)

# Test programs link ext/ compiled once into an archive (SQLITE_CORE), so
# they can call into every layer and wrap system calls; a test links only
# the objects it uses.
TEST_CFLAGS = $(CPPFLAGS) -Itests $(PKG_CFLAGS) $(CFLAGS) $(SAN) $(WARN) -DSQLITE_CORE
EXT_OBJ = $(EXT_SRC:ext/%.c=$(OUT)/obj/%.o)
LIB = $(OUT)/libeventmd.a
TEST_NAMES = parse watch cachefile sql versions cache corpus pushdown patho \
             faults oom stress safety
TESTS = $(TEST_NAMES:%=$(OUT)/test_%)

$(OUT)/obj/%.o: ext/%.c $(EXT_HDR) | deps
	@mkdir -p $(OUT)/obj
	$(CC) $(TEST_CFLAGS) -c -o $@ $<
$(LIB): $(EXT_OBJ)
	rm -f $@
	ar rcs $@ $(EXT_OBJ)

# The fault-injection test wraps the system calls eventmd makes.
WRAP = -Wl,--wrap=openat,--wrap=open,--wrap=fstatat,--wrap=fstat,--wrap=stat,--wrap=read,--wrap=getdents64
$(OUT)/test_faults: tests/sql/test_faults.c tests/testutil.h $(LIB) | deps
	$(CC) $(TEST_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm $(WRAP)

# Unit tests (tests/unit: one layer's contract, in C) and SQL tests
# (tests/sql: the tables through SQL), both cmocka.
$(OUT)/test_%: tests/unit/test_%.c tests/*.h $(LIB) | deps
	$(CC) $(TEST_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm
$(OUT)/test_%: tests/sql/test_%.c tests/*.h $(LIB) | deps
	$(CC) $(TEST_CFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm

# Generated corpora: 2,400 files for the integration and pushdown tests,
# 10,000 for the integration test at scale and the interrupt test.
CORPUS    = $(DATA)/corpus-2400
CORPUS10K = $(DATA)/corpus-10000
$(CORPUS)/expected.sql: tests/corpus/gen_corpus.py | deps
	rm -rf $(CORPUS)
	$(PYTHON) tests/corpus/gen_corpus.py --out $(CORPUS) --files 2400 --seed 7
$(CORPUS10K)/expected.sql: tests/corpus/gen_corpus.py | deps
	rm -rf $(CORPUS10K)
	$(PYTHON) tests/corpus/gen_corpus.py --out $(CORPUS10K) --files 10000 --seed 5

# The C tests (cmocka).
check-c: $(TESTS) $(CORPUS)/expected.sql $(CORPUS10K)/expected.sql
	$(OUT)/test_parse
	$(OUT)/test_watch
	$(OUT)/test_cachefile
	$(OUT)/test_sql
	$(OUT)/test_versions
	$(OUT)/test_cache
	EVENTMD_CORPUS=$(CORPUS) $(OUT)/test_corpus
	EVENTMD_CORPUS=$(CORPUS10K) $(OUT)/test_corpus
	EVENTMD_CORPUS=$(CORPUS) $(OUT)/test_pushdown
	$(OUT)/test_patho
	$(OUT)/test_faults
	$(OUT)/test_oom
	EVENTMD_CORPUS10K=$(CORPUS10K) $(OUT)/test_stress
	$(OUT)/test_safety

# Everything: the C tests, real clients, the shell commands.
test: all check-c
	$(PYTHON) tests/tools/layers.py $(OUT)/obj
	EVENTMD_CORPUS=$(CORPUS) sh tests/clients/clients.sh
	sh tests/clients/test_shell.sh $(OUT)/bin/eventmd
	MAKE="$(MAKE)" sh tests/clients/test_install.sh
	EVENTMD_EXT=$(OUT)/eventmd EVENTMD_BIN=$(OUT)/bin $(PYTHON) tests/clients/test_snapshot.py
	EVENTMD_EXT=$(OUT)/eventmd sh tests/clients/test_npm.sh

# Sanitizer builds of the C tests.  Time limits in the tests are scaled, as
# instrumented code runs several times slower.
SAN_ASAN  = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_UBSAN = -fsanitize=undefined -fno-sanitize-recover=all
asan:
	EVENTMD_TIME_SCALE=4 ASAN_OPTIONS=detect_leaks=1 \
	  $(MAKE) check-c OUT=build/asan SAN="$(SAN_ASAN)" CFLAGS="-O1 -g"
ubsan:
	EVENTMD_TIME_SCALE=3 $(MAKE) check-c OUT=build/ubsan SAN="$(SAN_UBSAN)" CFLAGS="-O1 -g"
tsan: $(CORPUS10K)/expected.sql
	$(MAKE) build/tsan/test_stress build/tsan/test_sql OUT=build/tsan \
	  SAN="-fsanitize=thread" CFLAGS="-O1 -g"
	EVENTMD_TIME_SCALE=10 EVENTMD_CORPUS10K=$(CORPUS10K) \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build/tsan/test_stress
	TSAN_OPTIONS="halt_on_error=1" build/tsan/test_sql

# valgrind: the C tests and the sql/ scripts (through the shell, the
# extension loaded as a user loads it).
VALGRIND = valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
           --error-exitcode=9 --track-fds=no
leakcheck: $(TESTS) all $(CORPUS)/expected.sql $(CORPUS10K)/expected.sql
	@sh tests/tools/deps.sh valgrind
	EVENTMD_TIME_SCALE=40 EVENTMD_QUICK=1 sh tests/tools/leakcheck.sh "$(VALGRIND)" $(OUT)

# libFuzzer targets (clang).
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              $(CPPFLAGS) -Itests -DSQLITE_CORE
build/fuzz_parse: tests/fuzz/fuzz_parse.c $(PARSER_SRC) $(EXT_HDR) | deps
	@sh tests/tools/deps.sh clang libclang-rt-14-dev
	@mkdir -p build
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_parse.c $(PARSER_SRC) -lcmark
build/fuzz_scan: tests/fuzz/fuzz_scan.c $(EXT_SRC) $(EXT_HDR) | deps
	@sh tests/tools/deps.sh clang libclang-rt-14-dev
	@mkdir -p build
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_scan.c $(EXT_SRC) -lsqlite3 -lcmark -lpthread -lm
build/fuzz_record: tests/fuzz/fuzz_record.c tests/recbuf.h $(PARSER_SRC) $(EXT_HDR) | deps
	@sh tests/tools/deps.sh clang libclang-rt-14-dev
	@mkdir -p build
	clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_record.c $(PARSER_SRC) -lcmark
fuzz: build/fuzz_parse build/fuzz_scan build/fuzz_record
	mkdir -p build/fuzz-corpus/parse build/fuzz-corpus/scan build/fuzz-corpus/record
	build/fuzz_record -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
	  -max_total_time=$(FUZZ_SECONDS) build/fuzz-corpus/record
	build/fuzz_parse -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
	  -max_total_time=$(FUZZ_SECONDS) build/fuzz-corpus/parse tests/fuzz/seeds/parse
	build/fuzz_scan -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
	  -max_total_time=$(FUZZ_SECONDS) build/fuzz-corpus/scan tests/fuzz/seeds/scan

# Static analysis: both must report nothing.
analyze: | deps
	@sh tests/tools/deps.sh cppcheck clang
	cppcheck --error-exitcode=1 --enable=warning,portability,performance \
	  --inline-suppr --quiet -Iinclude -Iext -D_GNU_SOURCE $(EXT_SRC)
	@mkdir -p build/analyze
	cd build/analyze && clang --analyze -Xclang -analyzer-output=text \
	  $(CPPFLAGS:-I%=-I../../%) $(PKG_CFLAGS) $(EXT_SRC:%=../../%) 2> ../analyze.txt; \
	  cat ../analyze.txt; ! grep -q "warning:" ../analyze.txt

# The benchmark: corpora of 100,000 and 20,000 event files, and BENCH_BIG
# files (a corpus whose cached size exceeds the default cache bound of 640
# MiB; the bench says so when it does not), kept between runs.
BENCH = $(DATA)/bench-corpus
BENCH_BIG ?= 240000
$(OUT)/bench: tests/bench/bench.c $(EXT_SRC) $(EXT_HDR) | deps
	@mkdir -p $(OUT)
	$(CC) $(TEST_CFLAGS) -o $@ tests/bench/bench.c $(EXT_SRC) $(PKG_LIBS) -lpthread -lm
$(BENCH)/%/expected.sql: tests/corpus/gen_corpus.py | deps
	rm -rf $(BENCH)/$*
	$(PYTHON) tests/corpus/gen_corpus.py --out $(BENCH)/$* --files $* --seed 11
bench: $(OUT)/bench all $(BENCH)/100000/expected.sql $(BENCH)/20000/expected.sql \
       $(BENCH)/$(BENCH_BIG)/expected.sql
	$(OUT)/bench $(BENCH)/100000/archive $(BENCH)/20000/archive \
	  $(BENCH)/$(BENCH_BIG)/archive
# The snapshot: full build vs incremental refresh after 10 files change, on a
# copy of the 100,000-file corpus.
bench-snapshot: all $(BENCH)/100000/expected.sql
	sh tests/bench/bench_snapshot.sh $(OUT)/bin/eventmd-snapshot \
	  $(BENCH)/100000/archive $(BENCH)/snapshot-work

# The npm package (bindings/node) with this build as its linux-x64 prebuilt:
# $(OUT)/eventmd-<version>.tgz, made by npm pack.
.PHONY: node-package
node-package: $(SO)
	sh bindings/node/pack.sh $(SO) $(OUT)

demo: all
	@sh sql/demo.sh

FORMAT_SRC = ext/*.c ext/*.h include/*.h tests/*.h tests/*/*.c tests/*/*.h
format:
	clang-format -i $(FORMAT_SRC)
# Fails (and shows where) when a C file is not as clang-format leaves it.
format-check:
	@sh tests/tools/deps.sh clang-format
	clang-format --dry-run -Werror $(FORMAT_SRC)

clean:
	rm -rf build
