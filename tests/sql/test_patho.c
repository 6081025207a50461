/* SPDX-License-Identifier: MIT */
/*
** test_patho.c - pathological markdown through the whole extension.
**
** Every input of cmark's pathological test suite (test/pathological_tests.py
** of cmark 0.31: the same constructions, written here from their
** descriptions), plus variants shaped to slip past the guard, is written as
** an event file at 1x, 2x and 4x its suite size and read with SELECT * from
** each of the four tables.  Each file must take at most 1 s (the best of 3
** runs), and the time may grow at most 3x when the input doubles
** (quadratic is 4x).  Debian's
** cmark 0.30.2 takes tens of seconds (or aborts for memory) on some of
** these: eventmd flags them instead (problem "not parsed: ...").
** Ordinary event files, large ones included, must never be flagged.
*/
#include <time.h>

#include "testutil.h"
#include "seed.h"

/* A growing byte buffer. */
typedef struct buf {
  char *p;
  size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->n + n + 1) c *= 2;
    b->p = realloc(b->p, c);
    b->cap = c;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}
static void puts_(buf *b, const char *s) {
  put(b, s, strlen(s));
}
static void rep(buf *b, const char *s, long k) {
  size_t n = strlen(s);
  long i;
  for (i = 0; i < k; i++) put(b, s, n);
}
static void chr(buf *b, char c, long k) {
  long i;
  for (i = 0; i < k; i++) put(b, &c, 1);
}

/* The suite's string hash for "reference collisions". */
static int collides(const char *s) {
  uint32_t h = 0;
  for (; *s; s++) h = (uint32_t)(unsigned char)*s + (h << 6) + (h << 16) - h;
  return h % 16 == 0;
}

typedef struct pcase {
  const char *name;
  long base; /* the suite's repeat count */
  int id;
} pcase;

static void build(int id, long k, buf *b) {
  char tmp[64];
  long i, found;
  char first[32];
  switch (id) {
    case 0:
      rep(b, "*a **a ", k);
      puts_(b, "b");
      rep(b, " a** a*", k);
      break;
    case 1: rep(b, "a_ ", k); break;
    case 2: rep(b, "_a ", k); break;
    case 3: rep(b, "a]", k); break;
    case 4: rep(b, "[a", k); break;
    case 5: rep(b, "*a_ ", k); break;
    case 6:
      rep(b, "*a ", k);
      rep(b, "_a*_ ", k);
      break;
    case 7:
      puts_(b, "a**b");
      rep(b, "c* ", k);
      break;
    case 8: rep(b, "[ a_", k); break;
    case 9: rep(b, "[ (](", k); break;
    case 10: rep(b, "![[]()", k); break;
    case 11: rep(b, "**x [a*b**c*](d)", k); break;
    case 12:
      chr(b, '[', k);
      puts_(b, "a");
      chr(b, ']', k);
      break;
    case 13:
      rep(b, "> ", k);
      puts_(b, "a");
      break;
    case 14:
      for (i = 0; i < k; i++) {
        chr(b, ' ', 2 * i);
        puts_(b, "* a\n");
      }
      break;
    case 15:
      for (i = 0; i < k; i++) put(b, "abc\0de\0", 7);
      break;
    case 16:
      for (i = 1; i < k; i++) {
        puts_(b, "e");
        chr(b, '`', i);
      }
      break;
    case 17: rep(b, "[a](<b", k); break;
    case 18: rep(b, "[a](b", k); break;
    case 19:
      puts_(b, "</");
      rep(b, "<!--", k);
      break;
    case 20:
      rep(b, "- ", k);
      puts_(b, "x");
      chr(b, '\n', k);
      break;
    case 21:
      puts_(b, "> ");
      rep(b, "- ", k);
      puts_(b, "x\n");
      rep(b, ">\n", k);
      break;
    case 22:
      chr(b, '>', k);
      rep(b, "a*", k);
      break;
    case 23:
      first[0] = 0;
      for (i = 0, found = 0; found < k; i++) {
        snprintf(tmp, sizeof(tmp), "x%ld", i);
        if (!collides(tmp)) continue;
        if (found++ == 0) {
          strcpy(first, tmp);
          continue;
        }
        puts_(b, "[");
        puts_(b, tmp);
        puts_(b, "]: /url\n\n[");
        puts_(b, first);
        puts_(b, "]\n\n");
      }
      break;
    case 24:
      for (i = 1; i < k * 16; i++) {
        snprintf(tmp, sizeof(tmp), "[%ld]: u\n", i);
        puts_(b, tmp);
      }
      rep(b, "[0] ", k);
      break;
    case 25:
      chr(b, '*', k);
      puts_(b, "a");
      chr(b, '*', k);
      break;
    /* Variants aimed at the guard's blind spots. */
    case 30:
      rep(b, "1. ", k);
      puts_(b, "x");
      chr(b, '\n', k);
      break;
    case 31:
      for (i = 0; i < k; i++) {
        chr(b, ' ', 2 * i);
        puts_(b, "- a\n");
      }
      chr(b, '\n', k * 400);
      break;
    case 32:
      rep(b, "- ", 60);
      puts_(b, "x");
      chr(b, '\n', k * 10);
      break;
    case 33: rep(b, "![[]()`]`", k); break;
    case 34:
      puts_(b, "a\n");
      for (i = 0; i < k; i++) {
        snprintf(tmp, sizeof(tmp), "%ld. ![[]()\n", i + 2);
        puts_(b, tmp);
      }
      break;
    case 35:
      chr(b, '>', 60);
      puts_(b, "a*\n");
      for (i = 0; i < k; i++)
        puts_(b, "a*bbbbbba*bbbbbba*bbbbbba*bbbbbba*bbbbbb\n");
      break;
    case 36:
      for (i = 0; i < k; i++) {
        puts_(b, "e");
        chr(b, '`', 1001);
      }
      break;
    case 37:
      puts_(b, "[r]: /u\n\n");
      rep(b, "![[r]", k);
      break;
    case 38:
      puts_(b, "</");
      rep(b, "<![CDATA[", k);
      break;
    case 39:
      for (i = 0; i < k; i++) {
        chr(b, '\t', i);
        puts_(b, "- a\n");
      }
      chr(b, '\n', 1000000);
      break;
    case 40:
      rep(b, "- * ", k);
      puts_(b, "x\n");
      break;
    case 41:
      rep(b, "* - + ", k);
      puts_(b, "x\n");
      break;
    default: fail_msg("no case %d", id);
  }
}

static const pcase cases[] = {
    {"nested strong emph", 32500, 0},
    {"many emph closers with no openers", 32500, 1},
    {"many emph openers with no closers", 32500, 2},
    {"many link closers with no openers", 32500, 3},
    {"many link openers with no closers", 32500, 4},
    {"mismatched openers and closers", 25000, 5},
    {"issue #389", 20000, 6},
    {"openers and closers multiple of 3", 25000, 7},
    {"link openers and emph closers", 25000, 8},
    {"pattern [ (]( repeated", 40000, 9},
    {"pattern ![[]() repeated", 160000, 10},
    {"hard link/emph case", 1, 11},
    {"nested brackets", 25000, 12},
    {"nested block quotes", 25000, 13},
    {"deeply nested lists", 500, 14},
    {"U+0000 in input", 1, 15},
    {"backticks", 2500, 16},
    {"unclosed links A", 30000, 17},
    {"unclosed links B", 30000, 18},
    {"unclosed <!--", 300000, 19},
    {"empty lines in deeply nested lists", 30000, 20},
    {"empty lines in deeply nested lists in blockquote", 30000, 21},
    {"emph in deep blockquote", 100000, 22},
    {"reference collisions", 25000, 23},
    {"many references", 5000, 24},
    {"nested inlines", 20000, 25},
    {"variant: nested ordered lists and blank lines", 30000, 30},
    {"variant: lists nested by indent and blank lines", 500, 31},
    {"variant: 60 nested lists and blank lines", 30000, 32},
    {"variant: ![[]() with ] in code spans", 100000, 33},
    {"variant: ![[]() on continuation lines", 100000, 34},
    {"variant: deep quote and lazy emphasis lines", 25000, 35},
    {"variant: backtick runs of 1001", 2000, 36},
    {"variant: ![[r] with a reference", 100000, 37},
    {"variant: unclosed CDATA", 300000, 38},
    {"variant: lists nested by tabs and blank lines", 30, 39},
    /* Regression (found by fuzz_parse): the guard itself was quadratic on
    ** one long line of alternating list markers. */
    {"guard: alternating bullets on one line", 16000, 40},
    {"guard: three bullet kinds on one line", 40000, 41},
};

static double now(clockid_t clk) {
  struct timespec t;
  clock_gettime(clk, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Read the file through all four tables; returns the best of 3 runs (CPU
** seconds of this thread: eventmd runs here with threads = 1) and sets
** *wall to the best wall time of the 3 (a busy machine can stall any one
** run; an input that is slow to read is slow every time). */
static double read_all(sqlite3 *db, const char *rel, double *wall,
                       char **problem) {
  double best = 1e9;
  int run, t;
  static const char *const tables[] = {"events", "sources", "related",
                                       "changes"};
  *wall = 1e9;
  for (run = 0; run < 3; run++) {
    double c0, w0, c, w;
    tu_exec(db, "SELECT eventmd_config('cache_bytes', 0)"); /* parse again */
    tu_exec(db, "SELECT eventmd_config('cache_bytes', 1073741824)");
    c0 = now(CLOCK_THREAD_CPUTIME_ID);
    w0 = now(CLOCK_MONOTONIC);
    for (t = 0; t < 4; t++) {
      /* The archive holds just this file: a plain SELECT * per table. */
      char *r = tu_query(db, "SELECT * FROM %s", tables[t]);
      if (!strncmp(r, "ERROR", 5)) fail_msg("%s: %s", rel, r);
      free(r);
    }
    c = now(CLOCK_THREAD_CPUTIME_ID) - c0;
    w = now(CLOCK_MONOTONIC) - w0;
    if (c < best) best = c;
    if (w < *wall) *wall = w; /* a slow input is slow every time */
  }
  *problem = tu_query(db,
                      "SELECT coalesce(problem, 'parsed') FROM events "
                      "WHERE path = '/%q'",
                      rel);
  return best;
}

static void test_pathological(void **state) {
  char *d = tu_tmpdir();
  sqlite3 *db = tu_open();
  size_t i;
  int bad = 0;
  double worst = 0;
  (void)state;
  tu_exec(db, "SELECT eventmd_config('threads', 1)");
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.events USING eventmd_events(root='%q', "
          "max_size=134217728)",
          d);
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.sources USING eventmd_sources(root='%q', "
          "max_size=134217728)",
          d);
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.related USING eventmd_related(root='%q', "
          "max_size=134217728)",
          d);
  tu_exec(db,
          "CREATE VIRTUAL TABLE temp.changes USING eventmd_changes(root='%q', "
          "max_size=134217728)",
          d);
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    double cpu[3], size[3], wall;
    int s, sizes = getenv("EVENTMD_QUICK") ? 1 : 3; /* 1x only under valgrind */
    for (s = 0; s < sizes; s++) {
      buf b = {0};
      char rel[64], *problem;
      build(cases[i].id, cases[i].base << s, &b);
      snprintf(rel, sizeof(rel), "news/2020/01/01/case-%d-%dx.md", cases[i].id,
               1 << s);
      tu_write(d, rel, b.p ? b.p : "", b.n);
      size[s] = (double)b.n;
      free(b.p);
      cpu[s] = read_all(db, rel, &wall, &problem);
      if (wall > worst) worst = wall;
      problem[strcspn(problem, "\n")] = 0;
      print_message("  %-48s %dx %9.0f B  %7.3f s cpu %7.3f s wall  %s\n",
                    cases[i].name, 1 << s, size[s], cpu[s], wall, problem);
      if (wall > 1.0 * tu_time_scale()) {
        print_error("'%s' %dx took %.3f s (over 1 s)\n", cases[i].name, 1 << s,
                    wall);
        bad++;
      }
      free(problem);
      snprintf(rel, sizeof(rel), "%s/news/2020/01/01/case-%d-%dx.md", d,
               cases[i].id, 1 << s);
      unlink(rel);
    }
    /* Growth: at most 3x per doubling of the input (times under 50 ms are
    ** too small to compare).  Instrumented builds (EVENTMD_TIME_SCALE > 1)
    ** only check the time bound: their allocator's costs blur the ratio. */
    for (s = 1; s < sizes && tu_time_scale() == 1; s++) {
      double doublings =
          size[s] > size[s - 1] ? __builtin_log2(size[s] / size[s - 1]) : 1;
      /* quadratic is 4 per doubling; 30 % more is noise of a busy machine */
      double allowed = 1.3 * __builtin_pow(3.0, doublings);
      /* Below tens of milliseconds a busy machine's noise is the ratio:
      ** only times that mean something are compared, on both sides (a
      ** smaller time counts as 50 ms: 23 ms then 105 ms, where a guard
      ** stops the larger input, is no growth to speak of). */
      if (cpu[s] > 0.05 &&
          cpu[s] / (cpu[s - 1] > 0.05 ? cpu[s - 1] : 0.05) > allowed) {
        print_error("'%s' grew %.2fx from %dx to %dx (allowed %.2fx)\n",
                    cases[i].name, cpu[s] / cpu[s - 1], 1 << (s - 1), 1 << s,
                    allowed);
        bad++;
      }
    }
  }
  print_message("  worst time for one file (best of 3 runs): %.3f s\n", worst);
  sqlite3_close(db);
  tu_rmrf(d);
  free(d);
  assert_int_equal(bad, 0);
}

/* Large and list-heavy ordinary files are parsed, never flagged. */
static void test_ordinary_not_flagged(void **state) {
  char *d = tu_tmpdir(), *seed;
  sqlite3 *db = tu_open();
  buf b = {0};
  size_t len = 0;
  int i;
  (void)state;
  seed = seed_read(&len);
  /* 1,500 copies of the seed: 8.2 MB, just under the size limit. */
  for (i = 0; i < 1500; i++) put(&b, seed, len);
  tu_write(d, "news/2014/02/13/big.md", b.p, b.n);
  b.n = 0;
  /* A 1,000-item list, loose, with nested sub-lists and images. */
  puts_(&b,
        "### [2014-02-13](/news/2014/02/13/index.md)\n\n# Many\n\n### "
        "Source:\n\n");
  for (i = 0; i < 1000; i++) {
    char line[200];
    snprintf(line, sizeof(line),
             "%d. [Outlet %d](http://example.com/%d) ![logo](http://i/%d.png)\n"
             "     - note *%d*\n\n",
             i + 1, i, i, i, i);
    puts_(&b, line);
  }
  tu_write(d, "news/2014/02/13/list.md", b.p, b.n);
  free(b.p);
  tu_write(d, "news/2014/02/13/seed.md", seed, len);
  tu_expect(db, "3\n",
            "SELECT count(*) FROM eventmd_events('%q') WHERE problem IS NULL",
            d);
  tu_expect(db, "1000\n",
            "SELECT count(*) FROM eventmd_sources('%q') WHERE event_path LIKE "
            "'%%list.md'",
            d);
  free(seed);
  sqlite3_close(db);
  tu_rmrf(d);
  free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ordinary_not_flagged),
      cmocka_unit_test(test_pathological),
  };
  return cmocka_run_group_tests_name("pathological", tests, NULL, NULL);
}
