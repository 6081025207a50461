/* SPDX-License-Identifier: MIT */
/*
** guard.c - the structural guard run before cmark (eventmd_guard()).
**
** Debian's cmark 0.30.2 predates upstream's fixes for inputs that take
** quadratic time, and keeps 100-200 bytes per special character until a
** parse ends.  A file is not handed to cmark when one linear pass over its
** bytes shows one of these shapes (the message says which):
**
**   R1 depth      a line opening more than 64 nested lists or block quotes:
**                 cmark walks all open containers for every line and every
**                 inline node ("> > > ... a*a*a*").
**   R2 blanks     blank lines inside deeply nested list items: cmark
**                 re-matches every open item on every blank line
**                 ("- - - - x" followed by thousands of blank lines).
**   R3 brackets   links closed inside a paragraph that still holds many
**                 unclosed image openers "![": each link walks past all of
**                 them ("![[]()" repeated).
**   R4 backticks  a backtick run longer than 1000: such runs are not
**                 remembered and every one rescans the rest of the paragraph.
**   R5 memory     an estimate of cmark's memory (per special character and
**                 per line) above 32 bytes per input byte + 32 MiB.
**
** Each counter models the work cmark does, and each threshold is far above
** what ordinary event files reach (a few levels of nesting, a handful of
** images per paragraph), so they are never flagged.  The arena (arena.c)
** still bounds a parse's memory should an estimate be wrong.
*/
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "eventmd.h"
#include "parser.h"

#define MAX_DEPTH 64
#define BRACKET_WORK 20000000ULL
#define MAX_BACKTICKS 1000
#define BYTES_PER_SPECIAL 384ULL
#define BYTES_PER_LINE 400ULL

/* What one line's container prefix ("  > - 1. ") holds. */
typedef struct prefix {
  int markers;     /* '>' and list markers */
  int columns;     /* white space columns inside the prefix */
  int indent;      /* columns before the first marker */
  int quotes;      /* '>' markers */
  int new_item;    /* a bullet or "1." item with content: starts a list or
                      an item of one, can interrupt a paragraph */
  int ordered_col; /* column of the first ordered marker, or -1 */
  size_t end;      /* offset of the line's content */
} prefix;

static int is_eol(char c) {
  return c == '\n' || c == '\r';
}

/* Bytes the content scan looks at; everything else is skipped. */
static const unsigned char special[256] = {
    ['\n'] = 1, ['\r'] = 1, ['`'] = 1,  ['!'] = 1, [']'] = 1, ['['] = 1,
    ['<'] = 1,  ['&'] = 1,  ['\\'] = 1, ['*'] = 1, ['_'] = 1};

/* The first byte at or after j that the content scan must look at (n if
** none): sixteen bytes at a time where SSE2 is there. */
static size_t skip_plain(const char *s, size_t j, size_t n) {
#ifdef __SSE2__
  const __m128i k0 = _mm_set1_epi8('\n'), k1 = _mm_set1_epi8('\r');
  const __m128i k2 = _mm_set1_epi8('`'), k3 = _mm_set1_epi8('!');
  const __m128i k4 = _mm_set1_epi8(']'), k5 = _mm_set1_epi8('[');
  const __m128i k6 = _mm_set1_epi8('<'), k7 = _mm_set1_epi8('&');
  const __m128i k8 = _mm_set1_epi8('\\'), k9 = _mm_set1_epi8('*');
  const __m128i k10 = _mm_set1_epi8('_');
  while (j + 16 <= n) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + j));
    __m128i m = _mm_or_si128(
        _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, k0), _mm_cmpeq_epi8(v, k1)),
            _mm_or_si128(_mm_cmpeq_epi8(v, k2), _mm_cmpeq_epi8(v, k3))),
        _mm_or_si128(
            _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, k4), _mm_cmpeq_epi8(v, k5)),
                _mm_or_si128(_mm_cmpeq_epi8(v, k6), _mm_cmpeq_epi8(v, k7))),
            _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, k8), _mm_cmpeq_epi8(v, k9)),
                _mm_cmpeq_epi8(v, k10))));
    int mask = _mm_movemask_epi8(m);
    if (mask) return j + (size_t)__builtin_ctz((unsigned)mask);
    j += 16;
  }
#endif
  while (j < n && !special[(unsigned char)s[j]]) j++;
  return j;
}

/* Is s[j] escaped by an odd number of backslashes before it? */
static int escaped(const char *s, size_t j) {
  size_t k = j;
  while (k > 0 && s[k - 1] == '\\') k--;
  return (j - k) & 1;
}

/* Where each bullet character last stops a thematic break on this line:
** the position after the last byte that is neither that character nor a
** blank.  Filled once per character per line, so a line of many markers
** (even alternating ones) stays linear. */
typedef struct tb_cache {
  size_t other[3]; /* for '-', '*', '+'; (size_t)-1 = not scanned yet */
} tb_cache;

static int tb_index(char ch) {
  return ch == '-' ? 0 : ch == '*' ? 1 : 2;
}

/* Is s[i..] (to the end of the line) a thematic break made of ch? */
static int thematic_break(const char *s, size_t i, size_t n, char ch,
                          tb_cache *c) {
  size_t k, *other = &c->other[tb_index(ch)];
  int count = 0;
  if (*other == (size_t)-1) {
    *other = 0;
    for (k = i; k < n && !is_eol(s[k]); k++)
      if (s[k] != ch && s[k] != ' ' && s[k] != '\t') *other = k + 1;
  }
  if (*other > i) return 0;
  for (k = i; k < n && !is_eol(s[k]); k++) /* at most once: it ends the line */
    if (s[k] == ch) count++;
  return count >= 3;
}

static void read_prefix(const char *s, size_t i, size_t n, prefix *p) {
  int col = 0;
  tb_cache tb = {{(size_t)-1, (size_t)-1, (size_t)-1}}; /* thematic_break() */
  memset(p, 0, sizeof(*p));
  p->ordered_col = -1;
  p->indent = -1;
  for (;;) {
    size_t j;
    int digits = 0, first_ws = col;
    /* Deeper than the guard allows: the line is refused, stop reading. */
    if (p->markers > MAX_DEPTH + 1) break;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) {
      col = s[i] == '\t' ? (col / 4 + 1) * 4 : col + 1;
      i++;
    }
    p->columns += col - first_ws;
    if (p->indent < 0 && i < n && !is_eol(s[i])) p->indent = col;
    if (i >= n || is_eol(s[i])) break;
    if (s[i] == '>') {
      p->markers++;
      p->quotes++;
      i++;
      col++;
      continue;
    }
    if ((s[i] == '-' || s[i] == '+' || s[i] == '*') &&
        (i + 1 >= n || s[i + 1] == ' ' || s[i + 1] == '\t' ||
         is_eol(s[i + 1])) &&
        !thematic_break(s, i, n, s[i], &tb)) {
      size_t k = i + 1;
      while (k < n && (s[k] == ' ' || s[k] == '\t')) k++;
      if (k < n && !is_eol(s[k]) && p->markers == p->quotes) p->new_item = 1;
      p->markers++;
      i++;
      col++;
      continue;
    }
    j = i;
    while (j < n && s[j] >= '0' && s[j] <= '9' && digits < 10) {
      j++;
      digits++;
    }
    if (digits >= 1 && digits <= 9 && j < n && (s[j] == '.' || s[j] == ')') &&
        (j + 1 >= n || s[j + 1] == ' ' || s[j + 1] == '\t' ||
         is_eol(s[j + 1]))) {
      size_t k = j + 1;
      while (k < n && (s[k] == ' ' || s[k] == '\t')) k++;
      if (p->ordered_col < 0) p->ordered_col = col;
      if (digits == 1 && s[i] == '1' && k < n && !is_eol(s[k]) &&
          p->markers == p->quotes)
        p->new_item = 1;
      p->markers++;
      col += (int)(j + 1 - i);
      i = j + 1;
      continue;
    }
    break;
  }
  if (p->indent < 0) p->indent = col;
  p->end = i;
}

/* The guard's scan; *at (when not NULL) receives where the refused part
** begins: the start of the line that broke a rule, or, for the memory
** estimate, the last line start up to which the text alone stays within
** its own bound. */
static const char *guard_scan(const char *s, size_t n, size_t *at) {
  size_t i = 0, last_ok = 0;
  int refs;                         /* the file has "]:" (reference links) */
  uint64_t blank_work = 0;          /* R2 */
  uint64_t bracket_work = 0;        /* R3 */
  uint64_t memory = 0;              /* R5 */
  uint64_t open_depth = 0;          /* R2: depth of the open list items */
  uint64_t images = 0;              /* R3: "![" seen in this paragraph */
  int seg_col = -1, seg_quotes = 0; /* R3: the item that began the segment */
  int prev_blank = 1;

  refs = 0;
  for (const char *q = s, *end = s + n;
       (q = memchr(q, ']', (size_t)(end - q))) != NULL && q + 1 < end; q++) {
    if (q[1] == ':') {
      refs = 1;
      break;
    }
  }

  while (i < n) {
    prefix p;
    size_t j, run = 0;
    int blank;
    uint64_t depth;
    read_prefix(s, i, n, &p);
    depth = (uint64_t)p.markers + (uint64_t)p.columns / 2;
    if (at) *at = i;
    if (memory <= 32ULL * i + ((uint64_t)32 << 20)) last_ok = i;
    if (p.markers > 0 && depth > MAX_DEPTH)
      return "not parsed: markdown nested too deeply (over 64 levels of "
             "lists or quotes)";
    j = p.end;
    blank = j >= n || is_eol(s[j]);
    if (blank) {
      /* R2: cmark re-matches every open list item on a blank line. */
      blank_work += open_depth;
      images = 0;
      seg_col = -1;
    } else {
      if (p.markers > 0) {
        if (p.new_item && p.indent < 4)
          open_depth = depth;
        else if (depth > open_depth)
          open_depth = depth;
      } else if (p.indent == 0 && prev_blank) {
        open_depth = 0; /* a paragraph at the margin closes every list */
      }
      /* R3: a new list item starts a new paragraph. */
      if ((p.new_item && p.indent < 4) ||
          (p.ordered_col >= 0 && seg_col >= 0 && p.ordered_col <= seg_col &&
           p.quotes == seg_quotes)) {
        images = 0;
        seg_col = p.ordered_col >= 0 ? p.ordered_col : p.indent;
        seg_quotes = p.quotes;
      }
      memory += BYTES_PER_LINE;
    }
    /* The line's content: skip ordinary bytes fast, count the others. */
    for (;;) {
      unsigned char c;
      size_t next = skip_plain(s, j, n);
      if (next != j) run = 0;
      j = next;
      if (j >= n) break;
      c = (unsigned char)s[j];
      if (c == '\n' || c == '\r') break;
      if (c == '`') {
        if (++run > MAX_BACKTICKS)
          return "not parsed: markdown too slow to parse (a backtick run "
                 "longer than 1000)";
        if (run == 1) memory += BYTES_PER_SPECIAL;
        j++;
        continue;
      }
      run = 0;
      switch (c) {
        case '!':
          if (j + 1 < n && s[j + 1] == '[' && !escaped(s, j)) images++;
          break;
        case ']':
          if (refs || (j + 1 < n && s[j + 1] == '(')) bracket_work += images;
          break;
        case '*':
        case '_':
          if (j > 0 && s[j - 1] == (char)c) {
            j++;
            continue; /* one delimiter run counts once */
          }
          break;
        default: break;
      }
      memory += BYTES_PER_SPECIAL;
      j++;
    }
    if (bracket_work > BRACKET_WORK)
      return "not parsed: markdown too slow to parse (links inside too many "
             "unclosed image brackets)";
    if (blank_work > 8ULL * n + 1000000ULL)
      return "not parsed: markdown too slow to parse (blank lines inside "
             "deeply nested lists)";
    prev_blank = blank;
    /* Past the line end (\n, \r or \r\n). */
    if (j < n && s[j] == '\r') {
      j++;
      if (j < n && s[j] == '\n') j++;
    } else if (j < n && s[j] == '\n') {
      j++;
    }
    i = j;
  }
  if (memory > 32ULL * n + ((uint64_t)32 << 20)) {
    if (at) *at = last_ok;
    return "not parsed: markdown too complex (parsing it would need too much "
           "memory)";
  }
  return NULL;
}

const char *eventmd_guard(const char *s, size_t n) {
  return guard_scan(s, n, NULL);
}

const char *emd_guard_at(const char *s, size_t n, size_t *at) {
  *at = 0;
  return guard_scan(s, n, at);
}
