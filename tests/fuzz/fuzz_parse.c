/* SPDX-License-Identifier: MIT */
/*
** fuzz_parse.c - libFuzzer target for the parser's C API (no SQLite).
**
** Build (Debian clang 14):
**   clang -g -O1 -fsanitize=fuzzer,address,undefined \
**     -fno-sanitize-recover=undefined -Iinclude -Iext -D_GNU_SOURCE \
**     -DSQLITE_CORE tests/fuzz/fuzz_parse.c ext/text.c ext/arena.c ext/parse.c \
**     ext/guard.c -lcmark -o build/fuzz_parse
** Run:
**   build/fuzz_parse -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
**     /tmp/fuzz-work/parse-corpus tests/fuzz/seeds/parse
**
** The whole input is the event file.  Its first byte also picks how it is
** parsed (so every mutation of it explores another way):
**
**   bits 0-1  path: NULL, /news/2014/02/13/x.md, /drafts/y.md,
**             /news/2017/10/9/z.md
**   bit  2    also parse without a parser (a temporary one) and compare the
**             result with the reusable parser's, field by field
**   bits 3-4  result allocator: 0 default, 1 counting (every byte returned),
**             2 failing after input[1] % 24 allocations (NOMEM paths),
**             3 default, and the same input parsed twice by the reusable
**             parser must give the same event
**
** Every result is walked completely and checked against invariants that
** hold for any input (see check_event()); a violation aborts with a
** message so libFuzzer keeps the input.  Inputs holding NUL bytes are also
** parsed with every NUL replaced by U+FFFD: SPEC §5 says that is what a NUL
** becomes, so both parses must give the same rows.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eventmd.h"

/* Failing loudly, and UTF-8 validity: fuzzutil.h. */
#define FUZZ_NAME "fuzz_parse"
#include "fuzzutil.h"

/* ------------------------------------------------------------------------
** Allocators for the result.
*/
typedef struct counting {
  long live;       /* blocks handed out and not yet freed */
  long allocs;     /* allocations so far */
  long fail_after; /* fail every allocation after this many; -1 never */
} counting;

/* Each block is preceded by 16 bytes: a tag and the size. */
#define TAG 0x6576656e746d64ULL
static void *c_malloc(void *ctx, size_t n) {
  counting *c = ctx;
  uint64_t *p;
  if (c->fail_after >= 0 && c->allocs >= c->fail_after) return NULL;
  p = malloc(16 + (n ? n : 1));
  if (!p) return NULL;
  c->allocs++;
  c->live++;
  p[0] = TAG;
  p[1] = n;
  return p + 2;
}
static void c_free(void *ctx, void *q) {
  counting *c = ctx;
  uint64_t *p;
  if (!q) return;
  p = (uint64_t *)q - 2;
  if (p[0] != TAG)
    fail("a block freed through the counting allocator", "not ours");
  p[0] = 0;
  c->live--;
  free(p);
}
static void *c_realloc(void *ctx, void *q, size_t n) {
  counting *c = ctx;
  uint64_t *p, *np;
  if (!q) return c_malloc(ctx, n);
  p = (uint64_t *)q - 2;
  if (p[0] != TAG)
    fail("a block reallocated through the counting allocator", "not ours");
  if (c->fail_after >= 0 && c->allocs >= c->fail_after) return NULL;
  np = realloc(p, 16 + (n ? n : 1));
  if (!np) return NULL;
  c->allocs++;
  np[1] = n;
  return np + 2;
}

/* ------------------------------------------------------------------------
** Walking one event.
*/
static const char *const kPaths[4] = {NULL, "/news/2014/02/13/x.md",
                                      "/drafts/y.md", "/news/2017/10/9/z.md"};
static const char *const kPathDates[4] = {NULL, "2014-02-13", NULL,
                                          "2017-10-09"};

static int is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

static int ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    int x = (unsigned char)*a, y = (unsigned char)*b;
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return 0;
  }
  return *a == *b;
}

static int streq(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

static int digits(const char *s, int n) {
  int i;
  for (i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

/* "YYYY-MM-DD" naming a real date (years 0001-9999). */
static int real_date(const char *s) {
  static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int y, m, d;
  if (strlen(s) < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
      s[7] != '-' || !digits(s + 8, 2))
    return 0;
  y = atoi(s);
  m = (s[5] - '0') * 10 + (s[6] - '0');
  d = (s[8] - '0') * 10 + (s[9] - '0');
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return 0;
  if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
    return 0;
  return 1;
}

static int is_date_string(const char *s) {
  return strlen(s) == 10 && real_date(s);
}

/* "YYYY-MM-DD HH:MM:SS". */
static int is_datetime_string(const char *s) {
  if (strlen(s) != 19 || !real_date(s) || s[10] != ' ' || !digits(s + 11, 2) ||
      s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
    return 0;
  return atoi(s + 11) < 24 && atoi(s + 14) < 60 && atoi(s + 17) < 61;
}

typedef struct walker {
  const char *lo, *hi; /* the event's block */
} walker;

/* A string of the event: inside the block, NUL-terminated inside it, valid
** UTF-8; trimmed when asked. */
static void check_str(const walker *w, const char *s, const char *what,
                      int trimmed) {
  size_t n;
  if (!s) return;
  if (s < w->lo || s >= w->hi) fail("string outside the event's memory", what);
  n = strnlen(s, (size_t)(w->hi - s));
  if (s + n >= w->hi)
    fail("string not terminated inside the event's memory", what);
  if (!utf8_valid((const unsigned char *)s, n))
    fail("string is not valid UTF-8", what);
  if (trimmed && n &&
      (is_ws((unsigned char)s[0]) || is_ws((unsigned char)s[n - 1])))
    fail("string not trimmed", what);
}

static void check_array(const walker *w, const void *a, uint32_t n,
                        size_t rowsize, const char *what) {
  const char *p = a;
  if (!n) return;
  if (!p) fail("rows missing", what);
  if (p < w->lo || p > w->hi || (size_t)(w->hi - p) / rowsize < n)
    fail("rows outside the event's memory", what);
  if (((uintptr_t)p) % sizeof(void *)) fail("rows misaligned", what);
}

/* The problem text the bits call for (not for UNSAFE events). */
static void expected_problem(const eventmd_event *ev, char *out, size_t cap) {
  size_t o = 0;
  out[0] = 0;
#define ADD(s) o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? "; " : "", s)
  if (ev->problems & EVENTMD_PROBLEM_UTF8) ADD("invalid UTF-8");
  if (ev->problems & EVENTMD_PROBLEM_NUL) ADD("NUL bytes");
  if (ev->problems & EVENTMD_PROBLEM_NO_TITLE) ADD("no title");
  if (ev->problems & EVENTMD_PROBLEM_NO_DATE) ADD("no date");
  if (ev->problems & EVENTMD_PROBLEM_DATE_DIFF) {
    char t[64];
    snprintf(t, sizeof(t), "date heading %s differs from path",
             ev->heading_date ? ev->heading_date : "(null)");
    ADD(t);
  }
#undef ADD
}

/* Everything that must hold for the event of any input. */
static void check_event(const eventmd_event *ev, const char *path, int ipath) {
  walker w;
  uint32_t i;
  int unsafe, first_current = -1;
  CHECK(ev->mem_size >= sizeof(*ev), "event smaller than its struct");
  w.lo = (const char *)ev;
  w.hi = (const char *)ev + ev->mem_size;
  CHECK(ev->is_current == 0 || ev->is_current == 1, "is_current is 0 or 1");
  CHECK((ev->problems & ~0x3Fu) == 0, "unknown problem bits");
  CHECK((ev->problems == 0) == (ev->problem == NULL),
        "problem text present exactly when there are problem bits");
  unsafe = (ev->problems & EVENTMD_PROBLEM_UNSAFE) != 0;

  check_str(&w, ev->date, "date", 0);
  check_str(&w, ev->path_date, "path_date", 0);
  check_str(&w, ev->heading_date, "heading_date", 0);
  check_str(&w, ev->title, "title", 1);
  check_str(&w, ev->summary, "summary", 1);
  check_str(&w, ev->cover_image, "cover_image", 0);
  check_str(&w, ev->day_index, "day_index", 0);
  check_str(&w, ev->problem, "problem", 0);

  /* Dates. */
  CHECK(streq(ev->path_date, kPathDates[ipath]),
        "path_date is the path's date");
  if (ev->date) CHECK(is_date_string(ev->date), "date is NULL or YYYY-MM-DD");
  if (ev->heading_date)
    CHECK(is_date_string(ev->heading_date), "heading_date is YYYY-MM-DD");
  CHECK(streq(ev->date, ev->path_date ? ev->path_date : ev->heading_date),
        "date is the path's date, else the heading's");
  if (ev->day_index)
    CHECK(ev->heading_date != NULL, "day_index only with a date heading");
  if (ev->title) CHECK(ev->title[0] != 0, "title is NULL rather than empty");
  if (ev->summary)
    CHECK(ev->summary[0] != 0, "summary is NULL rather than empty");

  /* Rows. */
  check_array(&w, ev->sources, ev->n_sources, sizeof(eventmd_source),
              "sources");
  check_array(&w, ev->related, ev->n_related, sizeof(eventmd_related),
              "related");
  check_array(&w, ev->changes, ev->n_changes, sizeof(eventmd_change),
              "changes");
  for (i = 0; i < ev->n_sources; i++) {
    const eventmd_source *s = &ev->sources[i];
    CHECK(s->name != NULL, "a source has a name");
    check_str(&w, s->name, "source name", 1);
    check_str(&w, s->url, "source url", 0);
    check_str(&w, s->domain, "source domain", 0);
    /* SPEC §2: a Cover Image item is the event's cover, not a source. */
    if (s->url && ieq(s->name, "cover image"))
      fail("a Cover Image link is a row of sources", s->url);
    if (!s->url) CHECK(s->domain == NULL, "no domain without a url");
    if (s->domain) {
      const char *d;
      CHECK(s->domain[0] != 0, "domain is not empty");
      for (d = s->domain; *d; d++)
        CHECK(!(*d >= 'A' && *d <= 'Z'), "domain is lower-cased");
    }
  }
  for (i = 0; i < ev->n_related; i++) {
    const eventmd_related *r = &ev->related[i];
    CHECK(r->title != NULL, "a related row has a title");
    check_str(&w, r->title, "related title", 1);
    check_str(&w, r->target, "related target", 0);
    check_str(&w, r->target_date, "related target_date", 0);
    check_str(&w, r->context, "related context", 1);
    if (r->context)
      CHECK(r->context[0] != 0, "context is NULL rather than empty");
    if (r->target) {
      char d[11];
      int has = eventmd_path_date(d, r->target, strlen(r->target));
      CHECK(has ? streq(d, r->target_date) : r->target_date == NULL,
            "target_date is the target's path date");
    } else {
      CHECK(r->target_date == NULL, "no target_date without a target");
    }
  }
  for (i = 0; i < ev->n_changes; i++) {
    const eventmd_change *c = &ev->changes[i];
    CHECK(c->title != NULL, "a change has a title");
    check_str(&w, c->title, "change title", 1);
    check_str(&w, c->target, "change target", 0);
    check_str(&w, c->changed_at, "changed_at", 0);
    check_str(&w, c->label, "change label", 1);
    if (c->changed_at)
      CHECK(is_datetime_string(c->changed_at),
            "changed_at is YYYY-MM-DD HH:MM:SS");
    if (c->label) CHECK(c->label[0] != 0, "label is NULL rather than empty");
    CHECK(c->is_current == (c->label && ieq(c->label, "current version")),
          "change is_current is label = Current version");
    if (c->is_current && first_current < 0) first_current = (int)i;
  }

  if (unsafe) {
    if (!strstr(ev->problem, "not parsed"))
      fail("an unparsed event's problem does not say not parsed", ev->problem);
    CHECK(ev->n_sources == 0 && ev->n_related == 0 && ev->n_changes == 0,
          "no rows when not parsed");
    CHECK(ev->title == NULL && ev->summary == NULL && ev->cover_image == NULL &&
              ev->day_index == NULL && ev->heading_date == NULL,
          "nothing parsed when not parsed");
    CHECK(ev->is_current == 1, "not parsed: is_current 1");
  } else {
    char want[512];
    /* is_current: no current-version change, or its link is this path. */
    if (first_current < 0)
      CHECK(ev->is_current == 1, "is_current without a current-version change");
    else
      CHECK(
          ev->is_current == (path && ev->changes[first_current].target &&
                             !strcmp(ev->changes[first_current].target, path)),
          "is_current is the current-version change's link = path");
    CHECK(!!(ev->problems & EVENTMD_PROBLEM_NO_TITLE) == (ev->title == NULL),
          "no title problem exactly when title is NULL");
    CHECK(!!(ev->problems & EVENTMD_PROBLEM_NO_DATE) == (ev->date == NULL),
          "no date problem exactly when date is NULL");
    CHECK(!!(ev->problems & EVENTMD_PROBLEM_DATE_DIFF) ==
              (ev->path_date && ev->heading_date &&
               strcmp(ev->path_date, ev->heading_date) != 0),
          "date differs problem exactly when the dates differ");
    expected_problem(ev, want, sizeof(want));
    if (ev->problem && strcmp(ev->problem, want) != 0)
      fail("problem text is not the bits' texts", ev->problem);
  }
  (void)path;
}

/* Field by field equality of two events; ignore_problems skips the problem
** bits and text (for inputs that differ only in NUL bytes). */
static void same_event(const eventmd_event *a, const eventmd_event *b,
                       int ignore_problems, const char *why) {
  uint32_t i;
#define SAME_S(f) \
  if (!streq(a->f, b->f)) fail(why, #f)
#define SAME_I(f) \
  if (a->f != b->f) fail(why, #f)
  SAME_S(date);
  SAME_S(path_date);
  SAME_S(heading_date);
  SAME_S(title);
  SAME_S(summary);
  SAME_S(cover_image);
  SAME_S(day_index);
  if (!ignore_problems) {
    SAME_S(problem);
    SAME_I(problems);
  }
  SAME_I(is_current);
  SAME_I(n_sources);
  SAME_I(n_related);
  SAME_I(n_changes);
  for (i = 0; i < a->n_sources; i++) {
    SAME_S(sources[i].name);
    SAME_S(sources[i].url);
    SAME_S(sources[i].domain);
  }
  for (i = 0; i < a->n_related; i++) {
    SAME_S(related[i].title);
    SAME_S(related[i].target);
    SAME_S(related[i].target_date);
    SAME_S(related[i].context);
  }
  for (i = 0; i < a->n_changes; i++) {
    SAME_S(changes[i].title);
    SAME_S(changes[i].target);
    SAME_S(changes[i].changed_at);
    SAME_S(changes[i].label);
    SAME_I(changes[i].is_current);
  }
#undef SAME_S
#undef SAME_I
}

/* ------------------------------------------------------------------------
** The other two functions of the API.
*/
static void check_path_date(const uint8_t *data, size_t size) {
  char out[12];
  out[10] = 'x';
  out[11] = 'y';
  if (eventmd_path_date(out, (const char *)data, size)) {
    CHECK(out[10] == 0, "path date is NUL-terminated");
    CHECK(is_date_string(out), "path date is a real YYYY-MM-DD");
  }
  CHECK(out[11] == 'y', "path date writes at most 11 bytes");
}

static const char *check_guard(const uint8_t *data, size_t size) {
  const char *g = eventmd_guard((const char *)data, size);
  if (g) CHECK(!strncmp(g, "not parsed", 10), "guard message says not parsed");
  return g;
}

/* ------------------------------------------------------------------------
** The target.
*/
static eventmd_parser *g_parser;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *bytes = (const char *)data;
  unsigned mode = size ? data[0] : 0;
  int ipath = (int)(mode & 3), also_fresh = (mode >> 2) & 1;
  int almode = (int)((mode >> 3) & 3);
  const char *path = kPaths[ipath];
  eventmd_parse_options opts;
  eventmd_event *ev = NULL;
  counting cnt = {0, 0, -1};
  eventmd_allocator al = {c_malloc, c_realloc, c_free, &cnt};
  const char *guard;
  int rc, valid;

  if (!g_parser) {
    g_parser = eventmd_parser_new(NULL);
    if (!g_parser) fail("eventmd_parser_new", "out of memory");
  }
  check_path_date(data, size);
  guard = check_guard(data, size);
  valid = utf8_valid(data, size);

  memset(&opts, 0, sizeof(opts));
  opts.parser = g_parser;
  if (almode == 1 || almode == 2) {
    opts.alloc = &al;
    if (almode == 2) cnt.fail_after = size > 1 ? data[1] % 24 : 0;
  }
  ev = (eventmd_event *)(uintptr_t)1; /* must be reset */
  rc = eventmd_parse(&ev, bytes, size, path, &opts);
  if (rc != EVENTMD_OK) {
    CHECK(rc == EVENTMD_NOMEM, "parse returns OK or NOMEM");
    CHECK(ev == NULL, "nothing returned on NOMEM");
    if (almode != 2) fail("out of memory without a failing allocator", NULL);
    CHECK(cnt.live == 0, "nothing kept from the result allocator on NOMEM");
    return 0;
  }
  CHECK(ev != NULL, "an event on OK");
  check_event(ev, path, ipath);
  CHECK(!!(ev->problems & EVENTMD_PROBLEM_UTF8) == !valid,
        "invalid UTF-8 problem exactly for invalid input");
  CHECK(
      !!(ev->problems & EVENTMD_PROBLEM_NUL) == (memchr(data, 0, size) != NULL),
      "NUL problem exactly when the input has NUL bytes");
  if (valid && guard) {
    CHECK(ev->problems & EVENTMD_PROBLEM_UNSAFE,
          "a guarded input is not parsed");
    CHECK(strstr(ev->problem, guard) != NULL,
          "the guard's message is the problem");
  }
  if (opts.alloc) {
    CHECK(cnt.live == 1, "the event is one block of the result allocator");
  }

  /* The reusable parser again: the same event. */
  if (almode == 3) {
    eventmd_event *ev2 = NULL;
    if (eventmd_parse(&ev2, bytes, size, path, &opts) != EVENTMD_OK)
      fail("second parse", "out of memory");
    check_event(ev2, path, ipath);
    same_event(ev, ev2, 0, "reparse with the reusable parser differs");
    eventmd_event_free(ev2);
  }

  /* No parser (a temporary one, with the result allocator): the same event. */
  if (also_fresh) {
    eventmd_parse_options o2 = opts;
    eventmd_event *ev2 = NULL;
    counting c2 = {0, 0,
                   almode == 2 ? (long)(size > 2 ? data[2] % 48 : 0) : -1};
    eventmd_allocator al2 = {c_malloc, c_realloc, c_free, &c2};
    o2.parser = NULL;
    if (almode == 1 || almode == 2) o2.alloc = &al2;
    rc = eventmd_parse(&ev2, bytes, size, path, &o2);
    if (rc != EVENTMD_OK) {
      CHECK(rc == EVENTMD_NOMEM && ev2 == NULL, "NOMEM returns nothing");
      if (almode != 2)
        fail("out of memory without a failing allocator", "fresh");
    } else {
      check_event(ev2, path, ipath);
      same_event(ev, ev2, 0, "a temporary parser's event differs");
      eventmd_event_free(ev2);
    }
    if (o2.alloc)
      CHECK(c2.live == 0, "a temporary parser gives all its memory back");
  }

  /* SPEC §5: NUL becomes U+FFFD, so the same input with U+FFFD in place of
  ** each NUL gives the same rows (when both were parsed at all). */
  if (memchr(data, 0, size) && !(ev->problems & EVENTMD_PROBLEM_UNSAFE)) {
    size_t i, o = 0;
    char *alt = malloc(size * 3 + 1);
    eventmd_parse_options o3;
    eventmd_event *ev3 = NULL;
    if (!alt) fail("malloc", NULL);
    for (i = 0; i < size; i++) {
      if (data[i]) {
        alt[o++] = (char)data[i];
      } else {
        alt[o++] = (char)0xEF;
        alt[o++] = (char)0xBF;
        alt[o++] = (char)0xBD;
      }
    }
    memset(&o3, 0, sizeof(o3));
    o3.parser = g_parser;
    if (eventmd_parse(&ev3, alt, o, path, &o3) != EVENTMD_OK)
      fail("parse of the U+FFFD version", "out of memory");
    check_event(ev3, path, ipath);
    if (!(ev3->problems & EVENTMD_PROBLEM_UNSAFE))
      same_event(ev, ev3, 1, "a NUL byte is not the same as U+FFFD");
    CHECK(!(ev3->problems & EVENTMD_PROBLEM_NUL), "no NUL problem without NUL");
    eventmd_event_free(ev3);
    free(alt);
  }

  eventmd_event_free(ev);
  if (opts.alloc)
    CHECK(cnt.live == 0, "the result allocator got everything back");
  return 0;
}
