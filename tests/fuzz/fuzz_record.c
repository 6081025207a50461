/* SPDX-License-Identifier: MIT */
/*
** fuzz_record.c - libFuzzer target for the compact record's reader: the
** bytes a cache file hands back are never trusted before emd_rec_check().
**
** Build and run: make fuzz (build/fuzz_record).
**
** The first byte of the input picks the mode:
**
**   even  the rest is a record as a cache file could hold it;
**   odd   the rest builds a record with the writer (strings split at 0xFF
**         bytes, NUL bytes included, rows put in the lists the following
**         bytes name, in list order as the parser writes them); it must
**         pass the check and read back as written
**         (a NUL becomes U+FFFD); then the input's last bytes overwrite
**         bytes of a copy of it, as a damaged file would.
**
** Whatever passes the check is read whole, as the tables read it: every
** field and row (each string must end with its NUL inside the block:
** strlen() runs on it in a buffer of exactly the record's size, so
** AddressSanitizer sees any overrun; a written string holds no NUL, a
** damaged one may, and is then shown cut there), the problem text, and
** the prefetch hints.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "recbuf.h"

static void fail(const char *what) {
  fprintf(stderr, "fuzz_record: %s\n", what);
  abort();
}

/* s lies in r and ends with a NUL there; as written (exact), it holds none
** (a damaged record may: then SQLite shows it cut there, never more). */
static void check_str(const emd_rec *r, emd_str s, int exact) {
  const char *lo = (const char *)r, *hi = lo + r->size;
  size_t n;
  if (!s.p) return;
  if (s.p < lo || s.p + s.n >= hi) fail("string outside the record");
  n = strlen(s.p);
  if (n > s.n) fail("string without its NUL");
  if (exact && n != s.n) fail("a written string holds a NUL");
}

/* Read everything of a checked record (copied into a block of its size);
** exact: as the writer wrote it. */
static void read_all(const void *bytes, size_t n, int exact) {
  emd_rec *r = malloc(n ? n : 1);
  emd_str row[EMD_ROW_MAXFIELDS];
  char buf[512];
  int t, k, nf, step;
  uint32_t i;
  if (!r) return;
  memcpy(r, bytes, n);
  if (emd_rec_check(r, n)) {
    for (k = 0; k < EMD_NFIELDS; k++) check_str(r, emd_rec_field(r, k), exact);
    for (t = 0; t < EMD_NTABLES; t++) {
      for (i = 0; i < emd_rec_count(r, t); i++) {
        nf = emd_rec_row(r, t, i, row);
        for (k = 0; k < nf; k++) check_str(r, row[k], exact);
      }
      for (step = 2; step >= 0; step--) emd_rec_prefetch(r, t, step);
    }
    emd_rec_prefetch(r, -1, 0);
    emd_rec_problem(r, "2014-02-13", buf, sizeof(buf));
    emd_rec_problem(r, NULL, buf, sizeof(buf));
  }
  free(r);
}

/* The next string of the input: up to the next 0xFF (not included). */
static size_t next_piece(const uint8_t **pp, const uint8_t *end) {
  const uint8_t *p = *pp;
  size_t n = 0;
  while (p + n < end && p[n] != 0xFF) n++;
  *pp = p + n < end ? p + n + 1 : end;
  return n;
}

/* What the reader must give for a string written as p[0..n). */
static int same_text(emd_str s, const uint8_t *p, size_t n) {
  size_t i, at = 0;
  for (i = 0; i < n; i++) {
    if (p[i]) {
      if (at >= s.n || (uint8_t)s.p[at] != p[i]) return 0;
      at++;
    } else {
      if (at + 3 > s.n || memcmp(s.p + at, "\xEF\xBF\xBD", 3)) return 0;
      at += 3;
    }
  }
  return at == s.n;
}

static const int kFields[EMD_NTABLES] = {3, 3, 4, 2};

static void build_and_damage(const uint8_t *data, size_t size) {
  emd_recbuf b;
  const emd_rec *r;
  const uint8_t *p = data, *end = data + size, *first[EMD_NFIELDS];
  size_t len[EMD_NFIELDS], tail = size / 8, i;
  int k, t;
  uint8_t *copy;
  tu_recbuf_init(&b);
  end -= tail; /* the last eighth damages the copy */
  emd_recbuf_begin(&b, EMD_REC_EVENT);
  for (k = 0; k < EMD_NFIELDS; k++) {
    first[k] = p;
    len[k] = next_piece(&p, end);
    emd_recbuf_str(&b, (const char *)first[k], len[k], 0);
  }
  t = 0;
  while (p < end) {
    /* The writer's contract: rows come list by list, in list order. */
    if (*p++ % EMD_NTABLES > t) t = p[-1] % EMD_NTABLES;
    emd_recbuf_row(&b, t);
    for (k = 0; k < kFields[t]; k++) {
      const uint8_t *s = p;
      size_t n = next_piece(&p, end);
      emd_recbuf_str(&b, (const char *)s, n, n == 1 && s[0] == 'T');
    }
  }
  r = emd_recbuf_end(&b, 0);
  if (!r) fail("the writer failed on a small record");
  if (!emd_rec_check(r, r->size)) fail("a written record fails the check");
  for (k = 0; k < EMD_NFIELDS; k++)
    if (!same_text(emd_rec_field(r, k), first[k], len[k]))
      fail("a field does not read back as written");
  read_all(r, r->size, 1);
  copy = malloc(r->size);
  if (copy) {
    memcpy(copy, r, r->size);
    for (i = 0; i + 1 < tail; i += 2)
      copy[((size_t)end[i] * 251 + end[i + 1]) % r->size] ^= end[i + 1] | 1;
    read_all(copy, r->size, 0);
    free(copy);
  }
  emd_recbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] & 1)
    build_and_damage(data + 1, size - 1);
  else
    read_all(data + 1, size - 1, 0);
  return 0;
}
