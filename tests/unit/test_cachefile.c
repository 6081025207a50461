/* SPDX-License-Identifier: MIT */
/*
** test_cachefile.c - the contract of cachefile.h with real files: records
** and folder listings survive a close, nothing unusable is ever handed out,
** only eventmd's own file is ever written (other databases, other files,
** folders, links and devices are refused and left byte for byte as they
** were), an eventmd file that is corrupt, truncated or of another format is
** rebuilt, a writer never waits on another process's long transaction, two
** processes write one file at once, threads read while one writes, and the
** time a get takes.
**
** Build:
**   gcc -O1 -g -Wall -Wextra -Wshadow -Wstrict-prototypes
**       -Wno-unused-parameter -Iinclude -Iext -D_GNU_SOURCE -DSQLITE_CORE
**       -o /tmp/test_cachefile tests/unit/test_cachefile.c ext/cachefile.c
**       ext/record.c ext/text.c -lsqlite3 -lcmocka -lpthread
** and the same with -fsanitize=address,undefined or -fsanitize=thread.
** Time limits are multiplied by $EVENTMD_TIME_SCALE; the measured figure
** uses $EVENTMD_CF_BENCH_N records (default 100,000 of 3.3 KB: 414 MB in
** /tmp; 0 skips it).  $EVENTMD_CF_ONLY runs only the tests it names (a
** cmocka filter).  Files live under one mkdtemp() folder in $TMPDIR (or
** /tmp), removed at the end.
*/
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cachefile.h"
#include "record.h"
#include "recbuf.h"

static char g_base[1024]; /* every file is here: $TMPDIR/test_cachefile.* */

/* ------------------------------------------------------------------------
** Helpers.
*/

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double time_scale(void) {
  const char *s = getenv("EVENTMD_TIME_SCALE");
  double v = s ? atof(s) : 1;
  return v > 0 ? v : 1;
}

/* g_base/name (malloc'd). */
static char *path_in(const char *name) {
  char *p = malloc(4096);
  assert_non_null(p);
  snprintf(p, 4096, "%s/%s", g_base, name);
  return p;
}

static char *with_suffix(const char *path, const char *sfx) {
  char *p = malloc(strlen(path) + strlen(sfx) + 1);
  assert_non_null(p);
  strcpy(p, path);
  strcat(p, sfx);
  return p;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

/* The whole file, malloc'd, with *n its size. */
static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  unsigned char *buf;
  long len;
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  len = ftell(f);
  assert_true(len >= 0);
  rewind(f);
  buf = malloc((size_t)len + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return buf;
}

static void spit(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/* Run sql on path through a plain connection of its own. */
static void plain_exec(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  char *err = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    fail_msg("%s: %s", sql, err ? err : "?");
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static sqlite3_int64 plain_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  sqlite3_int64 v;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
  return v;
}

/* Does PRAGMA quick_check say "ok" for path? */
static int plain_is_ok(const char *path) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int ok;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL),
                   SQLITE_OK);
  ok = sqlite3_step(st) == SQLITE_ROW &&
       strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
  return ok;
}

/* A record of about approx bytes whose text depends on seed (malloc'd). */
static emd_rec *make_rec(uint32_t seed, size_t approx) {
  emd_recbuf b;
  const emd_rec *r;
  emd_rec *copy;
  char title[64], url[128], ctx[64];
  char *summary;
  size_t n = approx > 700 ? approx - 700 : 10, i;
  uint32_t x = seed * 2654435761u + 1;
  int k;
  tu_recbuf_init(&b);
  summary = malloc(n);
  assert_non_null(summary);
  for (i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    summary[i] = (x >> 16) % 7 == 0 ? ' ' : (char)('a' + (x >> 16) % 26);
  }
  emd_recbuf_begin(&b, EMD_REC_EVENT);
  snprintf(title, sizeof(title), "Event number %u happens somewhere", seed);
  emd_recbuf_str(&b, title, strlen(title), 0); /* title */
  emd_recbuf_str(&b, NULL, 0, 0);              /* topic */
  emd_recbuf_str(&b, summary, n, 0);           /* summary */
  snprintf(url, sizeof(url), "https://img.example.org/%u.jpg", seed);
  emd_recbuf_str(&b, url, strlen(url), 0); /* cover */
  emd_recbuf_str(&b, NULL, 0, 0);          /* day index */
  emd_recbuf_str(&b, "2017-10-09", 10, 0); /* heading date */
  emd_recbuf_str(&b, NULL, 0, 0);          /* note */
  for (k = 0; k < 3; k++) {
    emd_recbuf_row(&b, EMD_T_SOURCES);
    emd_recbuf_str(&b, "Reuters", 7, 0);
    snprintf(url, sizeof(url), "https://www.reuters.com/article/%u-%d", seed,
             k);
    emd_recbuf_str(&b, url, strlen(url), 0);
  }
  for (k = 0; k < 2; k++) {
    emd_recbuf_row(&b, EMD_T_RELATED);
    emd_recbuf_str(&b, "A related event", 15, 0);
    snprintf(url, sizeof(url), "/news/2017/10/%02d/related-%u.md", k + 1, seed);
    emd_recbuf_str(&b, url, strlen(url), 0);
    snprintf(ctx, sizeof(ctx), "Cairo, Blue Nile %d", k);
    emd_recbuf_str(&b, ctx, strlen(ctx), 0);
  }
  for (k = 0; k < 2; k++) {
    emd_recbuf_row(&b, EMD_T_CHANGES);
    emd_recbuf_str(&b, NULL, 0, 1); /* the title */
    snprintf(url, sizeof(url), "/news/2017/10/09/version-%d-%u.md", k, seed);
    emd_recbuf_str(&b, url, strlen(url), 0);
    emd_recbuf_str(&b, k ? NULL : "2017-08-25 03:41:12", k ? 0 : 19, 0);
    emd_recbuf_str(&b, k ? "Current version" : "First version", k ? 15 : 13, 0);
  }
  r = emd_recbuf_end(&b, 0);
  assert_non_null(r);
  copy = malloc(r->size);
  assert_non_null(copy);
  memcpy(copy, r, r->size);
  emd_recbuf_free(&b);
  free(summary);
  assert_true(emd_rec_check(copy, copy->size));
  return copy;
}

/* The key and identity of test file i (in folder fino). */
typedef struct tkey {
  emd_fkey key;
  emd_ident id;
  char name[40];
} tkey;

static void tkey_of(tkey *t, uint64_t fino, uint32_t i) {
  snprintf(t->name, sizeof(t->name), "event-%07u.md", i);
  t->key.fdev = 2049;
  t->key.fino = fino;
  t->key.name = t->name;
  t->key.namelen = (uint32_t)strlen(t->name);
  t->id.dev = 2049;
  t->id.ino = 1000000 + (uint64_t)i;
  t->id.size = 3000 + i;
  t->id.mtime_ns = INT64_C(1500000000000000000) + i;
  t->id.ctime_ns = INT64_C(1500000000000000001) + 2 * (int64_t)i;
}

static uint64_t hash_of(uint32_t i) {
  return UINT64_C(0x9e3779b97f4a7c15) * (i + 1); /* high bit set for some */
}

static void put_one(emd_cachefile *cf, uint64_t fino, uint32_t i,
                    const emd_rec *r) {
  tkey t;
  tkey_of(&t, fino, i);
  emd_cachefile_put(cf, &t.key, &t.id, hash_of(i), (int)(i & 1), r);
}

/* Put records 0..n-1 (seed i, about size bytes) in folder fino. */
static void put_range(emd_cachefile *cf, uint64_t fino, uint32_t from,
                      uint32_t n, size_t size) {
  uint32_t i;
  for (i = from; i < from + n; i++) {
    emd_rec *r = make_rec(i, size);
    put_one(cf, fino, i, r);
    free(r);
  }
}

/* get of file i: SQLITE_ROW with exactly rec want and i's identity, or
** whatever else get answered (then nothing is handed out). */
/* Every string of a record is followed by a NUL and holds none (one handed
** in comes out as U+FFFD); a record whose terminator is overwritten fails
** the check. */
static void test_record_strings_terminated(void **state) {
  static const char want[] = {'a', '\xEF', '\xBF', '\xBD', 'b'}; /* U+FFFD */
  emd_recbuf b;
  const emd_rec *r;
  emd_rec *copy;
  emd_str t, s;
  int k;
  (void)state;
  tu_recbuf_init(&b);
  emd_recbuf_begin(&b, EMD_REC_EVENT);
  emd_recbuf_str(&b, "Title", 5, 0);
  emd_recbuf_str(&b, NULL, 0, 0);
  emd_recbuf_str(&b, "a\0b", 3, 0); /* summary */
  for (k = 3; k < EMD_NFIELDS; k++) emd_recbuf_str(&b, NULL, 0, 0);
  r = emd_recbuf_end(&b, 0);
  assert_non_null(r);
  t = emd_rec_field(r, EMD_F_TITLE);
  s = emd_rec_field(r, EMD_F_SUMMARY);
  assert_int_equal(t.n, 5);
  assert_int_equal(t.p[t.n], 0);
  assert_int_equal(s.n, 5);
  assert_memory_equal(s.p, want, 5);
  assert_int_equal(s.p[s.n], 0);
  assert_true(emd_rec_check(r, r->size));
  copy = malloc(r->size);
  assert_non_null(copy);
  memcpy(copy, r, r->size);
  ((char *)copy)[(t.p - (const char *)r) + t.n] = 'x'; /* the title's NUL */
  assert_false(emd_rec_check(copy, copy->size));
  free(copy);
  emd_recbuf_free(&b);
}

static int get_check(emd_cachefile *cf, uint64_t fino, uint32_t i,
                     const emd_rec *want) {
  tkey t;
  emd_ident id;
  uint64_t h = 0;
  int racy = -1, rc;
  emd_rec *got = NULL;
  tkey_of(&t, fino, i);
  memset(&id, 0, sizeof(id));
  rc = emd_cachefile_get(cf, &t.key, &id, &h, &racy, &got);
  if (rc != SQLITE_ROW) {
    assert_null(got);
    return rc;
  }
  assert_non_null(got);
  assert_int_equal((uintptr_t)got % 8, 0);
  assert_int_equal(got->size, want->size);
  assert_memory_equal(got, want, want->size);
  assert_memory_equal(&id, &t.id, sizeof(id));
  assert_true(h == hash_of(i));
  assert_int_equal(racy, (int)(i & 1));
  free(got);
  return rc;
}

static int get_rc(emd_cachefile *cf, uint64_t fino, uint32_t i) {
  tkey t;
  emd_ident id;
  uint64_t h;
  int racy, rc;
  emd_rec *got = NULL;
  tkey_of(&t, fino, i);
  rc = emd_cachefile_get(cf, &t.key, &id, &h, &racy, &got);
  assert_true(rc == SQLITE_DONE || rc == SQLITE_ROW);
  assert_true((rc == SQLITE_ROW) == (got != NULL));
  free(got);
  return rc;
}

static emd_cachefile *open_ok(const char *path) {
  emd_cachefile *cf = NULL;
  char *err = NULL;
  int rc = emd_cachefile_open(&cf, path, &err);
  if (rc != SQLITE_OK) fail_msg("open %s: %d %s", path, rc, err ? err : "");
  assert_null(err);
  assert_non_null(cf);
  return cf;
}

/* Open must refuse path with a message that names it and says what. */
static void open_refused(const char *path, const char *what) {
  emd_cachefile *cf = (emd_cachefile *)&cf; /* must be reset to NULL */
  char *err = NULL;
  int rc = emd_cachefile_open(&cf, path, &err);
  assert_int_not_equal(rc, SQLITE_OK);
  assert_null(cf);
  assert_non_null(err);
  if (!strstr(err, what) || strncmp(err, "eventmd: cache file '", 21) != 0)
    fail_msg("message '%s' does not say '%s'", err, what);
  assert_non_null(strstr(err, path));
  sqlite3_free(err);
}

static emd_cachefile_stats stats_of(emd_cachefile *cf) {
  emd_cachefile_stats s;
  emd_cachefile_get_stats(cf, &s);
  return s;
}

/* Make path an eventmd file holding records 0..n-1 of about size bytes,
** closed (so checkpointed: the main file holds everything). */
static void make_ours(const char *path, uint32_t n, size_t size) {
  emd_cachefile *cf = open_ok(path);
  put_range(cf, 1, 0, n, size);
  emd_cachefile_flush(cf);
  assert_int_equal(stats_of(cf).written, n);
  emd_cachefile_close(cf);
}

/* Is the header of path eventmd's (application_id at byte 68)? */
static int header_is_ours(const char *path) {
  unsigned char h[100];
  FILE *f = fopen(path, "rb");
  size_t n;
  if (!f) return 0;
  n = fread(h, 1, sizeof(h), f);
  fclose(f);
  return n == 100 && memcmp(h, "SQLite format 3", 16) == 0 &&
         ((uint32_t)h[68] << 24 | (uint32_t)h[69] << 16 | (uint32_t)h[70] << 8 |
          h[71]) == EMD_CACHEFILE_APP_ID;
}

/* ------------------------------------------------------------------------
** Round trips.
*/

static void test_roundtrip_after_reopen(void **state) {
  char *path = path_in("roundtrip.db");
  emd_cachefile *cf;
  emd_rec *recs[50];
  tkey t;
  uint32_t i;
  (void)state;
  cf = open_ok(path);
  assert_string_equal(emd_cachefile_path(cf), path);
  for (i = 0; i < 50; i++) {
    recs[i] = make_rec(i, 500 + i * 97); /* 0.5 to 5 KB */
    put_one(cf, 7, i, recs[i]);
  }
  /* Queued is not written: a get before the flush misses. */
  assert_true(emd_cachefile_queued(cf) > 0);
  assert_int_equal(get_rc(cf, 7, 3), SQLITE_DONE);
  tkey_of(&t, 7, 10);
  emd_cachefile_forget(cf, &t.key); /* after its put: removed */
  emd_cachefile_flush(cf);
  assert_int_equal(emd_cachefile_queued(cf), 0);
  assert_int_equal(stats_of(cf).written, 50);
  assert_int_equal(get_check(cf, 7, 3, recs[3]), SQLITE_ROW);
  emd_cachefile_close(cf);
  assert_true(header_is_ours(path));
  assert_int_equal(plain_int(path, "PRAGMA user_version"),
                   EMD_CACHEFILE_FORMAT);
  assert_int_equal(plain_int(path, "PRAGMA page_size"), 65536);

  cf = open_ok(path);
  for (i = 0; i < 50; i++)
    assert_int_equal(get_check(cf, 7, i, recs[i]),
                     i == 10 ? SQLITE_DONE : SQLITE_ROW);
  /* A newer put replaces the row. */
  put_one(cf, 7, 5, recs[6]);
  emd_cachefile_flush(cf);
  assert_int_equal(get_check(cf, 7, 5, recs[6]), SQLITE_ROW);
  assert_int_equal(stats_of(cf).hits, 50);
  assert_int_equal(stats_of(cf).misses, 1);
  assert_int_equal(stats_of(cf).rebuilt, 0);
  emd_cachefile_close(cf);
  for (i = 0; i < 50; i++) free(recs[i]);
  free(path);
}

static void test_unknown_key_is_done(void **state) {
  char *path = path_in("unknown.db");
  emd_cachefile *cf;
  emd_rec *r = make_rec(1, 1000);
  tkey t;
  emd_ident id;
  uint64_t h;
  int racy;
  emd_rec *got = (emd_rec *)&got;
  (void)state;
  cf = open_ok(path);
  put_one(cf, 1, 1, r);
  emd_cachefile_flush(cf);
  assert_int_equal(get_rc(cf, 1, 2), SQLITE_DONE); /* another name */
  assert_int_equal(get_rc(cf, 2, 1), SQLITE_DONE); /* another folder */
  tkey_of(&t, 1, 1);
  t.key.fdev = 2050; /* another device */
  assert_int_equal(emd_cachefile_get(cf, &t.key, &id, &h, &racy, &got),
                   SQLITE_DONE);
  assert_null(got);
  t.key.fdev = 2049;
  t.key.namelen--; /* a prefix of the name */
  assert_int_equal(emd_cachefile_get(cf, &t.key, &id, &h, &racy, &got),
                   SQLITE_DONE);
  t.key.namelen = 0; /* the empty name */
  assert_int_equal(emd_cachefile_get(cf, &t.key, &id, &h, &racy, &got),
                   SQLITE_DONE);
  assert_int_equal(get_check(cf, 1, 1, r), SQLITE_ROW);
  assert_int_equal(stats_of(cf).misses, 5);
  assert_int_equal(stats_of(cf).hits, 1);
  emd_cachefile_close(cf);
  free(r);
  free(path);
}

/* Names are bytes: an empty name, a NUL inside, invalid UTF-8. */
static void test_names_are_bytes(void **state) {
  char *path = path_in("names.db");
  emd_cachefile *cf;
  emd_rec *a = make_rec(1, 800), *b = make_rec(2, 900), *c = make_rec(3, 700);
  static const char odd[] = {'a', 0, 'b', (char)0xff, (char)0xc0};
  emd_fkey k[3] = {{1, 2, "", 0, 0}, {1, 2, odd, 5, 0}, {1, 2, odd, 1, 0}};
  emd_ident id = {1, 2, 3, 4, 5}, got_id;
  const emd_rec *want[3];
  uint64_t h;
  int racy, i;
  emd_rec *got;
  (void)state;
  want[0] = a;
  want[1] = b;
  want[2] = c;
  cf = open_ok(path);
  for (i = 0; i < 3; i++) emd_cachefile_put(cf, &k[i], &id, 9, 0, want[i]);
  emd_cachefile_close(cf);
  cf = open_ok(path);
  for (i = 0; i < 3; i++) {
    assert_int_equal(emd_cachefile_get(cf, &k[i], &got_id, &h, &racy, &got),
                     SQLITE_ROW);
    assert_memory_equal(got, want[i], want[i]->size);
    free(got);
  }
  emd_cachefile_close(cf);
  free(a);
  free(b);
  free(c);
  free(path);
}

/* ------------------------------------------------------------------------
** Nothing unusable is handed out.
*/

static void test_corrupt_blob_is_done(void **state) {
  char *path = path_in("blob.db");
  emd_cachefile *cf;
  emd_rec *recs[8];
  uint32_t i;
  (void)state;
  cf = open_ok(path);
  for (i = 0; i < 8; i++) {
    recs[i] = make_rec(i, 3500);
    put_one(cf, 1, i, recs[i]);
  }
  emd_cachefile_close(cf);
  /* Spoil rows 0..6 in as many ways; row 7 stays good. */
  plain_exec(path,
             "UPDATE rec SET rec = randomblob(3500)"
             " WHERE name = CAST('event-0000000.md' AS BLOB);"
             "UPDATE rec SET rec = substr(rec, 1, length(rec) / 2)"
             " WHERE name = CAST('event-0000001.md' AS BLOB);"
             "UPDATE rec SET rec = CAST(rec AS TEXT)"
             " WHERE name = CAST('event-0000002.md' AS BLOB);"
             "UPDATE rec SET rec = 42"
             " WHERE name = CAST('event-0000003.md' AS BLOB);"
             "UPDATE rec SET rec = x''"
             " WHERE name = CAST('event-0000004.md' AS BLOB);"
             /* size field says one byte more than the blob */
             "UPDATE rec SET rec = x'01' || substr(rec, 2)"
             " WHERE name = CAST('event-0000005.md' AS BLOB);"
             /* a row offset pointing far outside */
             "UPDATE rec SET rec = substr(rec, 1, length(rec) - 4)"
             " || x'ffffff7f'"
             " WHERE name = CAST('event-0000006.md' AS BLOB);");
  cf = open_ok(path);
  for (i = 0; i < 7; i++) assert_int_equal(get_rc(cf, 1, i), SQLITE_DONE);
  assert_int_equal(get_check(cf, 1, 7, recs[7]), SQLITE_ROW);
  assert_int_equal(stats_of(cf).misses, 7);
  assert_int_equal(stats_of(cf).hits, 1);
  /* Bad rows are removed at the next flush; the file is not rebuilt. */
  emd_cachefile_flush(cf);
  assert_int_equal(stats_of(cf).rebuilt, 0);
  emd_cachefile_close(cf);
  assert_int_equal(plain_int(path, "SELECT count(*) FROM rec"), 1);
  for (i = 0; i < 8; i++) free(recs[i]);
  free(path);
}

static void test_folder_listing(void **state) {
  char *path = path_in("folders.db");
  emd_cachefile *cf;
  static const char listing[] = "a.md\0b.md\0c\xff.md\0";
  char big[20000];
  char *got = NULL;
  size_t len = 0, n = 0;
  (void)state;
  memset(big, 'x', sizeof(big));
  cf = open_ok(path);
  emd_cachefile_put_folder(cf, 2049, 77, 100, 200, listing, sizeof(listing), 3);
  emd_cachefile_put_folder(cf, 2049, 78, -5, 7, NULL, 0, 0); /* empty */
  emd_cachefile_put_folder(cf, 2049, 79, 1, 2, big, sizeof(big), 1000);
  emd_cachefile_close(cf);

  cf = open_ok(path);
  assert_int_equal(
      emd_cachefile_get_folder(cf, 2049, 77, 100, 200, &got, &len, &n),
      SQLITE_ROW);
  assert_int_equal(len, sizeof(listing));
  assert_memory_equal(got, listing, len);
  assert_int_equal(n, 3);
  free(got);
  assert_int_equal(
      emd_cachefile_get_folder(cf, 2049, 78, -5, 7, &got, &len, &n),
      SQLITE_ROW);
  assert_int_equal(len, 0);
  assert_int_equal(n, 0);
  free(got);
  assert_int_equal(emd_cachefile_get_folder(cf, 2049, 79, 1, 2, &got, &len, &n),
                   SQLITE_ROW);
  assert_int_equal(len, sizeof(big));
  assert_memory_equal(got, big, len);
  assert_int_equal(n, 1000);
  free(got);
  /* Other times, another folder: nothing. */
  got = (char *)&got;
  assert_int_equal(
      emd_cachefile_get_folder(cf, 2049, 77, 101, 200, &got, &len, &n),
      SQLITE_DONE);
  assert_null(got);
  assert_int_equal(
      emd_cachefile_get_folder(cf, 2049, 77, 100, 201, &got, &len, &n),
      SQLITE_DONE);
  assert_int_equal(
      emd_cachefile_get_folder(cf, 2049, 80, 100, 200, &got, &len, &n),
      SQLITE_DONE);
  assert_int_equal(
      emd_cachefile_get_folder(cf, 2050, 77, 100, 200, &got, &len, &n),
      SQLITE_DONE);
  /* A new listing for the folder replaces the old. */
  emd_cachefile_put_folder(cf, 2049, 77, 300, 400, "z.md", 5, 1);
  emd_cachefile_flush(cf);
  assert_int_equal(
      emd_cachefile_get_folder(cf, 2049, 77, 100, 200, &got, &len, &n),
      SQLITE_DONE);
  assert_int_equal(
      emd_cachefile_get_folder(cf, 2049, 77, 300, 400, &got, &len, &n),
      SQLITE_ROW);
  assert_string_equal(got, "z.md");
  free(got);
  emd_cachefile_close(cf);
  free(path);
}

/* ------------------------------------------------------------------------
** Only our file is written.
*/

/* Open path, expect a refusal naming what, and the file (and no -wal, -shm)
** as before. */
static void refused_unchanged(const char *path, const char *what) {
  size_t n0, n1;
  unsigned char *before = slurp(path, &n0), *after;
  char *wal = with_suffix(path, "-wal"), *shm = with_suffix(path, "-shm");
  int had_wal = exists(wal), had_shm = exists(shm);
  struct stat st0, st1;
  assert_int_equal(stat(path, &st0), 0);
  open_refused(path, what);
  after = slurp(path, &n1);
  assert_int_equal(n0, n1);
  assert_memory_equal(before, after, n0);
  assert_int_equal(stat(path, &st1), 0);
  assert_true(st0.st_mtim.tv_sec == st1.st_mtim.tv_sec &&
              st0.st_mtim.tv_nsec == st1.st_mtim.tv_nsec);
  assert_int_equal(exists(wal), had_wal);
  assert_int_equal(exists(shm), had_shm);
  free(before);
  free(after);
  free(wal);
  free(shm);
}

static void test_foreign_database_refused(void **state) {
  char *a = path_in("foreign.db"), *b = path_in("foreign-app.db"),
       *c = path_in("foreign-uv.db"), *d = path_in("foreign-wal.db");
  sqlite3 *db = NULL;
  (void)state;
  plain_exec(a, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
  refused_unchanged(a, "another SQLite database");
  /* Another application's id. */
  plain_exec(b, "PRAGMA application_id=1234; CREATE TABLE rec(x);");
  refused_unchanged(b, "another SQLite database");
  /* No application_id but our user_version and tables. */
  plain_exec(c,
             "PRAGMA user_version=1; CREATE TABLE rec(x); "
             "CREATE TABLE dir(y);");
  refused_unchanged(c, "another SQLite database");
  /* A foreign database in WAL mode, open elsewhere: its -wal and -shm are
  ** not touched either. */
  assert_int_equal(sqlite3_open(d, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "PRAGMA journal_mode=WAL; CREATE TABLE t(x);"
                                "INSERT INTO t VALUES(1);",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  refused_unchanged(d, "another SQLite database");
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
  free(a);
  free(b);
  free(c);
  free(d);
}

static void test_other_files_refused(void **state) {
  char *a = path_in("notes.txt"), *b = path_in("short.db"),
       *c = path_in("zeros.db");
  static const char text[] = "# My notes\n\nNot a database at all.\n";
  char zeros[8192];
  (void)state;
  spit(a, text, sizeof(text) - 1);
  refused_unchanged(a, "not a SQLite database");
  /* Starts like a database but is shorter than a header. */
  spit(b, "SQLite format 3\0\x20\0", 18);
  refused_unchanged(b, "not a SQLite database");
  memset(zeros, 0, sizeof(zeros));
  spit(c, zeros, sizeof(zeros));
  refused_unchanged(c, "not a SQLite database");
  free(a);
  free(b);
  free(c);
}

static void test_folder_link_device_refused(void **state) {
  char *dir = path_in("a-folder"), *dir_slash = path_in("a-folder/"),
       *target = path_in("link-target.db"), *link = path_in("link.db"),
       *dangling = path_in("dangling.db"), *fifo = path_in("fifo.db");
  char *wal;
  size_t n0, n1;
  unsigned char *before, *after;
  (void)state;
  assert_int_equal(mkdir(dir, 0755), 0);
  open_refused(dir, "is a folder");
  open_refused(dir_slash, "is a folder");
  assert_int_equal(rmdir(dir), 0); /* still empty: nothing made inside */
  /* A link to our own file: refused, and the target is as it was. */
  make_ours(target, 3, 1000);
  before = slurp(target, &n0);
  assert_int_equal(symlink(target, link), 0);
  open_refused(link, "symbolic link");
  after = slurp(target, &n1);
  assert_int_equal(n0, n1);
  assert_memory_equal(before, after, n0);
  wal = with_suffix(link, "-wal");
  assert_false(exists(wal));
  free(wal);
  /* A dangling link: refused, nothing made at its target. */
  assert_int_equal(symlink("nowhere.db", dangling), 0);
  open_refused(dangling, "symbolic link");
  {
    char *target_of_dangling = path_in("nowhere.db");
    assert_false(exists(target_of_dangling));
    free(target_of_dangling);
  }
  /* A device and a FIFO (which must not block the open). */
  open_refused("/dev/null", "not a regular file");
  assert_int_equal(mkfifo(fifo, 0644), 0);
  open_refused(fifo, "not a regular file");
  free(before);
  free(after);
  free(dir);
  free(dir_slash);
  free(target);
  free(link);
  free(dangling);
  free(fifo);
}

static void test_bad_paths(void **state) {
  emd_cachefile *cf = NULL;
  char *err = NULL, *p = path_in("no-such-folder/x.db");
  (void)state;
  assert_int_not_equal(emd_cachefile_open(&cf, "", &err), SQLITE_OK);
  assert_null(cf);
  assert_non_null(err);
  sqlite3_free(err);
  err = NULL;
  assert_int_not_equal(emd_cachefile_open(&cf, p, &err), SQLITE_OK);
  assert_null(cf);
  assert_non_null(err);
  assert_non_null(strstr(err, p));
  sqlite3_free(err);
  /* NULL errmsg is allowed. */
  assert_int_not_equal(emd_cachefile_open(&cf, p, NULL), SQLITE_OK);
  free(p);
}

/* A file of ours that we may not write: refused, unchanged. */
static void test_read_only_file_refused(void **state) {
  char *path;
  (void)state;
  if (geteuid() != 0) {
    path = path_in("readonly.db");
    make_ours(path, 2, 1000);
    assert_int_equal(chmod(path, 0444), 0);
    refused_unchanged(path, "cannot be written");
    assert_int_equal(chmod(path, 0644), 0);
    free(path);
    return;
  }
  /* Root writes whatever the mode says: the check runs as nobody, in a
  ** child, on a file in a folder nobody can reach. */
  {
    char dir[] = "/var/tmp/eventmd-cf-XXXXXX";
    size_t n0, n1;
    unsigned char *before, *after;
    pid_t pid;
    int status;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0755), 0);
    path = malloc(strlen(dir) + 16);
    sprintf(path, "%s/readonly.db", dir);
    make_ours(path, 2, 1000);
    assert_int_equal(chmod(path, 0444), 0);
    before = slurp(path, &n0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      emd_cachefile *cf = NULL;
      char *err = NULL;
      int rc;
      if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
        _exit(2);
      rc = emd_cachefile_open(&cf, path, &err);
      if (rc == SQLITE_OK || cf || !err || !strstr(err, "cannot be written")) {
        fprintf(stderr, "as nobody: rc %d, %s\n", rc, err ? err : "no message");
        _exit(1);
      }
      _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    after = slurp(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before);
    free(after);
    chmod(path, 0644);
    unlink(path);
    rmdir(dir);
    free(path);
  }
}

static void test_empty_file_taken_over(void **state) {
  char *path = path_in("empty.db");
  emd_cachefile *cf;
  emd_rec *r = make_rec(5, 3000);
  (void)state;
  spit(path, "", 0);
  cf = open_ok(path);
  assert_true(header_is_ours(path)); /* written before WAL: in the file */
  put_one(cf, 1, 5, r);
  emd_cachefile_flush(cf);
  assert_int_equal(get_check(cf, 1, 5, r), SQLITE_ROW);
  assert_int_equal(stats_of(cf).rebuilt, 0);
  emd_cachefile_close(cf);
  assert_int_equal(plain_int(path, "PRAGMA application_id"),
                   EMD_CACHEFILE_APP_ID);
  free(r);
  free(path);
}

/* ------------------------------------------------------------------------
** Rebuilding.
*/

static void test_other_format_rebuilt(void **state) {
  const int versions[] = {EMD_CACHEFILE_FORMAT + 1, 0};
  size_t v;
  (void)state;
  for (v = 0; v < 2; v++) {
    char name[64], sql[64];
    char *path;
    emd_cachefile *cf;
    emd_rec *r = make_rec(900, 1000);
    snprintf(name, sizeof(name), "format-%d.db", versions[v]);
    path = path_in(name);
    make_ours(path, 20, 2000);
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", versions[v]);
    plain_exec(path, sql);
    cf = open_ok(path);
    assert_int_equal(stats_of(cf).rebuilt, 1);
    assert_int_equal(get_rc(cf, 1, 0), SQLITE_DONE); /* old rows gone */
    assert_int_equal(get_rc(cf, 1, 19), SQLITE_DONE);
    put_one(cf, 1, 900, r);
    emd_cachefile_flush(cf);
    assert_int_equal(get_check(cf, 1, 900, r), SQLITE_ROW);
    emd_cachefile_close(cf);
    assert_int_equal(plain_int(path, "PRAGMA user_version"),
                     EMD_CACHEFILE_FORMAT);
    assert_int_equal(plain_int(path, "SELECT count(*) FROM rec"), 1);
    free(r);
    free(path);
  }
}

/* Ours, but without our tables (someone dropped one): rebuilt. */
static void test_missing_table_rebuilt(void **state) {
  char *path = path_in("notable.db");
  emd_cachefile *cf;
  (void)state;
  make_ours(path, 5, 1000);
  plain_exec(path, "DROP TABLE dir");
  cf = open_ok(path);
  assert_int_equal(stats_of(cf).rebuilt, 1);
  emd_cachefile_close(cf);
  assert_int_equal(plain_int(path,
                             "SELECT count(*) FROM sqlite_schema "
                             "WHERE name IN ('rec', 'dir')"),
                   2);
  free(path);
}

static void test_truncated_rebuilt(void **state) {
  char *path = path_in("truncated.db");
  emd_cachefile *cf;
  emd_rec *r = make_rec(4000, 3500);
  struct stat st;
  uint32_t i;
  (void)state;
  make_ours(path, 300, 3500);
  assert_int_equal(stat(path, &st), 0);
  assert_true(st.st_size > 300 * 3500);
  assert_int_equal(truncate(path, st.st_size / 2), 0);
  cf = open_ok(path);
  /* Found at open (the header counts more pages than there are) or at the
  ** first get; either way nothing is handed out and a flush rebuilds. */
  for (i = 0; i < 300; i++) assert_int_equal(get_rc(cf, 1, i), SQLITE_DONE);
  put_one(cf, 1, 4000, r);
  emd_cachefile_flush(cf);
  assert_int_equal(stats_of(cf).rebuilt, 1);
  assert_int_equal(get_check(cf, 1, 4000, r), SQLITE_ROW);
  assert_int_equal(get_rc(cf, 1, 0), SQLITE_DONE);
  emd_cachefile_close(cf);
  assert_true(header_is_ours(path));
  free(r);
  free(path);
}

/* Spoil pages in the middle of path (the header page stays). */
static void spoil_middle(const char *path) {
  struct stat st;
  unsigned char junk[8192];
  off_t at;
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  memset(junk, 0xa5, sizeof(junk));
  for (at = (st.st_size / 3) & ~(off_t)8191; at < st.st_size * 2 / 3;
       at += 8192)
    assert_int_equal(pwrite(fd, junk, sizeof(junk), at), sizeof(junk));
  close(fd);
}

struct reader_arg {
  emd_cachefile *cf;
  uint64_t fino;
  uint32_t n;           /* keys 0..n-1 */
  emd_rec **want;       /* expected records (NULL: any valid one) */
  volatile int *stop;   /* set by the main thread */
  int errors;           /* wrong answers seen */
  uint64_t rows, dones; /* answers */
  unsigned seed;
};

static void *reader_main(void *p) {
  struct reader_arg *a = p;
  unsigned x = a->seed;
  while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE)) {
    tkey t;
    emd_ident id;
    uint64_t h;
    int racy, rc;
    emd_rec *got = NULL;
    uint32_t i;
    x = x * 1103515245u + 12345u;
    i = (x >> 8) % a->n;
    tkey_of(&t, a->fino, i);
    rc = emd_cachefile_get(a->cf, &t.key, &id, &h, &racy, &got);
    if (rc == SQLITE_ROW) {
      a->rows++;
      if (!got || !emd_rec_check(got, got->size) ||
          (a->want && (got->size != a->want[i]->size ||
                       memcmp(got, a->want[i], got->size) != 0)) ||
          id.ino != t.id.ino || h != hash_of(i))
        a->errors++;
      free(got);
    } else if (rc == SQLITE_DONE) {
      a->dones++;
      if (got) a->errors++;
    } else {
      a->errors++;
    }
  }
  return NULL;
}

/* Corruption met while several threads read: every answer is right or
** DONE, the state turns to "broken" for all, a flush rebuilds. */
static void test_corrupt_pages_while_threads_read(void **state) {
  char *path = path_in("spoiled.db");
  emd_cachefile *cf;
  emd_rec *want[400];
  struct reader_arg args[6];
  pthread_t th[6];
  volatile int stop = 0;
  uint32_t i;
  int k, tries;
  (void)state;
  for (i = 0; i < 400; i++) want[i] = make_rec(i, 3500);
  cf = open_ok(path);
  for (i = 0; i < 400; i++) put_one(cf, 1, i, want[i]);
  emd_cachefile_close(cf);
  spoil_middle(path);
  cf = open_ok(path);
  for (k = 0; k < 6; k++) {
    memset(&args[k], 0, sizeof(args[k]));
    args[k].cf = cf;
    args[k].fino = 1;
    args[k].n = 400;
    args[k].want = want;
    args[k].stop = &stop;
    args[k].seed = (unsigned)k * 77 + 1;
    assert_int_equal(pthread_create(&th[k], NULL, reader_main, &args[k]), 0);
  }
  /* Flush while they read, until the file is rebuilt. */
  for (tries = 0; tries < 2000 && stats_of(cf).rebuilt == 0; tries++) {
    usleep(1000);
    emd_cachefile_flush(cf);
  }
  usleep(20000);
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  for (k = 0; k < 6; k++) {
    assert_int_equal(pthread_join(th[k], NULL), 0);
    assert_int_equal(args[k].errors, 0);
  }
  assert_int_equal(stats_of(cf).rebuilt, 1);
  /* The new file is empty and works. */
  assert_int_equal(get_rc(cf, 1, 0), SQLITE_DONE);
  put_one(cf, 1, 3, want[3]);
  emd_cachefile_flush(cf);
  assert_int_equal(get_check(cf, 1, 3, want[3]), SQLITE_ROW);
  emd_cachefile_close(cf);
  assert_true(header_is_ours(path));
  assert_true(plain_is_ok(path));
  for (i = 0; i < 400; i++) free(want[i]);
  free(path);
}

/* Someone removes the file while it is open: the next flush makes it
** again; someone puts another database there: it is left alone. */
static void test_file_replaced_while_open(void **state) {
  char *path = path_in("replaced.db"), *wal, *shm;
  emd_cachefile *cf;
  emd_rec *r = make_rec(1, 2000);
  size_t n0, n1;
  unsigned char *before, *after;
  (void)state;
  cf = open_ok(path);
  put_one(cf, 1, 1, r);
  emd_cachefile_flush(cf);
  assert_int_equal(get_check(cf, 1, 1, r), SQLITE_ROW);
  wal = with_suffix(path, "-wal");
  shm = with_suffix(path, "-shm");
  assert_int_equal(unlink(path), 0);
  unlink(wal);
  unlink(shm);
  put_one(cf, 1, 2, r);
  emd_cachefile_flush(cf);
  assert_true(header_is_ours(path));
  assert_int_equal(stats_of(cf).rebuilt, 1);
  assert_int_equal(get_rc(cf, 1, 2), SQLITE_ROW);
  assert_int_equal(get_rc(cf, 1, 1), SQLITE_DONE);
  /* Now a foreign database takes the path. */
  assert_int_equal(unlink(path), 0);
  unlink(wal);
  unlink(shm);
  plain_exec(path, "CREATE TABLE mine(x); INSERT INTO mine VALUES(1);");
  before = slurp(path, &n0);
  put_one(cf, 1, 3, r);
  emd_cachefile_flush(cf);
  assert_int_equal(get_rc(cf, 1, 2), SQLITE_DONE); /* switched off */
  put_one(cf, 1, 4, r);
  emd_cachefile_flush(cf);
  emd_cachefile_close(cf);
  after = slurp(path, &n1);
  assert_int_equal(n0, n1);
  assert_memory_equal(before, after, n0);
  assert_false(exists(wal));
  free(before);
  free(after);
  free(wal);
  free(shm);
  free(r);
  free(path);
}

/* A relative path names the same file after the working folder changed. */
static void test_relative_path(void **state) {
  char *old = getcwd(NULL, 0), *sub = path_in("sub");
  emd_cachefile *cf;
  emd_rec *r = make_rec(8, 1500);
  (void)state;
  assert_non_null(old);
  assert_int_equal(mkdir(sub, 0755), 0);
  assert_int_equal(chdir(g_base), 0);
  cf = open_ok("relative.db");
  assert_string_equal(emd_cachefile_path(cf), "relative.db");
  assert_int_equal(chdir(sub), 0);
  put_one(cf, 1, 8, r);
  emd_cachefile_flush(cf);
  assert_int_equal(get_check(cf, 1, 8, r), SQLITE_ROW); /* a new reader */
  emd_cachefile_close(cf);
  assert_false(exists("relative.db"));
  assert_int_equal(chdir(old), 0);
  free(old);
  free(sub);
  free(r);
}

/* Beyond the queue's bound, puts are dropped and counted. */
static void test_queue_bound(void **state) {
  char *path = path_in("bound.db");
  emd_cachefile *cf;
  emd_rec *big = make_rec(1, 1 << 20); /* 1 MiB */
  emd_cachefile_stats s;
  uint32_t i;
  (void)state;
  cf = open_ok(path);
  for (i = 0; i < 80; i++) put_one(cf, 1, i, big);
  s = stats_of(cf);
  assert_true(s.dropped >= 16 && s.dropped < 20);
  assert_true(emd_cachefile_queued(cf) <= (64u << 20));
  emd_cachefile_flush(cf);
  s = stats_of(cf);
  assert_int_equal(s.written + s.dropped, 80);
  assert_int_equal(get_rc(cf, 1, 0), SQLITE_ROW);
  assert_int_equal(get_rc(cf, 1, 79), SQLITE_DONE);
  emd_cachefile_close(cf);
  free(big);
  free(path);
}

/* ------------------------------------------------------------------------
** Several processes.
*/

/* Another process holds a write transaction for 2 s: our open and flush
** return at once, and the rows are written by a flush after it ends. */
static void test_busy_file_does_not_block(void **state) {
  char *path = path_in("busy.db");
  emd_cachefile *cf;
  emd_rec *recs[50];
  double t0, dt, limit = 0.1 * time_scale();
  int fds[2], status;
  char c;
  pid_t pid;
  uint32_t i;
  (void)state;
  make_ours(path, 1, 1000);
  for (i = 0; i < 50; i++) recs[i] = make_rec(100 + i, 3500);
  assert_int_equal(pipe(fds), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    sqlite3 *db = NULL;
    close(fds[0]);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE; DELETE FROM dir;", NULL, NULL,
                     NULL) != SQLITE_OK)
      _exit(1);
    if (write(fds[1], "x", 1) != 1) _exit(2);
    sleep(2);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) _exit(3);
    sqlite3_close(db);
    _exit(0);
  }
  close(fds[1]);
  assert_int_equal(read(fds[0], &c, 1), 1);
  close(fds[0]);

  t0 = now_s();
  cf = open_ok(path); /* an existing file needs no write lock to open */
  dt = now_s() - t0;
  if (dt > limit) fail_msg("open took %.3f s while the file was busy", dt);
  for (i = 0; i < 50; i++) put_one(cf, 1, 100 + i, recs[i]);
  t0 = now_s();
  emd_cachefile_flush(cf);
  dt = now_s() - t0;
  printf("  flush against a busy file returned in %.2f ms\n", dt * 1e3);
  if (dt > limit) fail_msg("flush took %.3f s while the file was busy", dt);
  assert_int_equal(stats_of(cf).written, 0);
  assert_int_equal(stats_of(cf).dropped, 0);
  assert_int_equal(get_rc(cf, 1, 100), SQLITE_DONE);
  /* Readers are not held up by the writer either. */
  assert_int_equal(get_rc(cf, 1, 0), SQLITE_ROW);

  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  emd_cachefile_flush(cf);
  assert_int_equal(stats_of(cf).written, 50);
  for (i = 0; i < 50; i++)
    assert_int_equal(get_check(cf, 1, 100 + i, recs[i]), SQLITE_ROW);
  emd_cachefile_close(cf);
  for (i = 0; i < 50; i++) free(recs[i]);
  free(path);
}

/* A child: open path (made by whichever child comes first), put n records
** in folder fino, flush until all are written, close.  Exit status 0 when
** all went well. */
static void child_writer(const char *path, uint64_t fino, uint32_t n,
                         int gate) {
  emd_cachefile *cf = NULL;
  emd_cachefile_stats s;
  char c;
  uint32_t i;
  int tries;
  if (read(gate, &c, 1) < 0) _exit(10); /* EOF when the parent opens it */
  {
    char *err = NULL;
    if (emd_cachefile_open(&cf, path, &err) != SQLITE_OK) {
      fprintf(stderr, "child: %s\n", err ? err : "out of memory");
      _exit(11);
    }
  }
  for (i = 0; i < n; i++) {
    emd_rec *r = make_rec(i, 3500);
    tkey t;
    tkey_of(&t, fino, i);
    emd_cachefile_put(cf, &t.key, &t.id, hash_of(i), (int)(i & 1), r);
    free(r);
    if (i % 100 == 99) emd_cachefile_flush(cf);
  }
  for (tries = 0; tries < 20000; tries++) {
    emd_cachefile_flush(cf);
    emd_cachefile_get_stats(cf, &s);
    if (s.written == n) break;
    usleep(500);
  }
  emd_cachefile_get_stats(cf, &s);
  emd_cachefile_close(cf);
  _exit(s.written == n && s.dropped == 0 ? 0 : 12);
}

static void test_two_processes_write_at_once(void **state) {
  char *path = path_in("shared.db");
  emd_cachefile *cf;
  pid_t pid[2];
  int gate[2], k, status;
  uint32_t i, n = 1500;
  (void)state;
  assert_int_equal(pipe(gate), 0);
  for (k = 0; k < 2; k++) {
    pid[k] = fork();
    assert_true(pid[k] >= 0);
    if (pid[k] == 0) {
      close(gate[1]);
      child_writer(path, 100 + (uint64_t)k, n, gate[0]);
    }
  }
  close(gate[0]);
  close(gate[1]); /* both start now, on a file neither has made */
  for (k = 0; k < 2; k++) {
    assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      fail_msg("child %d: status %d", k, status);
  }
  cf = open_ok(path);
  assert_int_equal(stats_of(cf).rebuilt, 0);
  for (k = 0; k < 2; k++)
    for (i = 0; i < n; i += 7) {
      emd_rec *r = make_rec(i, 3500);
      assert_int_equal(get_check(cf, 100 + (uint64_t)k, i, r), SQLITE_ROW);
      free(r);
    }
  emd_cachefile_close(cf);
  assert_int_equal(plain_int(path, "SELECT count(*) FROM rec"), 2 * n);
  free(path);
}

/* Several processes open one absent path at the same moment, again and
** again: each finds the file made by one of them, none refuses it, none
** rebuilds it. */
static void test_processes_create_at_once(void **state) {
  enum { NP = 6, ROUNDS = 15 };
  int round;
  (void)state;
  for (round = 0; round < ROUNDS; round++) {
    char name[64];
    char *path;
    pid_t pid[NP];
    int gate[2], k, status;
    emd_cachefile *cf;
    snprintf(name, sizeof(name), "race-%d.db", round);
    path = path_in(name);
    assert_int_equal(pipe(gate), 0);
    for (k = 0; k < NP; k++) {
      pid[k] = fork();
      assert_true(pid[k] >= 0);
      if (pid[k] == 0) {
        emd_cachefile *c = NULL;
        emd_rec *r;
        char ch, *err = NULL;
        close(gate[1]);
        if (read(gate[0], &ch, 1) < 0) _exit(10);
        if (emd_cachefile_open(&c, path, &err) != SQLITE_OK) {
          fprintf(stderr, "child: %s\n", err ? err : "out of memory");
          _exit(11);
        }
        r = make_rec((uint32_t)k, 1000);
        put_one(c, 1, (uint32_t)k, r);
        free(r);
        emd_cachefile_close(c);
        _exit(0);
      }
    }
    close(gate[0]);
    close(gate[1]);
    for (k = 0; k < NP; k++) {
      assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("round %d child %d: status %d", round, k, status);
    }
    cf = open_ok(path);
    assert_int_equal(stats_of(cf).rebuilt, 0);
    emd_cachefile_close(cf);
    assert_true(header_is_ours(path));
    free(path);
  }
}

/* A reader keeps its snapshot across gets (for speed): a row another
** process wrote is seen at the latest after the next flush (the end of a
** statement), and the -wal does not grow without bound meanwhile. */
static void test_other_process_rows_seen_after_flush(void **state) {
  char *path = path_in("snapshot.db");
  emd_cachefile *cf;
  emd_rec *r = make_rec(77, 2500);
  pid_t pid;
  int status;
  (void)state;
  make_ours(path, 1, 1000);
  cf = open_ok(path);
  assert_int_equal(get_rc(cf, 1, 0), SQLITE_ROW); /* takes a snapshot */
  assert_int_equal(get_rc(cf, 1, 77), SQLITE_DONE);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    emd_cachefile *c = NULL;
    if (emd_cachefile_open(&c, path, NULL) != SQLITE_OK) _exit(11);
    put_one(c, 1, 77, r);
    emd_cachefile_close(c);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  emd_cachefile_flush(cf); /* the statement ends */
  assert_int_equal(get_check(cf, 1, 77, r), SQLITE_ROW);
  emd_cachefile_close(cf);
  free(r);
  free(path);
}

/* SQLite's allocator fails at the n-th call, for every n: open, get, put,
** flush and close report an error or miss, never crash or leak, and never
** refuse, damage or rebuild the file. */
static sqlite3_mem_methods g_mem;      /* SQLite's own */
static int g_mem_count, g_mem_fail_at; /* calls so far; the one that fails */

static void *oom_malloc(int n) {
  if (g_mem_fail_at && ++g_mem_count == g_mem_fail_at) return NULL;
  return g_mem.xMalloc(n);
}
static void *oom_realloc(void *p, int n) {
  if (g_mem_fail_at && ++g_mem_count == g_mem_fail_at) return NULL;
  return g_mem.xRealloc(p, n);
}

static void set_sqlite_alloc(int faulty) {
  sqlite3_mem_methods m;
  assert_int_equal(sqlite3_shutdown(), SQLITE_OK);
  if (faulty) {
    m = g_mem;
    m.xMalloc = oom_malloc;
    m.xRealloc = oom_realloc;
    assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &m), SQLITE_OK);
  } else {
    assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &g_mem), SQLITE_OK);
  }
  assert_int_equal(sqlite3_initialize(), SQLITE_OK);
}

static void test_sqlite_out_of_memory(void **state) {
  char *path = path_in("oom.db");
  emd_rec *recs[6];
  uint32_t i;
  int n, done = 0;
  (void)state;
  for (i = 0; i < 6; i++) recs[i] = make_rec(i, 3000);
  make_ours(path, 4, 3000); /* records 0..3 (same seeds as recs); 4 is put
                            ** below */
  assert_int_equal(sqlite3_shutdown(), SQLITE_OK);
  assert_int_equal(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_mem), SQLITE_OK);
  assert_int_equal(sqlite3_initialize(), SQLITE_OK);
  for (n = 1; !done && n < 5000; n++) {
    emd_cachefile *cf = NULL;
    char *err = NULL;
    int rc;
    set_sqlite_alloc(1);
    g_mem_count = 0;
    g_mem_fail_at = n; /* after sqlite3_initialize() */
    rc = emd_cachefile_open(&cf, path, &err);
    if (rc == SQLITE_OK) {
      char *listing = NULL;
      size_t len, cnt;
      for (i = 0; i < 6; i++) {
        rc = get_check(cf, 1, i, recs[i]);
        assert_true(rc == SQLITE_DONE || (rc == SQLITE_ROW && i < 5));
      }
      put_one(cf, 1, 4, recs[4]);
      emd_cachefile_put_folder(cf, 9, 9, 1, 1, "x", 1, 1);
      emd_cachefile_flush(cf);
      rc = get_check(cf, 1, 4, recs[4]);
      assert_true(rc == SQLITE_DONE || rc == SQLITE_ROW);
      rc = emd_cachefile_get_folder(cf, 9, 9, 1, 1, &listing, &len, &cnt);
      assert_true(rc == SQLITE_DONE || rc == SQLITE_ROW);
      free(listing);
      assert_int_equal(stats_of(cf).rebuilt, 0);
      emd_cachefile_close(cf);
    } else {
      assert_null(cf);
      if (err && !strstr(err, "out of memory") && !strstr(err, "cannot"))
        fail_msg("fault %d: open said '%s'", n, err);
      sqlite3_free(err);
    }
    done = g_mem_count < n; /* the fault was never reached */
    g_mem_fail_at = 0;
    set_sqlite_alloc(0);
    /* Whatever happened, the file is ours and whole. */
    assert_true(header_is_ours(path));
    assert_true(plain_is_ok(path));
    assert_true(plain_int(path, "SELECT count(*) FROM rec") >= 4);
  }
  assert_true(done);
  printf("  %d allocation faults injected\n", n - 1);
  for (i = 0; i < 6; i++) free(recs[i]);
  free(path);
}

/* ------------------------------------------------------------------------
** Threads.
*/

/* Many threads get (more than the pool's bound) while one thread puts and
** flushes: every answer is the record put or DONE. */
static void test_threads_read_while_one_writes(void **state) {
  enum { NT = 20, OLD = 1000, NEW = 1000 };
  char *path = path_in("threads.db");
  emd_cachefile *cf;
  static emd_rec *want[OLD + NEW];
  struct reader_arg args[NT];
  pthread_t th[NT];
  volatile int stop = 0;
  uint64_t rows = 0;
  uint32_t i;
  int k;
  (void)state;
  for (i = 0; i < OLD + NEW; i++) want[i] = make_rec(i, 2000 + (i % 5) * 500);
  cf = open_ok(path);
  for (i = 0; i < OLD; i++) put_one(cf, 1, i, want[i]);
  emd_cachefile_flush(cf);
  for (k = 0; k < NT; k++) {
    memset(&args[k], 0, sizeof(args[k]));
    args[k].cf = cf;
    args[k].fino = 1;
    args[k].n = OLD + NEW;
    args[k].want = want;
    args[k].stop = &stop;
    args[k].seed = (unsigned)k * 7919 + 3;
    assert_int_equal(pthread_create(&th[k], NULL, reader_main, &args[k]), 0);
  }
  for (i = OLD; i < OLD + NEW; i += 50) {
    uint32_t j;
    for (j = i; j < i + 50; j++) put_one(cf, 1, j, want[j]);
    if (i % 200 == 0) { /* and some forgets and rewrites of old rows */
      tkey t;
      tkey_of(&t, 1, i - OLD);
      emd_cachefile_forget(cf, &t.key);
      put_one(cf, 1, i - OLD, want[i - OLD]);
    }
    emd_cachefile_flush(cf);
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
  for (k = 0; k < NT; k++) {
    assert_int_equal(pthread_join(th[k], NULL), 0);
    assert_int_equal(args[k].errors, 0);
    rows += args[k].rows;
  }
  assert_true(rows > 0);
  for (i = 0; i < OLD + NEW; i++)
    assert_int_equal(get_check(cf, 1, i, want[i]), SQLITE_ROW);
  assert_int_equal(stats_of(cf).rebuilt, 0);
  emd_cachefile_close(cf);
  for (i = 0; i < OLD + NEW; i++) free(want[i]);
  free(path);
}

/* ------------------------------------------------------------------------
** The figure: 100,000 gets of 3.5 KB records after a fresh open.
*/

static void test_measure_get(void **state) {
  const char *s = getenv("EVENTMD_CF_BENCH_N");
  uint32_t n = s ? (uint32_t)atoi(s) : 100000, i, misses = 0;
  char *path;
  emd_cachefile *cf;
  emd_rec *r;
  struct stat st;
  double t0, t_write, t_seq, t_rand;
  uint64_t *order;
  (void)state;
  if (n == 0) skip();
  path = path_in("bench.db");
  r = make_rec(42, 3500);
  cf = open_ok(path);
  t0 = now_s();
  for (i = 0; i < n; i++) {
    put_one(cf, 1 + i / 100, i, r); /* 100 files a folder */
    if (emd_cachefile_queued(cf) > (8u << 20)) emd_cachefile_flush(cf);
  }
  emd_cachefile_flush(cf);
  t_write = now_s() - t0;
  assert_int_equal(stats_of(cf).written, n);
  emd_cachefile_close(cf);
  assert_int_equal(stat(path, &st), 0);

  cf = open_ok(path); /* a fresh open: no reader yet, empty page caches */
  t0 = now_s();
  for (i = 0; i < n; i++) {
    tkey t;
    emd_ident id;
    uint64_t h;
    int racy;
    emd_rec *got;
    tkey_of(&t, 1 + i / 100, i);
    if (emd_cachefile_get(cf, &t.key, &id, &h, &racy, &got) != SQLITE_ROW)
      misses++;
    else
      free(got);
  }
  t_seq = now_s() - t0;
  assert_int_equal(misses, 0);
  /* The same in a random order. */
  order = malloc(n * sizeof(*order));
  assert_non_null(order);
  for (i = 0; i < n; i++) order[i] = i;
  for (i = n - 1; i > 0; i--) {
    uint32_t j =
        (uint32_t)(((uint64_t)rand() << 16 ^ (uint64_t)rand()) % (i + 1));
    uint64_t x = order[i];
    order[i] = order[j];
    order[j] = x;
  }
  t0 = now_s();
  for (i = 0; i < n; i++) {
    uint32_t k = (uint32_t)order[i];
    tkey t;
    emd_ident id;
    uint64_t h;
    int racy;
    emd_rec *got;
    tkey_of(&t, 1 + k / 100, k);
    if (emd_cachefile_get(cf, &t.key, &id, &h, &racy, &got) == SQLITE_ROW)
      free(got);
    else
      misses++;
  }
  t_rand = now_s() - t0;
  assert_int_equal(misses, 0);
  assert_int_equal(get_check(cf, 1, 7, r), SQLITE_ROW);
  emd_cachefile_close(cf);
  printf(
      "  %u records of %u bytes: file %.0f MB, written in %.2f s "
      "(%.1f us each)\n",
      n, r->size, st.st_size / 1e6, t_write, t_write * 1e6 / n);
  printf("  get after a fresh open, in write order: %.2f us per get\n",
         t_seq * 1e6 / n);
  printf("  get, random order:                      %.2f us per get\n",
         t_rand * 1e6 / n);
  free(order);
  free(r);
  unlink(path);
  free(path);
}

/* ------------------------------------------------------------------------
** Set-up and main.
*/

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_after_reopen),
      cmocka_unit_test(test_unknown_key_is_done),
      cmocka_unit_test(test_names_are_bytes),
      cmocka_unit_test(test_corrupt_blob_is_done),
      cmocka_unit_test(test_folder_listing),
      cmocka_unit_test(test_foreign_database_refused),
      cmocka_unit_test(test_other_files_refused),
      cmocka_unit_test(test_folder_link_device_refused),
      cmocka_unit_test(test_bad_paths),
      cmocka_unit_test(test_read_only_file_refused),
      cmocka_unit_test(test_empty_file_taken_over),
      cmocka_unit_test(test_other_format_rebuilt),
      cmocka_unit_test(test_missing_table_rebuilt),
      cmocka_unit_test(test_truncated_rebuilt),
      cmocka_unit_test(test_corrupt_pages_while_threads_read),
      cmocka_unit_test(test_file_replaced_while_open),
      cmocka_unit_test(test_relative_path),
      cmocka_unit_test(test_queue_bound),
      cmocka_unit_test(test_busy_file_does_not_block),
      cmocka_unit_test(test_two_processes_write_at_once),
      cmocka_unit_test(test_processes_create_at_once),
      cmocka_unit_test(test_other_process_rows_seen_after_flush),
      cmocka_unit_test(test_sqlite_out_of_memory),
      cmocka_unit_test(test_threads_read_while_one_writes),
      cmocka_unit_test(test_measure_get),
      cmocka_unit_test(test_record_strings_terminated),
  };
  int rc;
  if (getenv("EVENTMD_CF_ONLY")) /* e.g. "test_measure_get", or "*rebuilt" */
    cmocka_set_test_filter(getenv("EVENTMD_CF_ONLY"));
  snprintf(g_base, sizeof(g_base), "%s/test_cachefile.XXXXXX",
           getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(g_base)) {
    perror("mkdtemp");
    return 1;
  }
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  nftw(g_base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}
