/* SPDX-License-Identifier: MIT */
/*
** fuzzutil.h - what the two fuzz targets share: how an invariant fails, and
** a UTF-8 validator of our own (RFC 3629: no overlongs, no surrogates,
** nothing above U+10FFFF; NUL is a valid character here).  Define FUZZ_NAME
** before including.
*/
#ifndef EVENTMD_FUZZUTIL_H
#define EVENTMD_FUZZUTIL_H

#include <stdio.h>
#include <stdlib.h>

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "\n*** " FUZZ_NAME " invariant violated: %s%s%s\n", what,
          detail ? ": " : "", detail ? detail : "");
  abort();
}

#define CHECK(cond, what)           \
  do {                              \
    if (!(cond)) fail(what, #cond); \
  } while (0)

static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i], need, k;
    unsigned long cp;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (n - i <= need) return 0;
    for (k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    if (cp > 0x10FFFF) return 0;
    i += need + 1;
  }
  return 1;
}

#endif /* EVENTMD_FUZZUTIL_H */
