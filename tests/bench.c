/*
** bench.c - eventmd's benchmark (make bench).  Not a test: it measures and
** prints each figure with its ratio to its reference, all in one run, and
** says whether each target is met.
**
**   build/bench CORPUS_100K CORPUS_20K
**
** CORPUS_* are folders made by tests/gen_corpus.py (kept between runs).
** Times are the best of several runs (the machine is shared); every ratio
** compares figures measured side by side in this run.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <cmark.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "eventmd.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(1);
}

/* ------------------------------------------------------------------------
** The floor: one thread reads every event file and parses it with
** cmark_parse_document, then frees it.  The walk is a plain recursive
** readdir (it is the reference, not eventmd).
*/
typedef struct floor_acc {
  long files;
  size_t bytes;
  char **paths; /* with paths != NULL: collect event paths instead */
  long npaths, cap;
  size_t rootlen;
} floor_acc;

/* An event file: *.md, not hidden, not a day page (index.md, README.md in
** any case). */
static int is_event(const char *name) {
  size_t n = strlen(name);
  return n > 3 && name[0] != '.' && !strcmp(name + n - 3, ".md") &&
         strcasecmp(name, "index.md") != 0 &&
         strcasecmp(name, "readme.md") != 0;
}

static void floor_dir(const char *dir, floor_acc *acc) {
  DIR *d = opendir(dir);
  struct dirent *de;
  char path[4096];
  if (!d) return;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.') continue;
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    if (de->d_type == DT_DIR) {
      floor_dir(path, acc);
    } else if (de->d_type == DT_REG && is_event(de->d_name)) {
      if (acc->paths) {
        if (acc->npaths == acc->cap) {
          acc->cap = acc->cap ? acc->cap * 2 : 1024;
          acc->paths = realloc(acc->paths, (size_t)acc->cap * sizeof(char *));
        }
        acc->paths[acc->npaths++] = strdup(path + acc->rootlen);
      } else {
        int fd = open(path, O_RDONLY);
        struct stat st;
        char *buf;
        ssize_t got;
        cmark_node *doc;
        if (fd < 0 || fstat(fd, &st) != 0) die("cannot read %s", path);
        buf = malloc((size_t)st.st_size + 1);
        got = read(fd, buf, (size_t)st.st_size);
        close(fd);
        doc = cmark_parse_document(buf, (size_t)(got < 0 ? 0 : got),
                                   CMARK_OPT_DEFAULT);
        cmark_node_free(doc);
        free(buf);
        acc->files++;
        acc->bytes += (size_t)st.st_size;
      }
    }
  }
  closedir(d);
}

/* ------------------------------------------------------------------------
** SQL helpers.
*/
static sqlite3 *open_db(void) {
  sqlite3 *db;
  char *err = NULL;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) die("sqlite3_open");
  if (sqlite3_eventmd_init(db, &err, NULL) != SQLITE_OK) die("init: %s", err);
  return db;
}

static void exec(sqlite3 *db, const char *fmt, ...) {
  va_list ap;
  char *sql, *err = NULL;
  va_start(ap, fmt);
  sql = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    die("%s: %s", sql, err);
  sqlite3_free(sql);
}

/* Run a query to the end; returns seconds.  *first: its first column. */
static double run(sqlite3 *db, const char *sql, sqlite3_int64 *first) {
  sqlite3_stmt *st;
  double t0 = now();
  int rc;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    die("%s: %s", sql, sqlite3_errmsg(db));
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    if (first) *first = sqlite3_column_int64(st, 0);
  if (rc != SQLITE_DONE) die("%s: %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return now() - t0;
}

static sqlite3_int64 stat_of(sqlite3 *db, const char *key) {
  sqlite3_int64 v = -1;
  char *sql =
      sqlite3_mprintf("SELECT json_extract(eventmd_stats(), '$.%s')", key);
  run(db, sql, &v);
  sqlite3_free(sql);
  return v;
}

static double minf(double a, double b) {
  return a < b ? a : b;
}

/* A connection with an empty cache big enough to hold the whole corpus. */
static sqlite3 *fresh(void) {
  sqlite3 *db = open_db();
  exec(db, "SELECT eventmd_config('cache_bytes', %lld)", (long long)2 << 30);
  return db;
}

/* ------------------------------------------------------------------------
** Report.
*/
static int failures;

static void line(const char *what, double value, const char *unit,
                 const char *ratio_of, double ratio, const char *target,
                 int ok) {
  char v[64];
  if (!strcmp(unit, "s"))
    snprintf(v, sizeof(v), "%.4f s", value);
  else if (!strcmp(unit, "ms"))
    snprintf(v, sizeof(v), "%.3f ms", value * 1e3);
  else if (!strcmp(unit, "us"))
    snprintf(v, sizeof(v), "%.1f us", value * 1e6);
  else
    snprintf(v, sizeof(v), "%.1f %s", value, unit);
  printf("  %-44s %14s", what, v);
  if (ratio_of)
    printf("  %9.4f x %-22s", ratio, ratio_of);
  else
    printf("  %36s", "");
  if (target) {
    printf("  %-14s %s", target, ok ? "met" : "NOT MET");
    if (!ok) failures++;
  }
  printf("\n");
}

/* ------------------------------------------------------------------------
** Peak RSS of a cold full scan, measured in a child process.
*/
static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return x < y ? -1 : x > y;
}

/* Peak RSS (KiB) of a cold full scan in a fresh process: the median of five
** runs (when the worker thread starts and which files it takes moves the
** figure by about a megabyte). */
static long rss_child(const char *self, const char *root, long long cache) {
  char cmd[8192];
  long kib[5];
  int i;
  snprintf(cmd, sizeof(cmd), "'%s' --rss '%s' %lld", self, root, cache);
  for (i = 0; i < 5; i++) {
    FILE *p = popen(cmd, "r");
    if (!p || fscanf(p, "%ld", &kib[i]) != 1) die("rss child failed");
    pclose(p);
  }
  qsort(kib, 5, sizeof(long), cmp_long);
  return kib[2];
}

/* This process's peak RSS (VmHWM, KiB): its own, from exec on. */
static long vm_hwm(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof(line), f))
    if (!strncmp(line, "VmHWM:", 6)) kib = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return kib;
}

static int rss_main(const char *root, const char *cache) {
  sqlite3 *db = open_db();
  char *sql;
  exec(db, "SELECT eventmd_config('cache_bytes', %s)", cache);
  sql = sqlite3_mprintf(
      "SELECT count(*), sum(length(title)), sum(length(summary)) "
      "FROM eventmd_events('%q')",
      root);
  run(db, sql, NULL);
  sqlite3_free(sql);
  sqlite3_close(db);
  printf("%ld\n", vm_hwm());
  return 0;
}

/* ------------------------------------------------------------------------
** The benchmark.
*/
int main(int argc, char **argv) {
  const char *root, *root20;
  char *q_events, *q_sources, *q_meta, *sql;
  double t_floor = 1e9, t_cold_ev = 1e9, t_cold_src = 1e9, t_warm_ev = 1e9,
         t_warm_src = 1e9, t_nat_ev = 1e9, t_nat_src = 1e9, t_meta = 1e9, t;
  double t_look_warm = 1e9, t_look_cold = 1e9, t_look_nat = 1e9, t_day = 1e9,
         t_month = 1e9, t_join = 1e9, t_limit = 1e9, per_file;
  floor_acc acc;
  sqlite3 *db;
  sqlite3_stmt *st;
  sqlite3_int64 n = 0, meta_read = -1, join_parsed = -1, month_files = 0;
  long rss20, rss100, rss_cache;
  int i, k;
  char day[16] = "", month[8] = "";
  long nlook = 1000;
  char **look;

  if (argc == 4 && !strcmp(argv[1], "--rss")) return rss_main(argv[2], argv[3]);
  if (argc != 3) die("usage: bench CORPUS_100K/archive CORPUS_20K/archive");
  root = argv[1];
  root20 = argv[2];
  q_events = sqlite3_mprintf(
      "SELECT count(*), sum(length(title)), sum(length(summary)) "
      "FROM eventmd_events('%q')",
      root);
  q_sources = sqlite3_mprintf(
      "SELECT count(*), count(DISTINCT domain) "
      "FROM eventmd_sources('%q')",
      root);
  q_meta = sqlite3_mprintf(
      "SELECT count(*), max(mtime) FROM eventmd_events('%q')", root);

  /* Warm the page cache (every figure reads files from memory), and list
  ** the event paths for the lookups. */
  memset(&acc, 0, sizeof(acc));
  {
    floor_acc list;
    memset(&list, 0, sizeof(list));
    list.rootlen = strlen(root);
    list.paths = malloc(sizeof(char *));
    list.cap = 1;
    floor_dir(root, &list);
    if (list.npaths < 100000)
      die("%s holds only %ld event files", root, list.npaths);
    floor_dir(root, &acc); /* read + parse once: page cache warm */
    /* 1,000 paths spread over the corpus. */
    look = malloc((size_t)nlook * sizeof(char *));
    for (i = 0; i < nlook; i++)
      look[i] = list.paths[(size_t)i * (size_t)list.npaths / (size_t)nlook];
    printf("eventmd %s benchmark: %ld event files (%.0f MB) in %s, %d CPUs\n\n",
           EVENTMD_VERSION, list.npaths, (double)acc.bytes / 1e6, root,
           (int)sysconf(_SC_NPROCESSORS_ONLN));
  }

  /* Floor and cold scans, interleaved, best of 3. */
  for (k = 0; k < 3; k++) {
    memset(&acc, 0, sizeof(acc));
    t = now();
    floor_dir(root, &acc);
    t_floor = minf(t_floor, now() - t);
    db = fresh();
    t_cold_ev = minf(t_cold_ev, run(db, q_events, &n));
    sqlite3_close(db);
    db = fresh();
    t_cold_src = minf(t_cold_src, run(db, q_sources, NULL));
    sqlite3_close(db);
  }
  per_file = t_floor / (double)acc.files;

  /* Warm scans and the native tables, in one connection. */
  db = fresh();
  run(db, q_events, NULL);
  run(db, q_sources, NULL);
  for (k = 0; k < 5; k++) {
    t_warm_ev = minf(t_warm_ev, run(db, q_events, NULL));
    t_warm_src = minf(t_warm_src, run(db, q_sources, NULL));
  }
  exec(db,
       "CREATE TABLE ev(path TEXT PRIMARY KEY, date, title, summary, "
       "cover_image, "
       "day_index, is_current, n_sources, n_related, n_changes, size, mtime, "
       "problem)");
  exec(db,
       "INSERT INTO ev SELECT path, date, title, summary, cover_image, "
       "day_index, "
       "is_current, n_sources, n_related, n_changes, size, mtime, problem "
       "FROM eventmd_events('%q')",
       root);
  exec(db, "CREATE TABLE src AS SELECT * FROM eventmd_sources('%q')", root);
  for (k = 0; k < 5; k++) {
    t_nat_ev = minf(t_nat_ev, run(db,
                                  "SELECT count(*), sum(length(title)), "
                                  "sum(length(summary)) FROM ev",
                                  NULL));
    t_nat_src =
        minf(t_nat_src,
             run(db, "SELECT count(*), count(DISTINCT domain) FROM src", NULL));
  }

  /* Metadata only: no file read. */
  exec(db, "SELECT eventmd_config('reset_stats')");
  for (k = 0; k < 3; k++) t_meta = minf(t_meta, run(db, q_meta, NULL));
  meta_read = stat_of(db, "files_read");

  /* 1,000 lookups by path, one prepared statement: warm (cached), cold
  ** (cache emptied first), and the native table's primary key. */
  {
    const char *qs[3] = {"SELECT title FROM eventmd_events(?1) WHERE path = ?2",
                         "SELECT title FROM eventmd_events(?1) WHERE path = ?2",
                         "SELECT title FROM ev WHERE path = ?2"};
    double *out[3] = {&t_look_warm, &t_look_cold, &t_look_nat};
    int q;
    for (q = 0; q < 3; q++) {
      for (k = 0; k < 3; k++) {
        if (q == 1) {
          exec(db, "SELECT eventmd_config('cache_bytes', 0)");
          exec(db, "SELECT eventmd_config('cache_bytes', %lld)",
               (long long)2 << 30);
        }
        if (sqlite3_prepare_v2(db, qs[q], -1, &st, NULL) != SQLITE_OK)
          die("%s", sqlite3_errmsg(db));
        t = now();
        for (i = 0; i < nlook; i++) {
          sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
          sqlite3_bind_text(st, 2, look[i], -1, SQLITE_STATIC);
          if (sqlite3_step(st) != SQLITE_ROW)
            die("lookup of %s found nothing", look[i]);
          sqlite3_reset(st);
        }
        *out[q] = minf(*out[q], (now() - t) / (double)nlook);
        sqlite3_finalize(st);
      }
    }
  }
  run(db, q_events, NULL); /* all cached again */

  /* One day, one month, the month joined to its sources. */
  {
    sqlite3_stmt *p;
    sqlite3_prepare_v2(
        db,
        "SELECT date FROM ev WHERE date IS NOT NULL GROUP BY date "
        "ORDER BY count(*) DESC, date LIMIT 1",
        -1, &p, NULL);
    if (sqlite3_step(p) == SQLITE_ROW)
      snprintf(day, sizeof(day), "%s", sqlite3_column_text(p, 0));
    sqlite3_finalize(p);
    memcpy(month, day, 7);
    month[7] = 0;
  }
  run(db, q_meta, NULL); /* folder summaries current */
  sql = sqlite3_mprintf(
      "SELECT count(*) FROM eventmd_events('%q') WHERE date = '%q'", root, day);
  for (k = 0; k < 10; k++) t_day = minf(t_day, run(db, sql, NULL));
  sqlite3_free(sql);
  sql = sqlite3_mprintf(
      "SELECT count(*), sum(length(title)) FROM eventmd_events('%q') "
      "WHERE date BETWEEN '%q-01' AND '%q-31'",
      root, month, month);
  for (k = 0; k < 5; k++) t_month = minf(t_month, run(db, sql, &month_files));
  sqlite3_free(sql);
  sql = sqlite3_mprintf(
      "SELECT count(*), count(DISTINCT s.domain) FROM eventmd_events('%q') e "
      "JOIN eventmd_sources('%q') s ON s.event_path = e.path "
      "WHERE e.date BETWEEN '%q-01' AND '%q-31'",
      root, root, month, month);
  for (k = 0; k < 3; k++) {
    exec(db,
         "SELECT eventmd_config('cache_bytes', 0)"); /* each file parsed now */
    exec(db, "SELECT eventmd_config('cache_bytes', %lld)", (long long)2 << 30);
    exec(db, "SELECT eventmd_config('reset_stats')");
    t_join = minf(t_join, run(db, sql, NULL));
    join_parsed = stat_of(db, "files_parsed");
  }
  sqlite3_free(sql);
  {
    /* Expected parses: the month's files in day folders, plus every file
    ** outside day folders (read for its heading date). */
    sql = sqlite3_mprintf(
        "SELECT (SELECT count(*) FROM ev WHERE path GLOB '/news/*' "
        "AND date BETWEEN '%q-01' AND '%q-31') + "
        "(SELECT count(*) FROM ev WHERE path NOT GLOB '/news/*')",
        month, month);
    run(db, sql, &month_files);
    sqlite3_free(sql);
  }
  sqlite3_close(db);

  /* LIMIT 1 on a cold cache. */
  sql = sqlite3_mprintf("SELECT * FROM eventmd_events('%q') LIMIT 1", root);
  for (k = 0; k < 5; k++) {
    db = fresh();
    t_limit = minf(t_limit, run(db, sql, NULL));
    sqlite3_close(db);
  }
  sqlite3_free(sql);

  /* Peak RSS of a cold full scan: cache off at 20,000 and 100,000 files,
  ** and with the default cache (256 MiB) at 100,000. */
  rss20 = rss_child(argv[0], root20, 0);
  rss100 = rss_child(argv[0], root, 0);
  rss_cache = rss_child(argv[0], root, (long long)256 << 20);

  printf("  %-44s %14s  %36s  %-14s\n", "figure", "value", "ratio", "target");
  line("floor: read + cmark_parse_document, 1 thread", t_floor, "s", NULL, 0,
       NULL, 1);
  line("cold full scan, events", t_cold_ev, "s", "floor", t_cold_ev / t_floor,
       "<= 0.65", t_cold_ev / t_floor <= 0.65);
  line("cold full scan, sources", t_cold_src, "s", "floor",
       t_cold_src / t_floor, "<= 0.7", t_cold_src / t_floor <= 0.7);
  line("native table, events query", t_nat_ev, "s", NULL, 0, NULL, 1);
  line("warm full scan, events", t_warm_ev, "s", "native table",
       t_warm_ev / t_nat_ev, "<= 3", t_warm_ev / t_nat_ev <= 3);
  line("native table, sources query", t_nat_src, "s", NULL, 0, NULL, 1);
  line("warm full scan, sources", t_warm_src, "s", "native table",
       t_warm_src / t_nat_src, "<= 3", t_warm_src / t_nat_src <= 3);
  line("metadata-only scan", t_meta, "s", "floor", t_meta / t_floor, "<= 0.15",
       t_meta / t_floor <= 0.15 && meta_read == 0);
  printf("  %-44s %14lld\n", "  files read by it (eventmd_stats)",
         (long long)meta_read);
  line("native primary-key lookup, per lookup", t_look_nat, "us", NULL, 0, NULL,
       1);
  line("path lookup, warm, per lookup", t_look_warm, "us", "native PK lookup",
       t_look_warm / t_look_nat, "<= 10", t_look_warm / t_look_nat <= 10);
  line("one file's read + parse (floor / files)", per_file, "us", NULL, 0, NULL,
       1);
  line("path lookup, cold, per lookup", t_look_cold, "us", "one read + parse",
       t_look_cold / per_file, "<= 2", t_look_cold / per_file <= 2);
  line("one day (date =)", t_day, "ms", "cold full scan", t_day / t_cold_ev,
       "<= 0.001", t_day / t_cold_ev <= 0.001);
  line("one month (BETWEEN)", t_month, "ms", "cold full scan",
       t_month / t_cold_ev, NULL, 1);
  line("that month joined to sources, cold", t_join, "ms", "cold full scan",
       t_join / t_cold_ev, NULL, 1);
  printf(
      "  %-44s %14lld  (files in the month + outside day folders: %lld) %s\n",
      "  files parsed by the join", (long long)join_parsed,
      (long long)month_files, join_parsed == month_files ? "met" : "NOT MET");
  if (join_parsed != month_files) failures++;
  line("LIMIT 1, cold", t_limit, "ms", "cold full scan", t_limit / t_cold_ev,
       "< 0.001", t_limit / t_cold_ev < 0.001);
  line("peak RSS, cache off, 20,000 files", (double)rss20 / 1024, "MiB", NULL,
       0, "<= 64 MiB", rss20 <= 64 * 1024);
  line("peak RSS, cache off, 100,000 files", (double)rss100 / 1024, "MiB",
       "20,000 files", (double)rss100 / (double)rss20, "<= 1.1",
       rss100 <= 64 * 1024 && rss100 <= rss20 * 1.1);
  line("peak RSS, 256 MiB cache, 100,000 files", (double)rss_cache / 1024,
       "MiB", NULL, 0, "<= 320 MiB", rss_cache <= 320 * 1024);
  printf("\nday %s, month %s; %d target%s not met\n", day, month, failures,
         failures == 1 ? "" : "s");
  sqlite3_free(q_events);
  sqlite3_free(q_sources);
  sqlite3_free(q_meta);
  return failures ? 1 : 0;
}
