/* SPDX-License-Identifier: MIT */
/*
** testutil.h - small helpers for eventmd's SQL-level tests: temporary
** archives, a connection with eventmd registered, and queries rendered as
** text ("a|b\n" per row, NULL as "~", errors as "ERROR: message").
**
** Included by exactly one .c file per test program (definitions are static).
*/
#ifndef EVENTMD_TESTUTIL_H
#define EVENTMD_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "eventmd.h"

/* Time limits are multiplied by $EVENTMD_TIME_SCALE (sanitizer and
** valgrind builds run several times slower). */
static inline double tu_time_scale(void) {
  const char *s = getenv("EVENTMD_TIME_SCALE");
  double v = s ? atof(s) : 1;
  return v > 0 ? v : 1;
}

/* eventmd's clock for its racy-timestamp rule (cache.h).  tu_later() runs
** it ahead, so files written a moment ago count as old: no sleeping past
** the timestamps' grain. */
int64_t emd_cache_now_ns(void);
void emd_cache_set_clock(int64_t (*now_ns)(void));
static inline int64_t tu_clock_later(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return ((int64_t)t.tv_sec + 60) * 1000000000 + t.tv_nsec;
}
static inline void tu_later(int on) {
  emd_cache_set_clock(on ? tu_clock_later : NULL);
}

/* A connection with eventmd registered (linked in, as a host would). */
static inline sqlite3 *tu_open(void) {
  sqlite3 *db = NULL;
  char *err = NULL;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  if (sqlite3_eventmd_init(db, &err, NULL) != SQLITE_OK) {
    fail_msg("eventmd init: %s", err ? err : "?");
  }
  return db;
}

/* In a forked child (where cmocka's asserts must not run): a connection
** with eventmd loaded, or _exit(code). */
static inline sqlite3 *tu_child_open(int code) {
  sqlite3 *db = NULL;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
      sqlite3_eventmd_init(db, NULL, NULL) != SQLITE_OK)
    _exit(code);
  return db;
}

/* Wait for child pid and require that it exited with 0. */
static inline void tu_wait_ok(pid_t pid) {
  int status;
  assert_true(pid > 0);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* The smallest power of two >= n. */
static size_t tu_pow2(size_t n) {
  size_t c = 1;
  while (c < n) c *= 2;
  return c;
}

/* Append to a malloc'd string of *n bytes (made with calloc(1, 1)).  Its
** room is tu_pow2(*n + 1) bytes at least, so it grows by doubling: appends
** cost amortised O(1) even where realloc always copies (AddressSanitizer). */
static void tu_cat(char **buf, size_t *n, const char *s, size_t l) {
  size_t need = *n + l + 1;
  if (need > tu_pow2(*n + 1)) *buf = realloc(*buf, tu_pow2(need));
  memcpy(*buf + *n, s, l);
  *n += l;
  (*buf)[*n] = 0;
}

/* Run sql (printf-style) and render every row; the caller frees.  For an
** EXPLAIN QUERY PLAN statement only the detail column is shown. */
static char *tu_query(sqlite3 *db, const char *fmt, ...) {
  va_list ap;
  char *sql, *out = calloc(1, 1);
  size_t n = 0;
  sqlite3_stmt *st = NULL;
  int rc, i;
  va_start(ap, fmt);
  sql = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  if (!sql) {
    tu_cat(&out, &n, "ERROR: out of memory", 20);
    return out;
  }
  rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK) {
    const char *m = sqlite3_errmsg(db);
    tu_cat(&out, &n, "ERROR: ", 7);
    tu_cat(&out, &n, m, strlen(m));
    return out;
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_stmt_isexplain(st) == 2) {
      const char *v = (const char *)sqlite3_column_text(st, 3);
      tu_cat(&out, &n, v, strlen(v));
      tu_cat(&out, &n, "\n", 1);
      continue;
    }
    for (i = 0; i < sqlite3_column_count(st); i++) {
      const char *v = (const char *)sqlite3_column_text(st, i);
      if (i) tu_cat(&out, &n, "|", 1);
      if (v)
        tu_cat(&out, &n, v, (size_t)sqlite3_column_bytes(st, i));
      else
        tu_cat(&out, &n, "~", 1);
    }
    tu_cat(&out, &n, "\n", 1);
  }
  if (rc != SQLITE_DONE) {
    const char *m = sqlite3_errmsg(db);
    free(out);
    out = calloc(1, 1);
    n = 0;
    tu_cat(&out, &n, "ERROR: ", 7);
    tu_cat(&out, &n, m, strlen(m));
  }
  sqlite3_finalize(st);
  return out;
}

/* Assert that a query renders exactly as want. */
#define tu_expect(db, want, ...)                                         \
  do {                                                                   \
    char *got_ = tu_query(db, __VA_ARGS__);                              \
    if (strcmp(got_, want) != 0) {                                       \
      print_error("query: %s\nwant: %s\ngot:  %s\n", #__VA_ARGS__, want, \
                  got_);                                                 \
      free(got_);                                                        \
      fail();                                                            \
    }                                                                    \
    free(got_);                                                          \
  } while (0)

/* One integer from a query. */
static inline sqlite3_int64 tu_int(sqlite3 *db, const char *fmt, ...) {
  va_list ap;
  char *sql;
  sqlite3_stmt *st = NULL;
  sqlite3_int64 v = -1;
  va_start(ap, fmt);
  sql = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  else
    fail_msg("no row from %s: %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_free(sql);
  return v;
}

/* One counter of eventmd_stats() (key: a string literal). */
#define TU_STAT(db, key) \
  tu_int(db, "SELECT json_extract(eventmd_stats(), '$." key "')")

static inline void tu_exec(sqlite3 *db, const char *fmt, ...) {
  va_list ap;
  char *sql, *err = NULL;
  va_start(ap, fmt);
  sql = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    fail_msg("exec %s: %s", sql, err);
  sqlite3_free(sql);
}

/* A fresh temporary folder (the caller removes it with tu_rmrf). */
static inline char *tu_tmpdir(void) {
  char tmpl[] = "/tmp/eventmd-test-XXXXXX";
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  return strdup(d);
}

/* A fresh temporary folder an unprivileged user can reach (for tests that
** drop privileges): under /tmp when everyone may search it, else under
** /var/tmp.  0755.  The caller removes it with tu_rmrf. */
static inline char *tu_tmpdir_shared(void) {
  static const char *const bases[] = {"/tmp", "/var/tmp"};
  size_t i;
  for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
    struct stat st;
    char tmpl[64];
    if (stat(bases[i], &st) != 0 || !(st.st_mode & S_IXOTH)) continue;
    snprintf(tmpl, sizeof(tmpl), "%s/eventmd-test-XXXXXX", bases[i]);
    if (!mkdtemp(tmpl)) continue;
    chmod(tmpl, 0755);
    return strdup(tmpl);
  }
  fail_msg("no temporary folder that an unprivileged user can reach");
  return NULL;
}

/* mkdir -p the folders of dir/rel. */
static void tu_mkdirs(const char *dir, const char *rel) {
  char path[4096];
  size_t i, n = (size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel);
  for (i = strlen(dir) + 1; i < n; i++) {
    if (path[i] == '/') {
      path[i] = 0;
      if (mkdir(path, 0755) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", path, strerror(errno));
      path[i] = '/';
    }
  }
}

/* Write bytes to dir/rel, making folders. */
static void tu_write(const char *dir, const char *rel, const char *data,
                     size_t len) {
  char path[4096];
  FILE *f;
  tu_mkdirs(dir, rel);
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  f = fopen(path, "wb");
  if (!f) fail_msg("write %s: %s", path, strerror(errno));
  if (len && fwrite(data, 1, len, f) != len) fail_msg("short write %s", path);
  fclose(f);
}

static inline void tu_writes(const char *dir, const char *rel,
                             const char *text) {
  tu_write(dir, rel, text, strlen(text));
}

static int tu_rm_one(const char *p, const struct stat *st, int flag,
                     struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  chmod(p, 0700);
  return remove(p);
}

static inline void tu_rmrf(const char *dir) {
  nftw(dir, tu_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Read a whole file (NUL-terminated); NULL when missing. */
static inline char *tu_slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = malloc((size_t)n + 1);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(buf);
    return NULL;
  }
  fclose(f);
  buf[n] = 0;
  if (len) *len = (size_t)n;
  return buf;
}

#endif /* EVENTMD_TESTUTIL_H */
