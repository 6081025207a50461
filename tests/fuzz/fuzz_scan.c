/* SPDX-License-Identifier: MIT */
/*
** fuzz_scan.c - libFuzzer target for whole scans through SQLite.
**
** Build (Debian clang 14; the extension's sources linked in, SQLITE_CORE):
**   clang -g -O1 -fsanitize=fuzzer,address,undefined \
**     -fno-sanitize-recover=undefined -Iinclude -Iext -D_GNU_SOURCE \
**     -DSQLITE_CORE tests/fuzz/fuzz_scan.c <EXT_SRC of the Makefile> \
**     -lsqlite3 -lcmark -lpthread -lm -o build/fuzz_scan
** Run:
**   build/fuzz_scan -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
**     /tmp/fuzz-work/scan-corpus tests/fuzz/seeds/scan
**
** Once, a temporary folder with two archives is made:
**
**   one/news/2014/02/13/f.md         the input, alone
**   many/news/2014/02/13/aNN.md      40 small fixed events (written once)
**   many/news/2014/02/13/cNN.md      the input again, 20 + 2 + 2 times, in
**   many/news/2014/2/14/uN.md        three kinds of folder (padded,
**   many/drafts/dN.md                unpadded, undated)
**
** The read-ahead starts its worker threads after 16 rows, and only while the
** walk still has entries (its window grows as 4 + 2 x rows), so many/ holds
** more than 60 files and the input's copies sort after the fixed ones: the
** workers parse them.
**
** and two in-memory connections with eventmd registered, one with
** eventmd_config('threads', 1), one with 2.  Both stay open across inputs
** (their parse caches too).  Each input is written into both archives and
** queried on one connection (picked by a hash of the input, so a file
** reproduces alone), with the cache on, off or tiny; every row is stepped
** and every column read.  The rows must agree with eventmd_parse() of the
** same bytes (a stale cache entry or a mixed-up row would not), and:
**   - no SQLite error but SQLITE_NOMEM (and SQLITE_INTERRUPT where asked);
**   - one events row in one/, with and without path = pushdown, same rowid;
**   - count(*) of each child table = the events row's n_sources/...;
**   - the markdown column is the input (valid UTF-8 input) or valid UTF-8;
**   - date pushdown (=, <, >, IN, with odd bounds) and path = pushdown
**     (with odd paths) give the rows a full scan gives;
**   - ORDER BY date comes out in date order.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "eventmd.h"

/* Failing loudly, and UTF-8 validity: fuzzutil.h. */
#define FUZZ_NAME "fuzz_scan"
#include "fuzzutil.h"

static int streq(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

/* FNV-1a: picks the settings of an input. */
static uint64_t hash(const uint8_t *d, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  size_t i;
  for (i = 0; i < n; i++) h = (h ^ d[i]) * 0x100000001b3ULL;
  return h ^ (h >> 29);
}

/* ------------------------------------------------------------------------
** The archives.
*/
#define N_PADDED 20
#define N_UNPADDED 2
#define N_UNDATED 2
#define N_MANY (N_PADDED + N_UNPADDED + N_UNDATED)
#define N_FILLER 40

/* The fixed events of many/ (no current-version change: is_current 1). */
static const char kFiller[] =
    "### [2014-02-13](/news/2014/02/13/index.md)\n\n"
    "# A fixed event\n\nIts summary.\n\n### Sources:\n\n"
    "1. [Desk](https://Desk.example/a)\n\n### Related:\n\n"
    "1. [Before](/news/2014/2/1/b.md) _Context: X_\n\n### Changes:\n\n"
    "1. [First](/news/2014/02/13/a.md) _2014-02-13 10:00:00 (First version)_\n";
static eventmd_event *g_filler; /* its parse */

static char g_tmp[PATH_MAX];  /* the temporary folder */
static char g_one[PATH_MAX];  /* archive with the input alone */
static char g_many[PATH_MAX]; /* archive with the input N_MANY times */
static const char *kOnePath = "/news/2014/02/13/f.md";

static int rm_entry(const char *p, const struct stat *st, int type,
                    struct FTW *f) {
  (void)st;
  (void)type;
  (void)f;
  remove(p);
  return 0;
}

static void cleanup(void) {
  if (g_tmp[0]) nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdirs(const char *root, const char *rel) {
  char p[PATH_MAX];
  size_t i, n = (size_t)snprintf(p, sizeof(p), "%s/%s", root, rel);
  for (i = 1; i <= n; i++) {
    if (p[i] == '/' || p[i] == 0) {
      char c = p[i];
      p[i] = 0;
      if (mkdir(p, 0755) != 0 && errno != EEXIST) fail("mkdir", p);
      p[i] = c;
    }
  }
}

/* Path (with a leading '/') of copy i in many/. */
static void many_path(int i, char *out, size_t cap) {
  if (i < N_PADDED)
    snprintf(out, cap, "/news/2014/02/13/c%02d.md", i);
  else if (i < N_PADDED + N_UNPADDED)
    snprintf(out, cap, "/news/2014/2/14/u%d.md", i - N_PADDED);
  else
    snprintf(out, cap, "/drafts/d%d.md", i - N_PADDED - N_UNPADDED);
}

/* Write the bytes to root + rel: in place (truncate) or through a hidden
** temporary file renamed over it (a new inode); sometimes with an old
** mtime (ctime is always now). */
static void write_file(const char *root, const char *rel, const uint8_t *d,
                       size_t n, int renamed, int old_mtime) {
  char p[PATH_MAX], t[PATH_MAX];
  const char *slash;
  int fd;
  size_t off = 0;
  snprintf(p, sizeof(p), "%s%s", root, rel);
  slash = strrchr(p, '/');
  snprintf(t, sizeof(t), "%.*s/.tmp-%s", (int)(slash - p), p, slash + 1);
  fd = open(renamed ? t : p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("open for writing", p);
  while (off < n) {
    ssize_t w = write(fd, d + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write", strerror(errno));
    }
    off += (size_t)w;
  }
  if (old_mtime) {
    struct timespec ts[2] = {{1400000000, 0}, {1400000000, 0}};
    futimens(fd, ts);
  }
  close(fd);
  if (renamed && rename(t, p) != 0) fail("rename", strerror(errno));
}

/* ------------------------------------------------------------------------
** Connections and statements.
*/
enum {
  Q_EVENTS,   /* every column of one/ */
  Q_MARKDOWN, /* with the hidden markdown column */
  Q_BYPATH,   /* path = pushdown */
  Q_SOURCES,
  Q_RELATED,
  Q_CHANGES,
  Q_COUNTS,      /* the three child counts for one event_path */
  Q_JOIN,        /* events joined with a child table */
  Q_MANY,        /* every column of many/ */
  Q_MANY_CHILD,  /* child rows of many/ */
  Q_MANY_DATE,   /* ORDER BY date over many/ */
  Q_DATE_PUSH,   /* count(*) with a date constraint, pushed down */
  Q_DATE_NOPUSH, /* the same without pushdown */
  Q_INTERRUPTED, /* a scan of many/ interrupted by a progress handler */
  NQ
};

static const char *const kSql[NQ] = {
    "SELECT rowid, * FROM eventmd_events(?1)",
    "SELECT path, markdown, title, n_sources, size, problem, markdown "
    "FROM eventmd_events(?1)",
    "SELECT rowid, * FROM eventmd_events(?1) WHERE path = ?2",
    "SELECT rowid, * FROM eventmd_sources(?1)",
    "SELECT rowid, * FROM eventmd_related(?1)",
    "SELECT rowid, * FROM eventmd_changes(?1)",
    "SELECT (SELECT count(*) FROM eventmd_sources(?1) WHERE event_path = ?2),"
    " (SELECT count(*) FROM eventmd_related(?1) WHERE event_path = ?2),"
    " (SELECT count(*) FROM eventmd_changes(?1) WHERE event_path IN (?2, 'x'))",
    "SELECT e.path, e.n_changes, count(c.ordinal) FROM eventmd_events(?1) e"
    " LEFT JOIN eventmd_changes(?1) c ON c.event_path = e.path"
    " GROUP BY e.path",
    "SELECT * FROM eventmd_events(?1) ORDER BY path",
    "SELECT * FROM eventmd_sources(?1) UNION ALL"
    " SELECT event_path, ordinal, title, target, context"
    " FROM eventmd_related(?1)",
    "SELECT path, date, title FROM eventmd_events(?1) ORDER BY date",
    NULL, /* made per input: the operator varies */
    NULL,
    "SELECT e.path, s.name FROM eventmd_events(?1) e, eventmd_sources(?1) s"
    " WHERE s.event_path = e.path"};

typedef struct conn {
  sqlite3 *db;
  sqlite3_stmt *st[NQ];
  int threads;
} conn;

static conn g_conn[2];

static void open_conn(conn *c, int threads) {
  char *err = NULL, sql[64];
  int i;
  if (sqlite3_open(":memory:", &c->db) != SQLITE_OK) fail("sqlite3_open", NULL);
  if (sqlite3_eventmd_init(c->db, &err, NULL) != SQLITE_OK)
    fail("sqlite3_eventmd_init", err);
  snprintf(sql, sizeof(sql), "SELECT eventmd_config('threads', %d)", threads);
  if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK)
    fail("eventmd_config threads", err);
  c->threads = threads;
  for (i = 0; i < NQ; i++) {
    if (!kSql[i]) continue;
    if (sqlite3_prepare_v2(c->db, kSql[i], -1, &c->st[i], NULL) != SQLITE_OK)
      fail("prepare", sqlite3_errmsg(c->db));
  }
}

static void init(void) {
  const char *base = getenv("TMPDIR");
  snprintf(g_tmp, sizeof(g_tmp), "%s/fuzz-scan-XXXXXX", base ? base : "/tmp");
  if (!mkdtemp(g_tmp)) fail("mkdtemp", strerror(errno));
  atexit(cleanup);
  snprintf(g_one, sizeof(g_one), "%s/one", g_tmp);
  snprintf(g_many, sizeof(g_many), "%s/many", g_tmp);
  mkdirs(g_one, "news/2014/02/13");
  mkdirs(g_many, "news/2014/02/13");
  mkdirs(g_many, "news/2014/2/14");
  mkdirs(g_many, "drafts");
  {
    int i;
    for (i = 0; i < N_FILLER; i++) {
      char p[64];
      snprintf(p, sizeof(p), "/news/2014/02/13/a%02d.md", i);
      write_file(g_many, p, (const uint8_t *)kFiller, sizeof(kFiller) - 1, 0,
                 0);
    }
    if (eventmd_parse(&g_filler, kFiller, sizeof(kFiller) - 1,
                      "/news/2014/02/13/a00.md", NULL) != EVENTMD_OK)
      fail("eventmd_parse", "out of memory");
  }
  open_conn(&g_conn[0], 1);
  open_conn(&g_conn[1], 2);
}

/* ------------------------------------------------------------------------
** Running statements.
*/
typedef struct qctx {
  conn *c;
  int allow_interrupt;
} qctx;

/* Step st once: 1 = a row, 0 = done, -1 = stopped by NOMEM (or an allowed
** interrupt).  Any other error fails. */
static int step(const qctx *q, sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return 1;
  if (rc == SQLITE_DONE) return 0;
  if (rc == SQLITE_NOMEM) return -1;
  if (rc == SQLITE_INTERRUPT && q->allow_interrupt) return -1;
  {
    char msg[1024];
    snprintf(msg, sizeof(msg), "rc %d (%s): %s [%s]", rc, sqlite3_errstr(rc),
             sqlite3_errmsg(q->c->db), sqlite3_sql(st));
    fail("SQLite error", msg);
  }
  return -1;
}

/* Read every column of the current row: text must be valid UTF-8 and,
** except in the markdown column, without NUL bytes. */
static void read_row(sqlite3_stmt *st) {
  int i, n = sqlite3_column_count(st);
  for (i = 0; i < n; i++) {
    const char *name = sqlite3_column_name(st, i);
    switch (sqlite3_column_type(st, i)) {
      case SQLITE_TEXT: {
        const unsigned char *t = sqlite3_column_text(st, i);
        int len = sqlite3_column_bytes(st, i);
        if (!t) break; /* out of memory */
        if (!utf8_valid(t, (size_t)len))
          fail("a text column is not valid UTF-8", name);
        if (strcmp(name, "markdown") != 0 &&
            (int)strlen((const char *)t) != len)
          fail("a text column holds a NUL byte", name);
        break;
      }
      case SQLITE_INTEGER: (void)sqlite3_column_int64(st, i); break;
      case SQLITE_NULL: break;
      default: fail("unexpected column type", name);
    }
  }
}

static const char *col_text(sqlite3_stmt *st, int i) {
  return (const char *)sqlite3_column_text(st, i);
}

static int col_is(sqlite3_stmt *st, int i, const char *want) {
  return streq(col_text(st, i), want);
}

static void bind(sqlite3_stmt *st, const char *root, const char *path) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
  if (path && sqlite3_bind_parameter_count(st) >= 2)
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
}

/* ------------------------------------------------------------------------
** Expectations: what eventmd_parse() says of the same bytes.
*/
static int expect_is_current(const eventmd_event *ev, const char *path) {
  uint32_t i;
  if (ev->problems & EVENTMD_PROBLEM_UNSAFE) return 1;
  for (i = 0; i < ev->n_changes; i++)
    if (ev->changes[i].is_current)
      return ev->changes[i].target && !strcmp(ev->changes[i].target, path);
  return 1;
}

/* The events row at st (columns: rowid, path, date, title, summary,
** cover_image, day_index, is_current, n_sources, n_related, n_changes, size,
** mtime, problem) against ev, for a file at path holding size bytes.
** Columns from index 1 on. */
static void check_events_row(sqlite3_stmt *st, const eventmd_event *ev,
                             const char *path, size_t size, const char *what) {
  char msg[256];
#define COL(i, cond, name)                                   \
  if (!(cond)) {                                             \
    snprintf(msg, sizeof(msg), "%s: column %s", what, name); \
    fail("an events row differs from eventmd_parse()", msg); \
  }
  COL(1, col_is(st, 1, path), "path");
  COL(2, col_is(st, 2, ev->date), "date");
  COL(3, col_is(st, 3, ev->title), "title");
  COL(4, col_is(st, 4, ev->summary), "summary");
  COL(5, col_is(st, 5, ev->cover_image), "cover_image");
  COL(6, col_is(st, 6, ev->day_index), "day_index");
  COL(7, sqlite3_column_int(st, 7) == expect_is_current(ev, path),
      "is_current");
  COL(8, sqlite3_column_int64(st, 8) == ev->n_sources, "n_sources");
  COL(9, sqlite3_column_int64(st, 9) == ev->n_related, "n_related");
  COL(10, sqlite3_column_int64(st, 10) == ev->n_changes, "n_changes");
  COL(11, sqlite3_column_int64(st, 11) == (sqlite3_int64)size, "size");
  COL(13, col_is(st, 13, ev->problem), "problem");
#undef COL
}

/* Child rows of one event: ordinals 1..n in order, columns as parsed. */
typedef struct childcheck {
  const eventmd_event *ev;
  int table; /* Q_SOURCES, Q_RELATED, Q_CHANGES */
  uint32_t next;
} childcheck;

static void check_child_row(sqlite3_stmt *st, childcheck *cc,
                            const char *path) {
  const eventmd_event *ev = cc->ev;
  uint32_t i = cc->next++;
  int ok = 1;
  CHECK(col_is(st, 1, path), "child row's event_path");
  CHECK(sqlite3_column_int64(st, 2) == (sqlite3_int64)i + 1,
        "child rows' ordinals 1..n");
  if (cc->table == Q_SOURCES) {
    CHECK(i < ev->n_sources, "no more sources rows than n_sources");
    ok = col_is(st, 3, ev->sources[i].name) &&
         col_is(st, 4, ev->sources[i].url) &&
         col_is(st, 5, ev->sources[i].domain);
  } else if (cc->table == Q_RELATED) {
    CHECK(i < ev->n_related, "no more related rows than n_related");
    ok = col_is(st, 3, ev->related[i].title) &&
         col_is(st, 4, ev->related[i].target) &&
         col_is(st, 5, ev->related[i].target_date) &&
         col_is(st, 6, ev->related[i].context);
  } else {
    CHECK(i < ev->n_changes, "no more changes rows than n_changes");
    ok = col_is(st, 3, ev->changes[i].title) &&
         col_is(st, 4, ev->changes[i].target) &&
         col_is(st, 5, ev->changes[i].changed_at) &&
         col_is(st, 6, ev->changes[i].label) &&
         sqlite3_column_int(st, 7) == ev->changes[i].is_current;
  }
  if (!ok) fail("a child row differs from eventmd_parse()", kSql[cc->table]);
}

/* ------------------------------------------------------------------------
** Progress handler: interrupt after a number of calls.
*/
static int g_progress_left;
static int progress(void *arg) {
  (void)arg;
  return --g_progress_left <= 0;
}

/* ------------------------------------------------------------------------
** One input.
*/
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int inited;
  uint64_t h = hash(data, size);
  conn *c;
  qctx q;
  eventmd_event *ev_one = NULL, *ev_kind[3] = {NULL, NULL, NULL};
  const char *kind_path[3] = {"/news/2014/02/13/c00.md",
                              "/news/2014/2/14/u0.md", "/drafts/d0.md"};
  sqlite3_stmt *st;
  sqlite3_int64 rowid_one = 0;
  int r, i, nrows, valid = utf8_valid(data, size), cache_mode;
  char *sql;
  char date_arg[16];

  if (!inited) {
    init();
    inited = 1;
  }
  c = &g_conn[h & 1];
  q.c = c;
  q.allow_interrupt = 0;

  /* The cache: on (default size), off, or tiny (evicting all the time). */
  cache_mode = (int)((h >> 1) % 3);
  {
    char s[80];
    snprintf(s, sizeof(s), "SELECT eventmd_config('cache_bytes', %d)",
             cache_mode == 0   ? 256 << 20
             : cache_mode == 1 ? 0
                               : 6000);
    if (sqlite3_exec(c->db, s, NULL, NULL, NULL) != SQLITE_OK)
      fail("eventmd_config cache_bytes", sqlite3_errmsg(c->db));
  }

  /* The files. */
  write_file(g_one, kOnePath, data, size, (int)((h >> 3) & 1),
             (int)((h >> 4) & 1));
  for (i = 0; i < N_MANY; i++) {
    char p[64];
    many_path(i, p, sizeof(p));
    write_file(g_many, p, data, size, (int)((h >> 5) & 1) && i % 7 == 0, 0);
  }

  /* What the parser says. */
  if (eventmd_parse(&ev_one, (const char *)data, size, kOnePath, NULL) !=
      EVENTMD_OK)
    fail("eventmd_parse", "out of memory");
  for (i = 0; i < 3; i++)
    if (eventmd_parse(&ev_kind[i], (const char *)data, size, kind_path[i],
                      NULL) != EVENTMD_OK)
      fail("eventmd_parse", "out of memory");

  /* one/: all columns, exactly one row. */
  st = c->st[Q_EVENTS];
  bind(st, g_one, NULL);
  for (nrows = 0; (r = step(&q, st)) == 1; nrows++) {
    read_row(st);
    check_events_row(st, ev_one, kOnePath, size, "one/");
    rowid_one = sqlite3_column_int64(st, 0);
  }
  if (r == 0) CHECK(nrows == 1, "exactly one events row in one/");

  /* With the markdown column. */
  st = c->st[Q_MARKDOWN];
  bind(st, g_one, NULL);
  for (nrows = 0; (r = step(&q, st)) == 1; nrows++) {
    const unsigned char *md;
    int len;
    read_row(st);
    md = sqlite3_column_text(st, 1);
    len = sqlite3_column_bytes(st, 1);
    if (md) {
      if (valid)
        CHECK((size_t)len == size && !memcmp(md, data, size),
              "markdown is the file's bytes when they are valid UTF-8");
      else
        CHECK((size_t)len >= size && utf8_valid(md, (size_t)len),
              "markdown keeps the text, bad bytes replaced");
    }
    CHECK(col_is(st, 2, ev_one->title), "title next to markdown");
    CHECK(sqlite3_column_int64(st, 3) == ev_one->n_sources,
          "n_sources next to markdown");
    CHECK(col_is(st, 5, ev_one->problem), "problem next to markdown");
    CHECK(sqlite3_column_bytes(st, 6) == len, "markdown twice in a row");
  }
  if (r == 0) CHECK(nrows == 1, "exactly one events row with markdown");

  /* path = pushdown: the same row, the same rowid. */
  st = c->st[Q_BYPATH];
  bind(st, g_one, kOnePath);
  for (nrows = 0; (r = step(&q, st)) == 1; nrows++) {
    read_row(st);
    check_events_row(st, ev_one, kOnePath, size, "path = pushdown");
    if (rowid_one)
      CHECK(sqlite3_column_int64(st, 0) == rowid_one,
            "rowid stable for a path");
  }
  if (r == 0) CHECK(nrows == 1, "exactly one events row by path");

  /* The child tables: rows = n_*, as parsed. */
  {
    static const int tabs[3] = {Q_SOURCES, Q_RELATED, Q_CHANGES};
    uint32_t want[3];
    want[0] = ev_one->n_sources;
    want[1] = ev_one->n_related;
    want[2] = ev_one->n_changes;
    for (i = 0; i < 3; i++) {
      childcheck cc = {ev_one, tabs[i], 0};
      st = c->st[tabs[i]];
      bind(st, g_one, NULL);
      while ((r = step(&q, st)) == 1) {
        read_row(st);
        check_child_row(st, &cc, kOnePath);
      }
      if (r == 0)
        CHECK(cc.next == want[i], "child rows = the events row's n_*");
    }
    st = c->st[Q_COUNTS];
    bind(st, g_one, kOnePath);
    if ((r = step(&q, st)) == 1) {
      read_row(st);
      CHECK(sqlite3_column_int64(st, 0) == want[0],
            "count(*) sources by event_path");
      CHECK(sqlite3_column_int64(st, 1) == want[1],
            "count(*) related by event_path");
      CHECK(sqlite3_column_int64(st, 2) == want[2],
            "count(*) changes by event_path");
      r = step(&q, st);
      if (r >= 0) CHECK(r == 0, "one row of counts");
    }
  }
  st = c->st[Q_JOIN];
  bind(st, g_one, NULL);
  for (nrows = 0; (r = step(&q, st)) == 1; nrows++) {
    read_row(st);
    CHECK(sqlite3_column_int64(st, 1) == ev_one->n_changes, "joined n_changes");
    CHECK(sqlite3_column_int64(st, 2) == ev_one->n_changes,
          "joined count of changes");
  }
  if (r == 0) CHECK(nrows == 1, "one group in the join");

  /* path = pushdown gives the rows a full scan gives, whatever the value. */
  {
    static const char *const paths[] = {"/news/2014/02/13/f.md",
                                        "/news/2014/02/13/f.md/",
                                        "news/2014/02/13/f.md",
                                        "/news/2014/02/13//f.md",
                                        "/news/2014/2/13/f.md",
                                        "/news/2014/02/13/./f.md",
                                        "/news/2014/02/13/../13/f.md",
                                        "/news/2014/02/13/.tmp-f.md",
                                        "/news/2014/02/13/F.md",
                                        "/news/2014/02/13",
                                        "/news/2014/02/13/",
                                        "/",
                                        "",
                                        "//news/2014/02/13/f.md",
                                        "/news/2014/02/13/f.md\xff",
                                        "/news/2014/02/13/index.md"};
    const char *pv = paths[(h >> 28) % 16];
    sqlite3_int64 n[2] = {-1, -2};
    int j;
    for (j = 0; j < 2; j++) {
      sqlite3_stmt *ps;
      const char *tab = (h >> 32) & 1 ? "eventmd_changes" : "eventmd_events";
      const char *col = (h >> 32) & 1 ? "event_path" : "path";
      sql = sqlite3_mprintf("SELECT count(*) FROM %s(?1) WHERE %s%s = ?2", tab,
                            j ? "+" : "", col);
      if (!sql) fail("sqlite3_mprintf", NULL);
      if (sqlite3_prepare_v2(c->db, sql, -1, &ps, NULL) != SQLITE_OK)
        fail("prepare", sqlite3_errmsg(c->db));
      sqlite3_free(sql);
      sqlite3_bind_text(ps, 1, g_one, -1, SQLITE_STATIC);
      sqlite3_bind_text(ps, 2, pv, -1, SQLITE_STATIC);
      if ((r = step(&q, ps)) == 1) n[j] = sqlite3_column_int64(ps, 0);
      sqlite3_finalize(ps);
    }
    if (n[0] >= 0 && n[1] >= 0 && n[0] != n[1]) {
      char msg[200];
      snprintf(msg, sizeof(msg), "path = '%s': %lld rows pushed down, %lld not",
               pv, (long long)n[0], (long long)n[1]);
      fail("path pushdown changes the rows", msg);
    }
  }

  /* many/: every row against the parse of its kind of path. */
  st = c->st[Q_MANY];
  bind(st, g_many, NULL);
  {
    char prev[64] = "";
    for (nrows = 0; (r = step(&q, st)) == 1; nrows++) {
      const char *p = col_text(st, 0);
      int k;
      read_row(st);
      if (!p) continue;
      CHECK(strcmp(prev, p) < 0, "ORDER BY path in path order, no repeats");
      snprintf(prev, sizeof(prev), "%s", p);
      k = !strncmp(p, "/news/2014/02/13/a", 18)  ? 3
          : !strncmp(p, "/news/2014/02/13/", 17) ? 0
          : !strncmp(p, "/drafts/", 8)           ? 2
                                                 : 1;
      {
        const eventmd_event *ev = k == 3 ? g_filler : ev_kind[k];
        char msg[128];
        snprintf(msg, sizeof(msg), "many/ row %s", p);
        if (!col_is(st, 1, ev->date) || !col_is(st, 2, ev->title) ||
            !col_is(st, 3, ev->summary) || !col_is(st, 4, ev->cover_image) ||
            sqlite3_column_int(st, 6) != expect_is_current(ev, p) ||
            sqlite3_column_int64(st, 7) != ev->n_sources ||
            sqlite3_column_int64(st, 8) != ev->n_related ||
            sqlite3_column_int64(st, 9) != ev->n_changes ||
            sqlite3_column_int64(st, 10) !=
                (sqlite3_int64)(k == 3 ? sizeof(kFiller) - 1 : size) ||
            !col_is(st, 12, ev->problem))
          fail("a row of many/ differs from eventmd_parse()", msg);
      }
    }
    if (r == 0)
      CHECK(nrows == N_MANY + N_FILLER, "every file of many/ has a row");
  }
  /* The scans below cost a full read of many/ each: each runs for about
  ** half of the inputs. */
  st = c->st[Q_MANY_CHILD];
  bind(st, g_many, NULL);
  for (nrows = 0; (h >> 20) & 1 && (r = step(&q, st)) == 1; nrows++)
    read_row(st);
  if ((h >> 20) & 1 && r == 0) {
    long want = N_FILLER * ((long)g_filler->n_sources + g_filler->n_related);
    for (i = 0; i < N_MANY; i++) {
      int k = i < N_PADDED ? 0 : i < N_PADDED + N_UNPADDED ? 1 : 2;
      want += (long)ev_kind[k]->n_sources + (long)ev_kind[k]->n_related;
    }
    CHECK(nrows == want, "child rows of many/ = sum of n_sources + n_related");
  }

  /* ORDER BY date: in date order (NULL first), every row. */
  st = c->st[Q_MANY_DATE];
  bind(st, g_many, NULL);
  {
    char prev[16] = "";
    int seen_date = 0;
    r = -1;
    for (nrows = 0; (h >> 21) & 1 && (r = step(&q, st)) == 1; nrows++) {
      const char *d = col_text(st, 1);
      read_row(st);
      if (!d) {
        CHECK(!seen_date, "ORDER BY date: NULL dates first");
        continue;
      }
      CHECK(strcmp(prev, d) <= 0, "ORDER BY date in date order");
      snprintf(prev, sizeof(prev), "%s", d);
      seen_date = 1;
    }
    if (r == 0)
      CHECK(nrows == N_MANY + N_FILLER, "ORDER BY date gives every row");
  }

  /* Date pushdown = no pushdown. */
  if ((h >> 22) & 1) {
    static const char *const ops[6] = {"=", "<", "<=", ">", ">=", "IN"};
    /* Bounds that are dates, almost dates, prefixes and other text. */
    static const char *const odd[] = {
        "2014-02-13", "2014-02-14", "2014-02-13 ",
        "2014-02-1",  "2014-02",    "2014",
        "",           "2014-2-13",  "9999-99-99",
        "0",          "2013-12-31", "2014-02-13\x7f",
        "\xc3\xa9",   "2014-02-12~"};
    const char *op = ops[(h >> 6) % 6];
    const char *d;
    sqlite3_int64 n[2] = {-1, -2};
    int j, pick = (int)((h >> 24) % 16);
    if (pick < 14)
      d = odd[pick];
    else
      d = ev_kind[2]->date ? ev_kind[2]->date : "2014-02-14";
    snprintf(date_arg, sizeof(date_arg), "%s", d);
    for (j = 0; j < 2; j++) {
      sqlite3_stmt *ds;
      sql = sqlite3_mprintf(
          !strcmp(op, "IN")
              ? "SELECT count(*) FROM eventmd_events(?1) WHERE %sdate IN (?2, "
                "'2014-02-13')"
              : "SELECT count(*) FROM eventmd_events(?1) WHERE %sdate %s ?2",
          j ? "+" : "", op);
      if (!sql) fail("sqlite3_mprintf", NULL);
      if (sqlite3_prepare_v2(c->db, sql, -1, &ds, NULL) != SQLITE_OK)
        fail("prepare", sqlite3_errmsg(c->db));
      sqlite3_free(sql);
      sqlite3_bind_text(ds, 1, g_many, -1, SQLITE_STATIC);
      sqlite3_bind_text(ds, 2, date_arg, -1, SQLITE_STATIC);
      if ((r = step(&q, ds)) == 1) n[j] = sqlite3_column_int64(ds, 0);
      sqlite3_finalize(ds);
    }
    if (n[0] >= 0 && n[1] >= 0 && n[0] != n[1]) {
      char msg[160];
      snprintf(msg, sizeof(msg),
               "date %s '%s': %lld rows pushed down, %lld not", op, date_arg,
               (long long)n[0], (long long)n[1]);
      fail("date pushdown changes the rows", msg);
    }
  }

  /* An interrupted scan, then the connection must still work. */
  if ((h >> 9) & 1) {
    q.allow_interrupt = 1;
    g_progress_left = 1 + (int)((h >> 10) % 400);
    sqlite3_progress_handler(c->db, 1, progress, NULL);
    st = c->st[Q_INTERRUPTED];
    bind(st, g_many, NULL);
    while ((r = step(&q, st)) == 1) read_row(st);
    sqlite3_progress_handler(c->db, 0, NULL, NULL);
    sqlite3_reset(st);
    q.allow_interrupt = 0;
    st = c->st[Q_BYPATH];
    bind(st, g_one, kOnePath);
    for (nrows = 0; (r = step(&q, st)) == 1; nrows++) {
      read_row(st);
      check_events_row(st, ev_one, kOnePath, size, "after an interrupt");
    }
    if (r == 0) CHECK(nrows == 1, "one row after an interrupt");
  }

  for (i = 0; i < NQ; i++)
    if (c->st[i]) sqlite3_reset(c->st[i]);
  eventmd_event_free(ev_one);
  for (i = 0; i < 3; i++) eventmd_event_free(ev_kind[i]);
  return 0;
}
