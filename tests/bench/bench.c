/* SPDX-License-Identifier: MIT */
/*
** bench.c - eventmd's benchmark (make bench).  Not a test: it measures and
** prints each figure with its ratio to its reference, all in one run, and
** says whether each target is met.
**
**   build/bench CORPUS_100K/archive CORPUS_20K/archive CORPUS_BIG/archive
**
** CORPUS_* are folders made by tests/corpus/gen_corpus.py (kept between runs):
**   100K  the bench corpus (issue 3, issue 9 part 7, issue 11 parts 3-5);
**   20K   peak RSS at a fifth of the size;
**   BIG   a corpus whose cached size exceeds the default cache bound
**         (issue 11 parts 1-2; the bench checks that it does, and says how
**         many files to generate when it does not).
** Times are the best of several runs (the machine is shared); every ratio
** compares figures measured side by side in this run, interleaved.
**
** Child modes (a new process is a fork/exec of this binary):
**   build/bench --rss ROOT CACHE_BYTES       peak RSS of a cold full scan
**   build/bench --scan ROOT CACHE_FILE|- MARKER|-
**                                            the first full scan of a new
**                                            process, with or without the
**                                            persistent cache file
**
** The issue 11 part 4 figures rewrite 10 event files of the 100K corpus;
** their pristine bytes and times are kept in CORPUS_100K/bench-pristine/
** until they are put back (at the end of the run, or at the start of the
** next one if this one was interrupted), so the corpus stays as generated.
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
#include <sys/wait.h>
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
  fflush(stdout);
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
  int noparse;  /* read only (to fill the page cache), no parse */
  char **paths; /* with paths != NULL: collect event paths instead */
  long npaths, cap;
  size_t rootlen;
} floor_acc;

/* A whole file, NUL-terminated (the caller frees it). */
static char *slurp(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  char *buf;
  ssize_t got;
  if (fd < 0 || fstat(fd, &st) != 0) die("cannot read %s", path);
  buf = malloc((size_t)st.st_size + 1);
  got = read(fd, buf, (size_t)st.st_size);
  close(fd);
  if (got != st.st_size) die("short read of %s", path);
  buf[got] = 0;
  *len = (size_t)got;
  return buf;
}

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
        size_t len;
        char *buf = slurp(path, &len);
        if (!acc->noparse) {
          cmark_node *doc = cmark_parse_document(buf, len, CMARK_OPT_DEFAULT);
          cmark_node_free(doc);
        }
        free(buf);
        acc->files++;
        acc->bytes += len;
      }
    }
  }
  closedir(d);
}

/* The event files under root, as paths relative to it ("/news/..."). */
static floor_acc list_events(const char *root) {
  floor_acc list;
  memset(&list, 0, sizeof(list));
  list.rootlen = strlen(root);
  list.paths = malloc(sizeof(char *));
  list.cap = 1;
  floor_dir(root, &list);
  return list;
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

#define GIB ((long long)1 << 30)
#define MIB ((double)(1 << 20))

/* A connection with an empty cache big enough to hold the 100,000-file
** corpus (the issue 3 figures). */
static sqlite3 *fresh(void) {
  sqlite3 *db = open_db();
  exec(db, "SELECT eventmd_config('cache_bytes', %lld)", 2 * GIB);
  return db;
}

/* A native table ev holding the rows of eventmd_events(root): every column
** the virtual table shows, path the primary key, and eventmd's rowids. */
static void make_native(sqlite3 *db, const char *root) {
  sqlite3_stmt *st;
  sqlite3_str *create = sqlite3_str_new(db), *names = sqlite3_str_new(db);
  char *sql =
      sqlite3_mprintf("SELECT * FROM eventmd_events('%q') LIMIT 0", root);
  char *c, *n;
  int i;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    die("%s: %s", sql, sqlite3_errmsg(db));
  sqlite3_free(sql);
  for (i = 0; i < sqlite3_column_count(st); i++) {
    const char *name = sqlite3_column_name(st, i);
    sqlite3_str_appendf(create, "%s\"%w\"%s", i ? ", " : "", name,
                        strcmp(name, "path") ? "" : " TEXT PRIMARY KEY");
    sqlite3_str_appendf(names, ", \"%w\"", name);
  }
  sqlite3_finalize(st);
  c = sqlite3_str_finish(create);
  n = sqlite3_str_finish(names);
  exec(db, "CREATE TABLE ev(%s)", c);
  exec(db, "INSERT INTO ev(rowid%s) SELECT rowid, * FROM eventmd_events('%q')",
       n, root);
  sqlite3_free(c);
  sqlite3_free(n);
}

/* One page as a browser asks for it (prepared each time, as Datasette
** does): the first (first != 0) or the one after rowid `after`.  Returns
** seconds; *last is the page's last rowid, *rows its row count. */
static double page(sqlite3 *db, const char *table, int first,
                   sqlite3_int64 after, sqlite3_int64 *last, int *rows) {
  char sql[256];
  sqlite3_stmt *st;
  double t0;
  int rc;
  snprintf(sql, sizeof(sql),
           first ? "SELECT rowid, * FROM %s ORDER BY rowid LIMIT 101"
                 : "SELECT rowid, * FROM %s WHERE rowid > ?1 "
                   "ORDER BY rowid LIMIT 101",
           table);
  *rows = 0;
  t0 = now();
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    die("%s: %s", sql, sqlite3_errmsg(db));
  if (!first) sqlite3_bind_int64(st, 1, after);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    *last = sqlite3_column_int64(st, 0);
    (*rows)++;
  }
  if (rc != SQLITE_DONE) die("%s: %s", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return now() - t0;
}

/* ------------------------------------------------------------------------
** Report: rows are collected by section and printed at the end as one
** table.
*/
enum { SEC_I3, SEC_SIZE, SEC_WARM, SEC_FILE, SEC_PAGES, NSEC };
static const char *const sec_title[NSEC] = {
    "issue 3 figures; issue 9 part 7 (cold full scan, one day, LIMIT 1)",
    "issue 11 parts 1-2: cache size, scan resistance (corpus > default bound)",
    "issue 11 part 3: warm, default settings",
    "issue 11 part 4: a new process with the cache file",
    "issue 11 part 5: browsing (Datasette's queries on temp.events)",
};
#define MAX_ROWS 128
static struct {
  int sec;
  char text[400];
} rows[MAX_ROWS];
static int nrows, failures;

static void out_row(int sec, const char *corpus, const char *what,
                    const char *value, const char *ratio, const char *target,
                    int ok) {
  char buf[400];
  int n = snprintf(buf, sizeof(buf), "  %-5s %-46s %14s  %-34s", corpus, what,
                   value, ratio ? ratio : "");
  if (target && n > 0 && n < (int)sizeof(buf)) {
    snprintf(buf + n, sizeof(buf) - (size_t)n, "  %-14s %s", target,
             ok ? "met" : "NOT MET");
    if (!ok) failures++;
  }
  n = (int)strlen(buf);
  while (n > 0 && buf[n - 1] == ' ') buf[--n] = 0;
  if (nrows == MAX_ROWS) die("too many rows");
  rows[nrows].sec = sec;
  snprintf(rows[nrows].text, sizeof(rows[nrows].text), "%s", buf);
  nrows++;
}

/* A figure: value in unit (s, ms, us: given in seconds; MiB, MB, %, x: as
** is), its ratio to ratio_of (NULL: none), its target (NULL: none). */
static void line(int sec, const char *corpus, const char *what, double value,
                 const char *unit, const char *ratio_of, double ratio,
                 const char *target, int ok) {
  char v[64], r[64];
  if (!strcmp(unit, "s"))
    snprintf(v, sizeof(v), "%.4f s", value);
  else if (!strcmp(unit, "ms"))
    snprintf(v, sizeof(v), "%.3f ms", value * 1e3);
  else if (!strcmp(unit, "us"))
    snprintf(v, sizeof(v), "%.1f us", value * 1e6);
  else if (!strcmp(unit, "%"))
    snprintf(v, sizeof(v), "%.1f %%", value);
  else
    snprintf(v, sizeof(v), "%.1f %s", value, unit);
  if (ratio_of) snprintf(r, sizeof(r), "%9.4f x %-22s", ratio, ratio_of);
  out_row(sec, corpus, what, v, ratio_of ? r : NULL, target, ok);
}

/* A line whose value is text (counts, "not available"). */
static void note(int sec, const char *corpus, const char *what,
                 const char *value, const char *ratio, const char *target,
                 int ok) {
  out_row(sec, corpus, what, value, ratio, target, ok);
}

/* ------------------------------------------------------------------------
** Child processes: a fork/exec of this binary with a mode argument, its
** standard output read back.
*/
static int child(char *const args[], char *out, size_t n) {
  int fds[2], status;
  pid_t pid;
  size_t len = 0;
  ssize_t got;
  fflush(stdout);
  if (pipe(fds) != 0) die("pipe: %s", strerror(errno));
  pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execv("/proc/self/exe", args);
    _exit(127);
  }
  close(fds[1]);
  while (len + 1 < n && (got = read(fds[0], out + len, n - 1 - len)) > 0)
    len += (size_t)got;
  out[len] = 0;
  close(fds[0]);
  if (waitpid(pid, &status, 0) < 0) die("waitpid: %s", strerror(errno));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
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
static long rss_child(const char *root, long long cache) {
  char bytes[32], out[256];
  char *args[] = {"bench", "--rss", (char *)root, bytes, NULL};
  long kib[5];
  int i;
  snprintf(bytes, sizeof(bytes), "%lld", cache);
  for (i = 0; i < 5; i++)
    if (child(args, out, sizeof(out)) != 0 || sscanf(out, "%ld", &kib[i]) != 1)
      die("rss child failed");
  qsort(kib, 5, sizeof(long), cmp_long);
  return kib[2];
}

/* This process's peak RSS (VmHWM, KiB): its own, from exec on. */
static long vm_hwm(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char buf[256];
  long kib = -1;
  while (f && fgets(buf, sizeof(buf), f))
    if (!strncmp(buf, "VmHWM:", 6)) kib = strtol(buf + 6, NULL, 10);
  if (f) fclose(f);
  return kib;
}

static char *events_query(const char *root) {
  return sqlite3_mprintf(
      "SELECT count(*), sum(length(title)), sum(length(summary)) "
      "FROM eventmd_events('%q')",
      root);
}

static int rss_main(const char *root, const char *cache) {
  sqlite3 *db = open_db();
  char *sql = events_query(root);
  exec(db, "SELECT eventmd_config('cache_bytes', %s)", cache);
  run(db, sql, NULL);
  sqlite3_free(sql);
  sqlite3_close(db);
  printf("%ld\n", vm_hwm());
  return 0;
}

/* ------------------------------------------------------------------------
** The first full events scan of a new process (issue 11 part 4), with the
** cache file cf ("-": none, default settings otherwise).  Prints
**   OK seconds files_parsed files_read marked close_seconds cache_file_hits
** where seconds covers opening the cache file and the scan, and marked is
** the number of titles containing marker (-1 for "-"); or
**   NA message
** when eventmd_config('cache_file', cf) fails.
*/
static int scan_main(const char *root, const char *cf, const char *marker) {
  sqlite3 *db = open_db();
  char *sql = events_query(root), *err = NULL;
  sqlite3_int64 marked = -1, parsed, nread, fhits;
  double t0, t_scan, t1;
  t0 = now();
  if (strcmp(cf, "-") != 0) {
    char *set = sqlite3_mprintf("SELECT eventmd_config('cache_file', %Q)", cf);
    if (sqlite3_exec(db, set, NULL, NULL, &err) != SQLITE_OK) {
      printf("NA %s\n", err ? err : "?");
      return 0;
    }
    sqlite3_free(set);
  }
  run(db, sql, NULL);
  t_scan = now() - t0;
  sqlite3_free(sql);
  parsed = stat_of(db, "files_parsed");
  nread = stat_of(db, "files_read");
  /* Records taken from the cache file: asked one by one, or warmed. */
  fhits = stat_of(db, "cache_file_hits") + stat_of(db, "cache_file_warmed");
  if (strcmp(marker, "-") != 0) {
    sql = sqlite3_mprintf(
        "SELECT count(*) FROM eventmd_events('%q') WHERE instr(title, %Q)",
        root, marker);
    run(db, sql, &marked);
    sqlite3_free(sql);
  }
  t1 = now();
  sqlite3_close(db); /* writes what is queued for the cache file */
  printf("OK %.6f %lld %lld %lld %.6f %lld\n", t_scan, (long long)parsed,
         (long long)nread, (long long)marked, now() - t1, (long long)fhits);
  return 0;
}

typedef struct scan_res {
  int ok; /* 0: not available, msg says why */
  char msg[512];
  double secs, close_secs;
  long long parsed, nread, marked, fhits;
} scan_res;

static void scan_child(const char *root, const char *cf, const char *marker,
                       scan_res *r) {
  char out[1024];
  char *args[] = {"bench",    "--scan",       (char *)root,
                  (char *)cf, (char *)marker, NULL};
  memset(r, 0, sizeof(*r));
  if (child(args, out, sizeof(out)) != 0) die("scan child failed: %s", out);
  if (!strncmp(out, "NA ", 3)) {
    size_t n = strcspn(out + 3, "\n");
    snprintf(r->msg, sizeof(r->msg), "%.*s", (int)n, out + 3);
    return;
  }
  if (sscanf(out, "OK %lf %lld %lld %lld %lf %lld", &r->secs, &r->parsed,
             &r->nread, &r->marked, &r->close_secs, &r->fhits) != 6)
    die("scan child said: %s", out);
  r->ok = 1;
}

/* ------------------------------------------------------------------------
** Ten event files rewritten with new content, and put back as they were
** (bytes, access and modification times) from DIR/bench-pristine/.
*/
#define NCHANGED 10
#define NROUNDS 5 /* of the cache file figures */

static void spit(const char *path, const char *buf, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd) != 0)
    die("cannot write %s: %s", path, strerror(errno));
}

/* Put back what an earlier run left in pristine/ (its manifest lists
** "atime_s atime_ns mtime_s mtime_ns relpath" per file, the copy being
** pristine/N). */
static void restore_pristine(const char *root, const char *pristine) {
  char path[8192], rel[4096], copy[8192];
  FILE *m;
  long long as, an, ms, mn;
  int i = 0;
  snprintf(path, sizeof(path), "%s/manifest", pristine);
  m = fopen(path, "r");
  if (!m) {
    rmdir(pristine); /* an empty one from a run stopped early */
    return;
  }
  while (fscanf(m, "%lld %lld %lld %lld %4000[^\n]\n", &as, &an, &ms, &mn,
                rel) == 5) {
    struct timespec ts[2];
    size_t len;
    char *buf;
    snprintf(copy, sizeof(copy), "%s/%d", pristine, i++);
    snprintf(path, sizeof(path), "%s%s", root, rel);
    buf = slurp(copy, &len);
    spit(path, buf, len);
    free(buf);
    ts[0].tv_sec = (time_t)as;
    ts[0].tv_nsec = (long)an;
    ts[1].tv_sec = (time_t)ms;
    ts[1].tv_nsec = (long)mn;
    if (utimensat(AT_FDCWD, path, ts, 0) != 0)
      die("utimensat %s: %s", path, strerror(errno));
    unlink(copy);
  }
  fclose(m);
  snprintf(path, sizeof(path), "%s/manifest", pristine);
  unlink(path);
  if (rmdir(pristine) != 0) die("cannot remove %s", pristine);
}

typedef struct changed {
  char *rel;   /* relative path */
  char *bytes; /* pristine content */
  size_t len;
  size_t eol; /* end of its H1 line */
} changed;

/* Choose NCHANGED event files spread over the corpus, each with an H1 line,
** and keep their pristine bytes and times in pristine/. */
static void save_pristine(const char *root, const char *pristine, char **paths,
                          long npaths, changed *ch) {
  char path[8192], copy[8192];
  FILE *m;
  int i;
  if (mkdir(pristine, 0755) != 0)
    die("cannot make %s: %s", pristine, strerror(errno));
  for (i = 0; i < NCHANGED; i++) {
    long at = (long)((2 * i + 1) * (npaths / (2 * NCHANGED)));
    for (;; at++) {
      const char *h1;
      if (at >= npaths) die("no event file with a title to change");
      snprintf(path, sizeof(path), "%s%s", root, paths[at]);
      ch[i].bytes = slurp(path, &ch[i].len);
      h1 = !strncmp(ch[i].bytes, "# ", 2) ? ch[i].bytes
                                          : strstr(ch[i].bytes, "\n# ");
      if (h1) {
        /* The title's end: before "\n", or "\r\n" (some files have CRLF
        ** line endings, and a lone "\r" also ends a line). */
        ch[i].eol = (size_t)(strchrnul(h1 + 1, '\n') - ch[i].bytes);
        if (ch[i].eol > 0 && ch[i].bytes[ch[i].eol - 1] == '\r') ch[i].eol--;
        break;
      }
      free(ch[i].bytes);
    }
    ch[i].rel = paths[at];
    snprintf(copy, sizeof(copy), "%s/%d", pristine, i);
    spit(copy, ch[i].bytes, ch[i].len);
  }
  /* The manifest last: present means every copy is complete. */
  snprintf(path, sizeof(path), "%s/manifest.tmp", pristine);
  m = fopen(path, "w");
  if (!m) die("cannot write %s", path);
  for (i = 0; i < NCHANGED; i++) {
    struct stat st;
    snprintf(copy, sizeof(copy), "%s%s", root, ch[i].rel);
    if (stat(copy, &st) != 0) die("stat %s", copy);
    fprintf(m, "%lld %ld %lld %ld %s\n", (long long)st.st_atim.tv_sec,
            st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec,
            st.st_mtim.tv_nsec, ch[i].rel);
  }
  if (fclose(m) != 0) die("cannot write %s", path);
  snprintf(copy, sizeof(copy), "%s/manifest", pristine);
  if (rename(path, copy) != 0) die("rename %s", path);
}

/* Rewrite the chosen files: their title gains marker. */
static void rewrite(const char *root, const changed *ch, const char *marker) {
  char path[4096];
  int i;
  for (i = 0; i < NCHANGED; i++) {
    size_t ml = strlen(marker);
    char *buf = malloc(ch[i].len + ml + 2);
    memcpy(buf, ch[i].bytes, ch[i].eol);
    buf[ch[i].eol] = ' ';
    memcpy(buf + ch[i].eol + 1, marker, ml);
    memcpy(buf + ch[i].eol + 1 + ml, ch[i].bytes + ch[i].eol,
           ch[i].len - ch[i].eol);
    snprintf(path, sizeof(path), "%s%s", root, ch[i].rel);
    spit(path, buf, ch[i].len + ml + 1);
    free(buf);
  }
}

static void remove_db(const char *path) {
  const char *sfx[] = {"", "-wal", "-shm", "-journal"};
  char p[4096];
  int i;
  for (i = 0; i < 4; i++) {
    snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
    if (unlink(p) != 0 && errno != ENOENT) die("cannot remove %s", p);
  }
}

/* The folder above root (the corpus folder: root is CORPUS/archive). */
static char *parent_of(const char *root) {
  char *p = strdup(root), *slash;
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/') p[--n] = 0;
  slash = strrchr(p, '/');
  if (!slash) {
    free(p);
    return strdup(".");
  }
  if (slash == p)
    slash[1] = 0;
  else
    *slash = 0;
  return p;
}

static const char *tag_of(long files, char *buf, size_t n) {
  snprintf(buf, n, "%ldk", files / 1000);
  return buf;
}

/* ------------------------------------------------------------------------
** Issue 11 parts 1-2, and the default bound, on the corpus that needs more
** than the default bound.
*/
static void big_corpus(const char *big, long long def_bound) {
  char tag[32], buf[160], rbuf[160];
  floor_acc acc;
  sqlite3 *u, *db;
  char *q = events_query(big);
  sqlite3_int64 cached, entries, nrows_big = 0, parsed1;
  sqlite3_int64 evicted = 0, rejected = 0, hits = 0, misses = 0, parsed23 = 0;
  sqlite3_int64 dhits = 0, dmisses = 0, dparsed = 0;
  long long half;
  double t_off = 1e9, t_evict = 1e9, t_again = 1e9, t_nat = 1e9, t_def = 1e9;
  int k;

  /* The page cache warm: read every file once (no parse). */
  memset(&acc, 0, sizeof(acc));
  acc.noparse = 1;
  floor_dir(big, &acc);
  tag_of(acc.files, tag, sizeof(tag));
  printf("  %-5s %ld event files (%.0f MB) in %s\n", tag, acc.files,
         (double)acc.bytes / 1e6, big);

  /* 1. One full scan with an unbounded cache: what the archive needs. */
  u = open_db();
  exec(u, "SELECT eventmd_config('cache_bytes', %lld)", 1024 * GIB);
  run(u, q, &nrows_big);
  cached = stat_of(u, "cache_bytes");
  entries = stat_of(u, "cache_entries");
  parsed1 = stat_of(u, "files_parsed");
  if (cached <= def_bound)
    die("the %ld-file corpus %s caches %.1f MiB, not more than the default "
        "bound of %.1f MiB: generate at least %.0f files (make bench "
        "BENCH_BIG=N)",
        acc.files, big, (double)cached / MIB, (double)def_bound / MIB,
        1.1 * (double)def_bound / ((double)cached / (double)acc.files));
  make_native(u, big); /* the native table, from the warm cache */
  exec(u, "SELECT eventmd_config('cache_bytes', 0)");

  line(SEC_SIZE, tag, "event files' bytes (sum of sizes)",
       (double)acc.bytes / MIB, "MiB", NULL, 0, NULL, 1);
  line(SEC_SIZE, tag, "1. cache bytes after a full scan, unbounded",
       (double)cached / MIB, "MiB", "event files' bytes",
       (double)cached / (double)acc.bytes, "<= 1.0",
       (double)cached <= (double)acc.bytes);
  snprintf(buf, sizeof(buf), "%lld", (long long)entries);
  snprintf(rbuf, sizeof(rbuf), "(of %lld rows; %lld files parsed)",
           (long long)nrows_big, (long long)parsed1);
  note(SEC_SIZE, tag, "  cache entries", buf, rbuf, NULL, 1);
  line(SEC_SIZE, tag, "  default bound (eventmd_config, fresh conn)",
       (double)def_bound / MIB, "MiB", NULL, 0, NULL, 1);
  line(SEC_SIZE, tag, "  corpus check: cached size vs default bound",
       (double)cached / MIB, "MiB", "default bound",
       (double)cached / (double)def_bound, "> 1", cached > def_bound);

  /* 2. The bound at half of that: the first scan (evicting) against the
  ** same scan with the cache off, interleaved (alternating which goes
  ** first), best of 5; then two more
  ** scans of the first connection, whose hit ratio counts. */
  half = (long long)cached / 2;
  for (k = 0; k < 5; k++) {
    int j;
    for (j = 0; j < 2; j++) {
      db = open_db();
      if ((j ^ k) & 1) {
        exec(db, "SELECT eventmd_config('cache_bytes', 0)");
        t_off = minf(t_off, run(db, q, NULL));
      } else {
        exec(db, "SELECT eventmd_config('cache_bytes', %lld)", half);
        t_evict = minf(t_evict, run(db, q, NULL));
        evicted = stat_of(db, "cache_evicted");
        rejected = stat_of(db, "cache_rejected");
        if (k == 0) {
          exec(db, "SELECT eventmd_config('reset_stats')");
          t_again = minf(t_again, run(db, q, NULL));
          t_again = minf(t_again, run(db, q, NULL));
          hits = stat_of(db, "cache_hits");
          misses = stat_of(db, "cache_misses");
          parsed23 = stat_of(db, "files_parsed");
        }
      }
      sqlite3_close(db);
    }
  }
  line(SEC_SIZE, tag, "2. half of that: the bound", (double)half / MIB, "MiB",
       NULL, 0, NULL, 1);
  line(SEC_SIZE, tag, "   full scan, cache off", t_off, "s", NULL, 0, NULL, 1);
  line(SEC_SIZE, tag, "   first full scan at the half bound", t_evict, "s",
       "cache off", t_evict / t_off, "<= 1.10", t_evict / t_off <= 1.10);
  snprintf(buf, sizeof(buf), "%lld / %lld", (long long)evicted,
           (long long)rejected);
  note(SEC_SIZE, tag, "     entries evicted / not admitted by it", buf, NULL,
       NULL, 1);
  line(SEC_SIZE, tag, "   2nd and 3rd full scans: hit ratio",
       100.0 * (double)hits / (double)(hits + misses), "%", NULL, 0, ">= 40 %",
       100.0 * (double)hits >= 40.0 * (double)(hits + misses));
  snprintf(buf, sizeof(buf), "%lld", (long long)parsed23);
  snprintf(rbuf, sizeof(rbuf), "(hits %lld, misses %lld)", (long long)hits,
           (long long)misses);
  note(SEC_SIZE, tag, "     files parsed by those two scans", buf, rbuf, NULL,
       1);
  line(SEC_SIZE, tag, "   2nd/3rd full scan (best)", t_again, "s", "cache off",
       t_again / t_off, NULL, 1);

  /* The default bound: a repeated full scan (no target of its own). */
  db = open_db();
  run(db, q, NULL);
  exec(db, "SELECT eventmd_config('reset_stats')");
  for (k = 0; k < 4; k++) {
    t_nat = minf(t_nat, run(u,
                            "SELECT count(*), sum(length(title)), "
                            "sum(length(summary)) FROM ev",
                            NULL));
    t_def = minf(t_def, run(db, q, NULL));
    if (k == 1) {
      dhits = stat_of(db, "cache_hits");
      dmisses = stat_of(db, "cache_misses");
      dparsed = stat_of(db, "files_parsed");
    }
  }
  sqlite3_close(db);
  sqlite3_close(u);
  line(SEC_SIZE, tag, "default bound: 2nd, 3rd full scans: hit ratio",
       100.0 * (double)dhits / (double)(dhits + dmisses), "%", NULL, 0, NULL,
       1);
  snprintf(buf, sizeof(buf), "%lld", (long long)dparsed);
  snprintf(rbuf, sizeof(rbuf), "(hits %lld, misses %lld)", (long long)dhits,
           (long long)dmisses);
  note(SEC_SIZE, tag, "  files parsed by those two scans", buf, rbuf, NULL, 1);
  line(SEC_SIZE, tag, "  native table, events query", t_nat, "s", NULL, 0, NULL,
       1);
  line(SEC_SIZE, tag, "  repeated full scan at the default bound", t_def, "s",
       "native table", t_def / t_nat, NULL, 1);
  sqlite3_free(q);
}

/* "a/b/c" (with prefix; a ")" closes a prefix that opens one). */
static void joined(char *buf, size_t size, const char *prefix,
                   const long long *v, int n) {
  size_t at = (size_t)snprintf(buf, size, "%s", prefix);
  int i;
  for (i = 0; i < n && at < size; i++)
    at += (size_t)snprintf(buf + at, size - at, "%s%lld", i ? "/" : "", v[i]);
  if (strchr(prefix, '(') && at < size) snprintf(buf + at, size - at, ")");
}

/* ------------------------------------------------------------------------
** Issue 11 part 4: new processes with the cache file, on root (the
** 100,000-file corpus).
*/
static void cache_file_figures(const char *root, const char *tag, char **paths,
                               long npaths) {
  char *dir = parent_of(root), cf[4096], pristine[4096], marker[64];
  char buf[160], rbuf[160];
  scan_res r, first;
  changed ch[NCHANGED];
  double t_cold = 1e9, t_same = 1e9, t_chg = 1e9;
  long long parsed_same[NROUNDS], parsed_chg[NROUNDS], fhits_same[NROUNDS],
      fhits_chg[NROUNDS], marked[NROUNDS];
  int k, i, seen_ok = 1;

  snprintf(cf, sizeof(cf), "%s/bench-cachefile.db", dir);
  snprintf(pristine, sizeof(pristine), "%s/bench-pristine", dir);
  restore_pristine(root, pristine); /* an interrupted run's changes */
  remove_db(cf);

  /* A new process writes the cache file (its first scan, one run). */
  scan_child(root, cf, "-", &first);
  if (!first.ok) {
    char why[96];
    int unknown = strstr(first.msg, "unknown setting") ||
                  strstr(first.msg, "must be an integer");
    snprintf(why, sizeof(why), "%.90s",
             unknown ? "(not available in this build)" : first.msg);
    note(SEC_FILE, tag, "new process, cache file, archive unchanged", "-", why,
         "<= 0.2", 0);
    note(SEC_FILE, tag, "new process, cache file, 10 files changed", "-", why,
         "<= 0.25", 0);
    if (!unknown) note(SEC_FILE, tag, "  eventmd said", "", first.msg, NULL, 1);
    remove_db(cf);
    free(dir);
    return;
  }

  /* Rounds, each: a cold new process (no cache file); a new process with
  ** the cache file over the unchanged archive; 10 files rewritten; a new
  ** process with the cache file again. */
  save_pristine(root, pristine, paths, npaths, ch);
  for (k = 0; k < NROUNDS; k++) {
    scan_child(root, "-", "-", &r);
    t_cold = minf(t_cold, r.secs);
    scan_child(root, cf, "-", &r);
    t_same = minf(t_same, r.secs);
    parsed_same[k] = r.parsed;
    fhits_same[k] = r.fhits;
    snprintf(marker, sizeof(marker), "(bench edit %d)", k + 1);
    rewrite(root, ch, marker);
    /* Past the timestamps' grain (2 s): the new versions can be cached and
    ** written to the cache file as trusted (an edit made just before the
    ** process starts is re-read by content by every later process). */
    usleep(2100000);
    scan_child(root, cf, marker, &r);
    t_chg = minf(t_chg, r.secs);
    parsed_chg[k] = r.parsed;
    fhits_chg[k] = r.fhits;
    marked[k] = r.marked;
    if (r.marked != NCHANGED) seen_ok = 0;
  }
  restore_pristine(root, pristine);
  for (i = 0; i < NCHANGED; i++) free(ch[i].bytes);
  remove_db(cf);

  line(SEC_FILE, tag, "cold full scan, events, in a new process", t_cold, "s",
       NULL, 0, NULL, 1);
  line(SEC_FILE, tag, "new process writing a new cache file (1 run)",
       first.secs, "s", "cold, new process", first.secs / t_cold, NULL, 1);
  line(SEC_FILE, tag, "new process, cache file, archive unchanged", t_same, "s",
       "cold, new process", t_same / t_cold, "<= 0.2", t_same / t_cold <= 0.2);
  joined(buf, sizeof(buf), "", parsed_same, NROUNDS);
  joined(rbuf, sizeof(rbuf), "(records from the cache file ", fhits_same,
         NROUNDS);
  note(SEC_FILE, tag, "  files parsed by it, each run", buf, rbuf, NULL, 1);
  line(SEC_FILE, tag, "new process, cache file, 10 files changed", t_chg, "s",
       "cold, new process", t_chg / t_cold, "<= 0.25", t_chg / t_cold <= 0.25);
  joined(buf, sizeof(buf), "", parsed_chg, NROUNDS);
  joined(rbuf, sizeof(rbuf), "(records from the cache file ", fhits_chg,
         NROUNDS);
  note(SEC_FILE, tag, "  files parsed by it, each run", buf, rbuf, NULL, 1);
  joined(buf, sizeof(buf), "", marked, NROUNDS);
  snprintf(rbuf, sizeof(rbuf), "(of %d changed, each run)", NCHANGED);
  note(SEC_FILE, tag, "  changed titles it showed", buf, rbuf, "all 10",
       seen_ok);
  free(dir);
}

/* ------------------------------------------------------------------------
** The benchmark.
*/
#define NPAGES 20

int main(int argc, char **argv) {
  const char *root, *root20, *big;
  char *q_events, *q_sources, *q_meta, *sql, *q_limit;
  double t_floor = 1e9, t_cold_ev = 1e9, t_cold_src = 1e9, t_warm_ev = 1e9,
         t_warm_src = 1e9, t_nat_ev = 1e9, t_nat_src = 1e9, t_meta = 1e9, t;
  double t_look_warm = 1e9, t_look_cold = 1e9, t_look_nat = 1e9,
         t_look_def = 1e9, t_day = 1e9, t_month = 1e9, t_join = 1e9,
         t_limit = 1e9, per_file;
  double t_dwarm_ev = 1e9, t_dwarm_src = 1e9, t_page1 = 1e9, t_count = 1e9;
  double t_visit[NPAGES], t_pg[NPAGES], t_pg_nat[NPAGES];
  floor_acc acc, list;
  sqlite3 *db, *dbd;
  sqlite3_stmt *st;
  sqlite3_int64 n = 0, meta_read = -1, join_parsed = -1, month_files = 0;
  sqlite3_int64 d_stated = -1, d_unstated = -1, d_hits = -1;
  long long count_read = 0, count_stated = 0, count_rows = -1;
  long rss20, rss100, rss_cache;
  long long def_bound;
  int i, k;
  char day[16] = "", month[8] = "", tag[32], buf[160], rbuf[160];
  long nlook = 1000;
  char **look;

  if (argc == 4 && !strcmp(argv[1], "--rss")) return rss_main(argv[2], argv[3]);
  if (argc == 5 && !strcmp(argv[1], "--scan"))
    return scan_main(argv[2], argv[3], argv[4]);
  if (argc != 4)
    die("usage: bench CORPUS_100K/archive CORPUS_20K/archive "
        "CORPUS_BIG/archive");
  root = argv[1];
  root20 = argv[2];
  big = argv[3];
  /* Every figure but the cache file's own is without one. */
  unsetenv("EVENTMD_CACHE_FILE");
  q_events = events_query(root);
  q_sources = sqlite3_mprintf(
      "SELECT count(*), count(DISTINCT domain) "
      "FROM eventmd_sources('%q')",
      root);
  q_meta = sqlite3_mprintf(
      "SELECT count(*), max(mtime) FROM eventmd_events('%q')", root);
  q_limit = sqlite3_mprintf("SELECT * FROM eventmd_events('%q') LIMIT 1", root);
  for (i = 0; i < NPAGES; i++) t_visit[i] = t_pg[i] = t_pg_nat[i] = 1e9;

  /* Warm the page cache (every figure reads files from memory), and list
  ** the event paths for the lookups. */
  memset(&acc, 0, sizeof(acc));
  list = list_events(root);
  if (list.npaths < 100000)
    die("%s holds only %ld event files", root, list.npaths);
  floor_dir(root, &acc); /* read + parse once: page cache warm */
  /* 1,000 paths spread over the corpus. */
  look = malloc((size_t)nlook * sizeof(char *));
  for (i = 0; i < nlook; i++)
    look[i] = list.paths[(size_t)i * (size_t)list.npaths / (size_t)nlook];
  tag_of(list.npaths, tag, sizeof(tag));
  db = open_db();
  run(db, "SELECT eventmd_config('cache_bytes')", &n);
  def_bound = (long long)n;
  sqlite3_close(db);
  printf("eventmd %s benchmark, %d CPUs; default cache bound %.1f MiB\n",
         EVENTMD_VERSION, (int)sysconf(_SC_NPROCESSORS_ONLN),
         (double)def_bound / MIB);
  printf("  %-5s %ld event files (%.0f MB) in %s\n", tag, list.npaths,
         (double)acc.bytes / 1e6, root);
  {
    floor_acc l20 = list_events(root20);
    char t20[32];
    printf("  %-5s %ld event files in %s (peak RSS only)\n",
           tag_of(l20.npaths, t20, sizeof(t20)), l20.npaths, root20);
  }

  /* Issue 11 parts 1-2 first: they fail early on too small a corpus. */
  big_corpus(big, def_bound);

  /* Floor, cold scans, LIMIT 1, the first page and the pages after it (not
  ** yet cached), count(*): interleaved, best of 5. */
  for (k = 0; k < 5; k++) {
    sqlite3_int64 last = 0, v;
    int nr;
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
    for (i = 0; i < 2; i++) {
      db = fresh();
      t_limit = minf(t_limit, run(db, q_limit, NULL));
      sqlite3_close(db);
    }
    db = open_db(); /* default settings, as a browser's connection */
    exec(db, "SELECT eventmd_attach('%q')", root);
    t_page1 = minf(t_page1, page(db, "events", 1, 0, &last, &nr));
    for (i = 0; i < NPAGES; i++)
      t_visit[i] = minf(t_visit[i], page(db, "events", 0, last, &last, &nr));
    sqlite3_close(db);
    db = open_db();
    exec(db, "SELECT eventmd_attach('%q')", root);
    exec(db, "SELECT eventmd_config('reset_stats')");
    t_count = minf(t_count, run(db, "SELECT count(*) FROM events", &v));
    count_rows = (long long)v;
    count_read += stat_of(db, "files_read");
    count_stated += stat_of(db, "files_stated");
    sqlite3_close(db);
  }
  per_file = t_floor / (double)acc.files;

  /* The native tables, and two warm connections: the issue 3 one (a 2 GiB
  ** bound) and one with default settings (issue 11 part 3). */
  db = fresh();
  make_native(db, root);
  exec(db, "CREATE TABLE src AS SELECT * FROM eventmd_sources('%q')", root);
  run(db, q_events, NULL);
  run(db, q_sources, NULL);
  dbd = open_db();
  run(dbd, q_events, NULL);
  run(dbd, q_sources, NULL);
  for (k = 0; k < 5; k++) {
    t_warm_ev = minf(t_warm_ev, run(db, q_events, NULL));
    t_dwarm_ev = minf(t_dwarm_ev, run(dbd, q_events, NULL));
    t_nat_ev = minf(t_nat_ev, run(db,
                                  "SELECT count(*), sum(length(title)), "
                                  "sum(length(summary)) FROM ev",
                                  NULL));
    t_warm_src = minf(t_warm_src, run(db, q_sources, NULL));
    t_dwarm_src = minf(t_dwarm_src, run(dbd, q_sources, NULL));
    t_nat_src =
        minf(t_nat_src,
             run(db, "SELECT count(*), count(DISTINCT domain) FROM src", NULL));
  }
  exec(dbd, "SELECT eventmd_config('reset_stats')");
  run(dbd, q_events, NULL);
  d_stated = stat_of(dbd, "files_stated");
  d_unstated = stat_of(dbd, "cache_unstated");
  d_hits = stat_of(dbd, "cache_hits");

  /* Metadata only: no file read. */
  exec(db, "SELECT eventmd_config('reset_stats')");
  for (k = 0; k < 3; k++) t_meta = minf(t_meta, run(db, q_meta, NULL));
  meta_read = stat_of(db, "files_read");

  /* 1,000 lookups by path, one prepared statement: warm (cached), warm at
  ** default settings, the native table's primary key, cold (cache emptied
  ** first); interleaved, best of 3. */
  {
    const char *qs[4] = {
        "SELECT title FROM eventmd_events(?1) WHERE path = ?2",
        "SELECT title FROM eventmd_events(?1) WHERE path = ?2",
        "SELECT title FROM ev WHERE path = ?2",
        "SELECT title FROM eventmd_events(?1) WHERE path = ?2"};
    sqlite3 *on[4];
    double *out[4] = {&t_look_warm, &t_look_def, &t_look_nat, &t_look_cold};
    int q;
    on[0] = db;
    on[1] = dbd;
    on[2] = db;
    on[3] = db;
    for (k = 0; k < 3; k++) {
      for (q = 0; q < 4; q++) {
        if (q == 3) {
          exec(db, "SELECT eventmd_config('cache_bytes', 0)");
          exec(db, "SELECT eventmd_config('cache_bytes', %lld)", 2 * GIB);
        }
        if (sqlite3_prepare_v2(on[q], qs[q], -1, &st, NULL) != SQLITE_OK)
          die("%s", sqlite3_errmsg(on[q]));
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

  /* Next pages, warm (dbd has every file cached), against the native table
  ** holding the same rows with the same rowids; page by page, interleaved,
  ** best of 7.  Both must give the same pages. */
  exec(dbd, "SELECT eventmd_attach('%q')", root);
  for (k = 0; k < 7; k++) {
    sqlite3_int64 last = 0, last_nat = 0;
    int nr, nr_nat;
    page(dbd, "events", 1, 0, &last, &nr);
    page(db, "ev", 1, 0, &last_nat, &nr_nat);
    if (last != last_nat) die("first pages differ");
    for (i = 0; i < NPAGES; i++) {
      sqlite3_int64 after = last;
      t_pg[i] = minf(t_pg[i], page(dbd, "events", 0, after, &last, &nr));
      t_pg_nat[i] =
          minf(t_pg_nat[i], page(db, "ev", 0, after, &last_nat, &nr_nat));
      if (last != last_nat || nr != nr_nat || nr != 101)
        die("page %d after rowid %lld: %d rows up to %lld, native %d up to "
            "%lld",
            i + 2, (long long)after, nr, (long long)last, nr_nat,
            (long long)last_nat);
    }
  }
  /* count(*) on the warm connection opens no file either. */
  exec(dbd, "SELECT eventmd_config('reset_stats')");
  t_count = minf(t_count, run(dbd, "SELECT count(*) FROM events", NULL));
  count_read += stat_of(dbd, "files_read");
  count_stated += stat_of(dbd, "files_stated");
  sqlite3_close(dbd);

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
    exec(db, "SELECT eventmd_config('cache_bytes', %lld)", 2 * GIB);
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

  /* Issue 11 part 4: new processes with the cache file. */
  cache_file_figures(root, tag, list.paths, list.npaths);

  /* Peak RSS of a cold full scan: cache off at 20,000 and 100,000 files,
  ** and with a 256 MiB cache at 100,000. */
  rss20 = rss_child(root20, 0);
  rss100 = rss_child(root, 0);
  rss_cache = rss_child(root, (long long)256 << 20);

  line(SEC_I3, tag, "floor: read + cmark_parse_document, 1 thread", t_floor,
       "s", NULL, 0, NULL, 1);
  line(SEC_I3, tag, "cold full scan, events", t_cold_ev, "s", "floor",
       t_cold_ev / t_floor, "<= 0.65", t_cold_ev / t_floor <= 0.65);
  line(SEC_I3, tag, "cold full scan, sources", t_cold_src, "s", "floor",
       t_cold_src / t_floor, "<= 0.7", t_cold_src / t_floor <= 0.7);
  line(SEC_I3, tag, "native table, events query", t_nat_ev, "s", NULL, 0, NULL,
       1);
  line(SEC_I3, tag, "warm full scan, events (2 GiB bound)", t_warm_ev, "s",
       "native table", t_warm_ev / t_nat_ev, "<= 3", t_warm_ev / t_nat_ev <= 3);
  line(SEC_I3, tag, "native table, sources query", t_nat_src, "s", NULL, 0,
       NULL, 1);
  line(SEC_I3, tag, "warm full scan, sources (2 GiB bound)", t_warm_src, "s",
       "native table", t_warm_src / t_nat_src, "<= 3",
       t_warm_src / t_nat_src <= 3);
  line(SEC_I3, tag, "metadata-only scan", t_meta, "s", "floor",
       t_meta / t_floor, "<= 0.15", t_meta / t_floor <= 0.15 && meta_read == 0);
  snprintf(buf, sizeof(buf), "%lld", (long long)meta_read);
  note(SEC_I3, tag, "  files read by it (eventmd_stats)", buf, NULL, NULL, 1);
  line(SEC_I3, tag, "native primary-key lookup, per lookup", t_look_nat, "us",
       NULL, 0, NULL, 1);
  line(SEC_I3, tag, "path lookup, warm (2 GiB bound), per lookup", t_look_warm,
       "us", "native PK lookup", t_look_warm / t_look_nat, "<= 10",
       t_look_warm / t_look_nat <= 10);
  line(SEC_I3, tag, "one file's read + parse (floor / files)", per_file, "us",
       NULL, 0, NULL, 1);
  line(SEC_I3, tag, "path lookup, cold, per lookup", t_look_cold, "us",
       "one read + parse", t_look_cold / per_file, "<= 2",
       t_look_cold / per_file <= 2);
  line(SEC_I3, tag, "one day (date =)", t_day, "ms", "cold full scan",
       t_day / t_cold_ev, "<= 0.001", t_day / t_cold_ev <= 0.001);
  line(SEC_I3, tag, "one month (BETWEEN)", t_month, "ms", "cold full scan",
       t_month / t_cold_ev, NULL, 1);
  line(SEC_I3, tag, "that month joined to sources, cold", t_join, "ms",
       "cold full scan", t_join / t_cold_ev, NULL, 1);
  snprintf(buf, sizeof(buf), "%lld", (long long)join_parsed);
  snprintf(rbuf, sizeof(rbuf), "(month + outside day folders: %lld)",
           (long long)month_files);
  note(SEC_I3, tag, "  files parsed by the join", buf, rbuf, "= that",
       join_parsed == month_files);
  line(SEC_I3, tag, "LIMIT 1, cold", t_limit, "ms", "cold full scan",
       t_limit / t_cold_ev, "< 0.001", t_limit / t_cold_ev < 0.001);
  line(SEC_I3, "20k", "peak RSS, cache off", (double)rss20 / 1024, "MiB", NULL,
       0, "<= 64 MiB", rss20 <= 64 * 1024);
  line(SEC_I3, tag, "peak RSS, cache off", (double)rss100 / 1024, "MiB",
       "20,000 files", (double)rss100 / (double)rss20, "<= 1.1",
       rss100 <= 64 * 1024 && rss100 <= rss20 * 1.1);
  line(SEC_I3, tag, "peak RSS, 256 MiB cache", (double)rss_cache / 1024, "MiB",
       NULL, 0, "<= 320 MiB", rss_cache <= 320 * 1024);

  line(SEC_WARM, tag, "warm full scan, events, default bound", t_dwarm_ev, "s",
       "native table", t_dwarm_ev / t_nat_ev, "<= 2",
       t_dwarm_ev / t_nat_ev <= 2);
  snprintf(buf, sizeof(buf), "%lld", (long long)d_stated);
  snprintf(rbuf, sizeof(rbuf), "(hits %lld, vouched by the watch %lld)",
           (long long)d_hits, (long long)d_unstated);
  note(SEC_WARM, tag, "  files stat'ed by one such scan", buf, rbuf, NULL, 1);
  line(SEC_WARM, tag, "warm full scan, sources, default bound", t_dwarm_src,
       "s", "native table", t_dwarm_src / t_nat_src, "<= 2.5",
       t_dwarm_src / t_nat_src <= 2.5);
  line(SEC_WARM, tag, "path lookup, warm, default bound, per lookup",
       t_look_def, "us", "native PK lookup", t_look_def / t_look_nat, "<= 4",
       t_look_def / t_look_nat <= 4);

  {
    double sum = 0, sum_nat = 0, sum_visit = 0, worst = 0;
    int worst_at = 0;
    for (i = 0; i < NPAGES; i++) {
      sum += t_pg[i];
      sum_nat += t_pg_nat[i];
      sum_visit += t_visit[i];
      if (t_pg[i] / t_pg_nat[i] > worst) {
        worst = t_pg[i] / t_pg_nat[i];
        worst_at = i;
      }
    }
    line(SEC_PAGES, tag, "first page, cold (ORDER BY rowid LIMIT 101)", t_page1,
         "ms", "cold full scan", t_page1 / t_cold_ev, "<= 0.05",
         t_page1 / t_cold_ev <= 0.05);
    line(SEC_PAGES, tag, "native table, next page, mean of 20",
         sum_nat / NPAGES, "us", NULL, 0, NULL, 1);
    line(SEC_PAGES, tag, "next page warm (rowid > ?), mean of 20", sum / NPAGES,
         "us", "native page", sum / sum_nat, NULL, 1);
    snprintf(buf, sizeof(buf), "next page warm, worst of 20 (page %d)",
             worst_at + 2);
    line(SEC_PAGES, tag, buf, t_pg[worst_at], "us", "same native page", worst,
         "<= 20", worst <= 20);
    line(SEC_PAGES, tag, "next page, files not cached yet, mean of 20",
         sum_visit / NPAGES, "us", "native page", sum_visit / sum_nat, NULL, 1);
    line(SEC_PAGES, tag, "count(*), cold and warm", t_count, "ms",
         "cold full scan", t_count / t_cold_ev, NULL, 1);
    snprintf(buf, sizeof(buf), "%lld / %lld", count_read, count_stated);
    snprintf(rbuf, sizeof(rbuf), "(6 runs; n %lld, scan n %lld)", count_rows,
             (long long)n);
    note(SEC_PAGES, tag, "  files read / stat'ed by count(*)", buf, rbuf,
         "0 / 0, same n",
         count_read == 0 && count_stated == 0 && count_rows == (long long)n);
  }

  printf("\n  %-5s %-46s %14s  %-34s  %-14s\n", "files", "figure", "value",
         "ratio", "target");
  for (k = 0; k < NSEC; k++) {
    printf("  %s\n", sec_title[k]);
    for (i = 0; i < nrows; i++)
      if (rows[i].sec == k) printf("%s\n", rows[i].text);
  }
  printf("\nday %s, month %s; %d target%s not met\n", day, month, failures,
         failures == 1 ? "" : "s");
  sqlite3_free(q_events);
  sqlite3_free(q_sources);
  sqlite3_free(q_meta);
  sqlite3_free(q_limit);
  return failures ? 1 : 0;
}
