/* SPDX-License-Identifier: MIT */
/*
** record.c - parsed files in compact form (see record.h).
*/
#include "record.h"

#include <stdio.h>
#include <string.h>

#include "text.h"

/* Fields in each list's rows. */
static const int row_fields[EMD_NTABLES] = {3, 3, 4, 2};

#define ALIGN4(x) (((x) + 3) & ~(size_t)3)

/* ------------------------------------------------------------------------
** Reading.
*/

/* Decode a varint at *pp; moves *pp past it. */
static uint32_t get_varint(const unsigned char **pp) {
  const unsigned char *p = *pp;
  uint32_t v = 0;
  int shift = 0;
  while (*p & 0x80) {
    v |= (uint32_t)(*p++ & 0x7f) << shift;
    shift += 7;
  }
  v |= (uint32_t)*p++ << shift;
  *pp = p;
  return v;
}

static const unsigned char *first_field(const emd_rec *r) {
  return (const unsigned char *)(r + 1);
}

/* Read the string at *pp (moving past it); same-as-title strings read as
** *title. */
static emd_str get_str(const unsigned char **pp, const emd_str *title) {
  emd_str s;
  uint32_t v = get_varint(pp);
  if (v == 0) {
    s.p = NULL;
    s.n = 0;
  } else if (v == 1) {
    s = *title;
  } else {
    s.p = (const char *)*pp;
    s.n = v - 2;
    *pp += s.n + 1; /* and its NUL */
  }
  return s;
}

/* Skip one string at *pp without reading past end; 0 when it does not fit
** or lacks its NUL (a same-as-title string is only allowed once the title
** is known). */
static int skip_str(const unsigned char **pp, const unsigned char *end,
                    int title_known) {
  const unsigned char *p = *pp;
  uint32_t v = 0;
  int shift = 0;
  for (;;) {
    if (p >= end || shift > 28) return 0;
    v |= (uint32_t)(*p & 0x7f) << shift;
    if (!(*p++ & 0x80)) break;
    shift += 7;
  }
  if (v == 1 && !title_known) return 0;
  if (v >= 2) {
    if ((size_t)(end - p) < (size_t)v - 1 || p[v - 2] != 0) return 0;
    p += (size_t)v - 1;
  }
  *pp = p;
  return 1;
}

int emd_rec_check(const void *mem, size_t n) {
  const emd_rec *r = mem;
  const unsigned char *base = mem, *p, *strings_end;
  const uint32_t *idx;
  uint64_t rows = 0;
  int t, k;
  if (n < sizeof(emd_rec) || ((uintptr_t)mem & 3)) return 0;
  if (r->size != n || r->reserved != 0) return 0;
  if (r->kind != EMD_REC_EVENT && r->kind != EMD_REC_DAYPAGE) return 0;
  if (r->problems &
      ~(unsigned)(EMD_RP_UTF8 | EMD_RP_NUL | EMD_RP_PARTIAL | EMD_RP_NO_TITLE))
    return 0;
  for (t = 0; t < EMD_NTABLES; t++) rows += r->n[t];
  if (r->off_rowidx & 3 || r->off_rowidx < sizeof(emd_rec) ||
      r->off_rowidx > n || (n - r->off_rowidx) / 4 != rows ||
      (n - r->off_rowidx) % 4)
    return 0;
  strings_end = base + r->off_rowidx;
  p = first_field(r);
  for (k = 0; k < EMD_NFIELDS; k++)
    if (!skip_str(&p, strings_end, k > 0)) return 0;
  idx = (const uint32_t *)(const void *)(base + r->off_rowidx);
  for (t = 0; t < EMD_NTABLES; t++) {
    uint32_t i;
    for (i = 0; i < r->n[t]; i++, idx++) {
      const unsigned char *q = base + *idx;
      /* Rows lie between the event's strings and the offsets. */
      if (*idx < (size_t)(p - base) || base + *idx >= strings_end) return 0;
      for (k = 0; k < row_fields[t]; k++)
        if (!skip_str(&q, strings_end, 1)) return 0;
    }
  }
  return 1;
}

emd_str emd_rec_field(const emd_rec *r, int field) {
  const unsigned char *p = first_field(r);
  emd_str title, s;
  int i;
  title.p = NULL;
  title.n = 0;
  s = get_str(&p, &title);
  if (field == EMD_F_TITLE) return s;
  title = s;
  for (i = 1; i <= field; i++) s = get_str(&p, &title);
  return s;
}

int emd_rec_row(const emd_rec *r, int t, uint32_t i,
                emd_str out[EMD_ROW_MAXFIELDS]) {
  const uint32_t *idx =
      (const uint32_t *)(const void *)((const char *)r + r->off_rowidx);
  const unsigned char *p;
  emd_str title = emd_rec_field(r, EMD_F_TITLE);
  uint32_t base = 0;
  int k, nf = row_fields[t];
  for (k = 0; k < t; k++) base += r->n[k];
  p = (const unsigned char *)r + idx[base + i];
  for (k = 0; k < nf; k++) out[k] = get_str(&p, &title);
  return nf;
}

#define LINE 64           /* bytes a prefetch brings */
#define PREFETCH_MAX 1024 /* of a record's rows, at most */

void emd_rec_prefetch(const emd_rec *r, int t, int step) {
  const char *base = (const char *)r;
  const uint32_t *idx;
  uint32_t first = 0, n, from, to, at;
  int k;
  if (step == 2) {
    __builtin_prefetch(base);
    return;
  }
  if (t < 0) {
    if (step == 0) {
      __builtin_prefetch(base + LINE);
      __builtin_prefetch(base + 2 * LINE);
    }
    return;
  }
  n = r->n[t];
  if (!n) return;
  for (k = 0; k < t; k++) first += r->n[k];
  idx = (const uint32_t *)(const void *)(base + r->off_rowidx) + first;
  if (step == 1) {
    __builtin_prefetch(idx);
    __builtin_prefetch(idx + n - 1);
    return;
  }
  from = idx[0];
  to = idx[n - 1] + LINE;
  if (to > r->off_rowidx) to = r->off_rowidx;
  if (to - from > PREFETCH_MAX) to = from + PREFETCH_MAX;
  for (at = from; at < to; at += LINE) __builtin_prefetch(base + at);
}

int emd_label_is_current(emd_str label) {
  return label.p && emd_ascii_ieq(label.p, label.n, "current version");
}

int emd_str_eq(emd_str a, emd_str b) {
  if (!a.p || !b.p) return !a.p && !b.p;
  return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

size_t emd_rec_problem(const emd_rec *r, const char *path_date, char *buf,
                       size_t bufsz) {
  size_t n = 0;
  int first = 1;
  emd_str hd = emd_rec_field(r, EMD_F_HEADING_DATE);
  int have_path = path_date && *path_date;
#define PUT(text, len)                                           \
  do {                                                           \
    size_t l_ = (len);                                           \
    if (n + l_ >= bufsz) l_ = n + 1 < bufsz ? bufsz - 1 - n : 0; \
    memcpy(buf + n, (text), l_);                                 \
    n += l_;                                                     \
  } while (0)
#define PART(text, len)       \
  do {                        \
    if (!first) PUT("; ", 2); \
    PUT((text), (len));       \
    first = 0;                \
  } while (0)
  if (r->problems & EMD_RP_UTF8) PART("invalid UTF-8", 13);
  if (r->problems & EMD_RP_NUL) PART("NUL bytes", 9);
  if (r->problems & EMD_RP_PARTIAL) {
    emd_str note = emd_rec_field(r, EMD_F_NOTE);
    if (note.p) PART(note.p, note.n);
  }
  if (r->kind == EMD_REC_EVENT) {
    if (r->problems & EMD_RP_NO_TITLE) PART("no title", 8);
    if (!have_path && !hd.p) PART("no date", 7);
    if (have_path && hd.p && hd.n == EMD_DATE_LEN &&
        memcmp(hd.p, path_date, EMD_DATE_LEN) != 0) {
      PART("date heading ", 13);
      PUT(hd.p, hd.n);
      PUT(" differs from path", 18);
    }
  }
#undef PART
#undef PUT
  if (bufsz) buf[n] = 0;
  return n;
}

/* ------------------------------------------------------------------------
** Writing.
*/
static int reserve(emd_recbuf *b, size_t extra) {
  size_t need, cap;
  unsigned char *p;
  if (b->oom) return 0;
  need = b->len + extra;
  if (need <= b->cap) return 1;
  cap = b->cap ? b->cap : 4096;
  while (cap < need) cap *= 2;
  if (cap > (size_t)UINT32_MAX) {
    b->oom = 1; /* a record's offsets are 32-bit */
    return 0;
  }
  p = b->xRealloc(b->ctx, b->p, cap);
  if (!p) {
    b->oom = 1;
    return 0;
  }
  b->p = p;
  b->cap = cap;
  return 1;
}

static void put_varint(emd_recbuf *b, uint32_t v) {
  if (!reserve(b, 5)) return;
  while (v >= 0x80) {
    b->p[b->len++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  b->p[b->len++] = (unsigned char)v;
}

void emd_recbuf_begin(emd_recbuf *b, int kind) {
  emd_rec h;
  b->len = 0;
  b->nrows = 0;
  b->oom = 0;
  if (!reserve(b, sizeof(emd_rec))) return;
  memset(&h, 0, sizeof(h));
  h.kind = (uint8_t)kind;
  memcpy(b->p, &h, sizeof(h));
  b->len = sizeof(h);
}

/* A string holding NUL bytes (the parser replaces them; a safeguard): each
** written as U+FFFD, so that the string's own NUL ends it. */
static void put_without_nul(emd_recbuf *b, const char *p, size_t n) {
  size_t i, nul = 0, m;
  for (i = 0; i < n; i++) nul += p[i] == 0;
  m = n + 2 * nul;
  if (m < n || m > (size_t)UINT32_MAX - 3) {
    b->oom = 1;
    return;
  }
  put_varint(b, (uint32_t)m + 2);
  if (!reserve(b, m + 1)) return;
  for (i = 0; i < n; i++) {
    if (p[i]) {
      b->p[b->len++] = (unsigned char)p[i];
    } else {
      memcpy(b->p + b->len, "\xEF\xBF\xBD", 3);
      b->len += 3;
    }
  }
  b->p[b->len++] = 0;
}

void emd_recbuf_str(emd_recbuf *b, const char *p, size_t n, int same) {
  if (!p) {
    put_varint(b, 0);
  } else if (same) {
    put_varint(b, 1);
  } else if (memchr(p, 0, n)) {
    put_without_nul(b, p, n);
  } else if (n > (size_t)UINT32_MAX - 3) {
    b->oom = 1;
  } else {
    put_varint(b, (uint32_t)n + 2);
    if (reserve(b, n + 1)) {
      memcpy(b->p + b->len, p, n);
      b->p[b->len + n] = 0;
      b->len += n + 1;
    }
  }
}

void emd_recbuf_row(emd_recbuf *b, int t) {
  emd_rec *h;
  if (b->oom) return;
  if (b->nrows == b->caprows) {
    size_t cap = b->caprows ? b->caprows * 2 : 64;
    uint32_t *r = b->xRealloc(b->ctx, b->rows, cap * sizeof(uint32_t));
    if (!r) {
      b->oom = 1;
      return;
    }
    b->rows = r;
    b->caprows = cap;
  }
  b->rows[b->nrows++] = (uint32_t)b->len;
  h = (emd_rec *)(void *)b->p;
  h->n[t]++;
}

const emd_rec *emd_recbuf_end(emd_recbuf *b, unsigned problems) {
  emd_rec *h;
  size_t at;
  if (b->oom) return NULL;
  at = ALIGN4(b->len);
  if (!reserve(b, (at - b->len) + b->nrows * sizeof(uint32_t))) return NULL;
  memset(b->p + b->len, 0, at - b->len);
  if (b->nrows) memcpy(b->p + at, b->rows, b->nrows * sizeof(uint32_t));
  b->len = at + b->nrows * sizeof(uint32_t);
  h = (emd_rec *)(void *)b->p;
  h->size = (uint32_t)b->len;
  h->problems = (uint8_t)problems;
  h->off_rowidx = (uint32_t)at;
  return h;
}

void emd_recbuf_free(emd_recbuf *b) {
  if (b->p) b->xFree(b->ctx, b->p);
  if (b->rows) b->xFree(b->ctx, b->rows);
  b->p = NULL;
  b->rows = NULL;
  b->len = b->cap = b->nrows = b->caprows = 0;
}
