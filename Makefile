# eventmd - SQL over an archive of news-event markdown files.
#
#   make            build build/eventmd.so (the loadable extension)
#   make demo       build, then run the sql/ examples on the sample archive
#   make test       build and run the unit and integration tests
#   make bench      the benchmark (not part of make test)
#   make format     clang-format the C sources
#   make clean
#
# Missing Debian packages are installed first (as root) or named with the
# exact apt-get line to run (tests/deps.sh).

CC       ?= cc
PKGS      = sqlite3 libcmark
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS += -Iinclude -Iext -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS  = $(shell pkg-config --libs cmocka 2>/dev/null)
PYTHON   ?= /usr/bin/python3

B = build
EXT_SRC = ext/text.c ext/arena.c ext/parse.c ext/guard.c ext/walk.c ext/readfile.c \
          ext/cache.c ext/entry.c ext/dateorder.c ext/readahead.c ext/scan.c ext/vtab.c ext/table_events.c ext/table_sources.c \
          ext/table_related.c ext/table_changes.c ext/eventmd.c
EXT_HDR = $(wildcard ext/*.h) include/eventmd.h
PARSER_SRC = ext/text.c ext/arena.c ext/parse.c ext/guard.c

SO = $(B)/eventmd.so
BIN = $(B)/bin/eventmd

.PHONY: all deps demo test clean format bench
all: $(SO) $(BIN)

deps:
	@sh tests/deps.sh

# The loadable extension.
$(SO): $(EXT_SRC) $(EXT_HDR) | deps
	@mkdir -p $(B)
	$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARN) -fPIC -shared \
	  -fvisibility=hidden -DEVENTMD_SHARED -o $@ $(EXT_SRC) $(PKG_LIBS) -lpthread

# The one-command shell, with the extension's absolute path baked in.
$(BIN): ext/eventmd-shell.sh
	@mkdir -p $(B)/bin
	sed "s|@EXT@|$(abspath $(B))/eventmd|" ext/eventmd-shell.sh > $@
	chmod +x $@

# Test programs link the extension's sources directly (SQLITE_CORE), so they
# can call into every layer and wrap system calls.
TEST_CFLAGS = $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WARN) -DSQLITE_CORE
TESTS = $(B)/test_parse $(B)/test_sql $(B)/test_corpus $(B)/test_pushdown \
        $(B)/test_patho $(B)/test_faults $(B)/test_oom

$(B)/test_parse: tests/test_parse.c $(PARSER_SRC) $(EXT_HDR) | deps
	@mkdir -p $(B)
	$(CC) $(TEST_CFLAGS) -o $@ tests/test_parse.c $(PARSER_SRC) \
	  $(PKG_LIBS) $(TEST_LIBS)

# The fault-injection test wraps the system calls eventmd makes.
WRAP = -Wl,--wrap=openat,--wrap=open,--wrap=fstatat,--wrap=fstat,--wrap=stat,--wrap=read,--wrap=getdents64
$(B)/test_faults: tests/test_faults.c tests/testutil.h $(EXT_SRC) $(EXT_HDR) | deps
	@mkdir -p $(B)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(EXT_SRC) $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm $(WRAP)

$(B)/test_%: tests/test_%.c tests/testutil.h $(EXT_SRC) $(EXT_HDR) | deps
	@mkdir -p $(B)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(EXT_SRC) $(PKG_LIBS) $(TEST_LIBS) -lpthread -lm

# A generated corpus for the integration test (2,000+ event files).
CORPUS = $(B)/corpus-2400
$(CORPUS)/expected.sql: tests/gen_corpus.py | deps
	rm -rf $(CORPUS)
	$(PYTHON) tests/gen_corpus.py --out $(CORPUS) --files 2400 --seed 7

test: $(SO) $(TESTS) $(CORPUS)/expected.sql
	$(B)/test_parse
	$(B)/test_sql
	EVENTMD_CORPUS=$(CORPUS) $(B)/test_corpus
	EVENTMD_CORPUS=$(CORPUS) $(B)/test_pushdown
	$(B)/test_patho
	$(B)/test_faults
	$(B)/test_oom
	sh tests/clients.sh

# The benchmark: corpora of 100,000 and 20,000 event files, kept between runs.
BENCH = $(B)/bench-corpus
$(B)/bench: tests/bench.c $(EXT_SRC) $(EXT_HDR) | deps
	@mkdir -p $(B)
	$(CC) $(TEST_CFLAGS) -o $@ tests/bench.c $(EXT_SRC) $(PKG_LIBS) -lpthread -lm

$(BENCH)/%/expected.sql: tests/gen_corpus.py | deps
	rm -rf $(BENCH)/$*
	$(PYTHON) tests/gen_corpus.py --out $(BENCH)/$* --files $* --seed 11

bench: $(B)/bench $(BENCH)/100000/expected.sql $(BENCH)/20000/expected.sql
	$(B)/bench $(BENCH)/100000/archive $(BENCH)/20000/archive

demo: $(SO) $(BIN)
	@sh sql/demo.sh

format:
	clang-format -i ext/*.c ext/*.h include/*.h tests/*.c tests/*.h

clean:
	rm -rf $(B)
