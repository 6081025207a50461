/* SPDX-License-Identifier: MIT */
/*
** text.c - byte and string rules shared by the parser and the tables.
** See text.h.
*/
#include "text.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "eventmd.h"

/*
** Length of the well-formed UTF-8 sequence at s[0..n), or 0 when the bytes
** there do not start one.  *bad receives the length of the maximal
** ill-formed subpart to replace when 0 is returned (at least 1).
** Follows the Unicode "maximal subpart" rule, so repair is deterministic.
*/
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
  unsigned char c = s[0];
  unsigned char lo = 0x80, hi = 0xBF;
  size_t need, i;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
  } else {
    *bad = 1;
    return 0;
  }
  for (i = 1; i < need; i++) {
    unsigned char b;
    if (i >= n) {
      *bad = i;
      return 0;
    }
    b = s[i];
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) {
      *bad = i;
      return 0;
    }
  }
  return need;
}

void emd_utf8_scan(emd_utf8_info *out, const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, outlen = 0;
  out->valid = 1;
  out->has_nul = 0;
  while (i < len) {
#ifdef __SSE2__
    /* Fast path: sixteen ASCII bytes without NUL at a time. */
    if (i + 16 <= len) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
      if ((_mm_movemask_epi8(v) |
           _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()))) == 0) {
        i += 16;
        outlen += 16;
        continue;
      }
    }
#endif
    /* Eight ASCII bytes without NUL at a time. */
    if (i + 8 <= len) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if ((w & 0x8080808080808080ULL) == 0 &&
          ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) == 0) {
        i += 8;
        outlen += 8;
        continue;
      }
    }
    if (s[i] < 0x80) {
      if (s[i] == 0) out->has_nul = 1;
      i++;
      outlen++;
    } else {
      size_t bad = 0, k = utf8_seq(s + i, len - i, &bad);
      if (k) {
        i += k;
        outlen += k;
      } else {
        out->valid = 0;
        i += bad;
        outlen += 3;
      }
    }
  }
  out->repaired_len = outlen;
}

size_t emd_utf8_repair(char *dst, const char *src, size_t len) {
  const unsigned char *s = (const unsigned char *)src;
  size_t i = 0, o = 0;
  while (i < len) {
    size_t bad = 0, k = utf8_seq(s + i, len - i, &bad);
    if (k) {
      memcpy(dst + o, s + i, k);
      o += k;
      i += k;
    } else {
      dst[o++] = (char)0xEF;
      dst[o++] = (char)0xBF;
      dst[o++] = (char)0xBD;
      i += bad;
    }
  }
  return o;
}

int emd_valid_date(int y, int m, int d) {
  static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30,
                                          31, 31, 30, 31, 30, 31};
  if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1) return 0;
  if (d > mdays[m - 1]) return 0;
  if (m == 2 && d == 29) {
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (!leap) return 0;
  }
  return 1;
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

void emd_fmt_date(char o[EMD_DATE_BUF], int y, int m, int d) {
  o[0] = (char)('0' + y / 1000 % 10);
  o[1] = (char)('0' + y / 100 % 10);
  o[2] = (char)('0' + y / 10 % 10);
  o[3] = (char)('0' + y % 10);
  o[4] = '-';
  o[5] = (char)('0' + m / 10 % 10);
  o[6] = (char)('0' + m % 10);
  o[7] = '-';
  o[8] = (char)('0' + d / 10 % 10);
  o[9] = (char)('0' + d % 10);
  o[EMD_DATE_LEN] = 0;
}

int emd_seg_number(const char *s, size_t n, size_t minlen, size_t maxlen) {
  int v = 0;
  size_t i;
  if (n < minlen || n > maxlen || n > 9) return -1;
  for (i = 0; i < n; i++) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

int emd_date_shape(const char *s, size_t n, int *y, int *m, int *d) {
  const char *d1 = memchr(s, '-', n), *d2;
  if (!d1) return 0;
  d2 = memchr(d1 + 1, '-', n - (size_t)(d1 + 1 - s));
  if (!d2) return 0;
  *y = emd_seg_number(s, (size_t)(d1 - s), 4, 4);
  *m = emd_seg_number(d1 + 1, (size_t)(d2 - d1 - 1), 1, 2);
  *d = emd_seg_number(d2 + 1, n - (size_t)(d2 + 1 - s), 1, 2);
  return *y >= 0 && *m >= 0 && *d >= 0;
}

int emd_parse_date(char out[EMD_DATE_BUF], const char *s, size_t n) {
  int y, m, d;
  if (!emd_date_shape(s, n, &y, &m, &d) || !emd_valid_date(y, m, d)) return 0;
  emd_fmt_date(out, y, m, d);
  return 1;
}

int emd_is_iso_date(const char *s, size_t len) {
  char norm[EMD_DATE_BUF];
  return len == EMD_DATE_LEN && emd_parse_date(norm, s, len) &&
         memcmp(norm, s, EMD_DATE_LEN) == 0;
}

/* The first run of three folder names in p[0..end) forming a date: every
** segment followed by a '/' is a folder name. */
static int folders_date(char out[EMD_DATE_BUF], const char *p,
                        const char *end) {
  const char *seg[3];
  size_t segn[3];
  int have = 0;
  while (p < end) {
    const char *s = p, *slash = memchr(p, '/', (size_t)(end - p));
    if (!slash) break; /* the last segment is a file name, not a folder */
    p = slash + 1;
    if (slash == s) continue;
    if (have == 3) {
      seg[0] = seg[1];
      segn[0] = segn[1];
      seg[1] = seg[2];
      segn[1] = segn[2];
      have = 2;
    }
    seg[have] = s;
    segn[have] = (size_t)(slash - s);
    have++;
    if (have == 3) {
      int y = emd_seg_number(seg[0], segn[0], 4, 4);
      int m = emd_seg_number(seg[1], segn[1], 1, 2);
      int d = emd_seg_number(seg[2], segn[2], 1, 2);
      if (y >= 0 && m >= 0 && d >= 0 && emd_valid_date(y, m, d)) {
        emd_fmt_date(out, y, m, d);
        return 1;
      }
    }
  }
  return 0;
}

int emd_relpath_date(char out[EMD_DATE_BUF], const char *path, size_t len) {
  return folders_date(out, path, path + len);
}

int eventmd_path_date(char out[EMD_DATE_BUF], const char *path, size_t len) {
  const char *p = path, *end = path + len;
  const char *q;
  /* Ignore a query or fragment. */
  q = memchr(p, '?', len);
  if (q) end = q;
  q = memchr(p, '#', (size_t)(end - p));
  if (q) end = q;
  /* Skip "scheme://host" of an absolute URL. */
  for (q = p; q < end && q - p < 32; q++) {
    if (*q == ':') {
      if (end - q >= 3 && q[1] == '/' && q[2] == '/') {
        const char *h = q + 3;
        while (h < end && *h != '/') h++;
        p = h;
      }
      break;
    }
    if (*q == '/') break;
  }
  return folders_date(out, p, end);
}

int emd_url_host(const char *url, size_t n, size_t *start, size_t *len) {
  size_t i = 0, a, e, at, h0, h1;
  /* Optional scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
  while (i < n && (url[i] == ' ' || url[i] == '\t')) i++;
  if (i < n && ((url[i] | 0x20) >= 'a' && (url[i] | 0x20) <= 'z')) {
    size_t j = i + 1;
    while (j < n && (((url[j] | 0x20) >= 'a' && (url[j] | 0x20) <= 'z') ||
                     is_digit(url[j]) || url[j] == '+' || url[j] == '-' ||
                     url[j] == '.'))
      j++;
    if (j < n && url[j] == ':') i = j + 1;
  }
  if (n - i < 2 || url[i] != '/' || url[i + 1] != '/') return 0;
  a = i + 2;
  e = a;
  while (e < n && url[e] != '/' && url[e] != '?' && url[e] != '#' &&
         url[e] != '\\')
    e++;
  /* Drop userinfo ("user:pass@"). */
  h0 = a;
  for (at = a; at < e; at++)
    if (url[at] == '@') h0 = at + 1;
  h1 = e;
  if (h0 < e && url[h0] == '[') {
    /* IPv6 literal: keep through ']' */
    size_t k = h0;
    while (k < e && url[k] != ']') k++;
    h1 = k < e ? k + 1 : e;
  } else {
    size_t k;
    for (k = h0; k < e; k++)
      if (url[k] == ':') {
        h1 = k;
        break;
      }
  }
  if (h1 <= h0) return 0;
  *start = h0;
  *len = h1 - h0;
  return 1;
}

int emd_url_domain(const char *url, size_t n, char *out, size_t *len) {
  size_t hs, hl, i;
  if (!emd_url_host(url, n, &hs, &hl)) return 0;
  if (hl > 4 && emd_ascii_ieq(url + hs, 4, "www.")) {
    hs += 4;
    hl -= 4;
  }
  for (i = 0; i < hl; i++) {
    char c = url[hs + i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    out[i] = c;
  }
  *len = hl;
  return 1;
}

int emd_ascii_ieq(const char *a, size_t n, const char *b) {
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (!y) return 0;
    if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
    if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
    if (x != y) return 0;
  }
  return b[n] == 0;
}

/* Eight bytes as a little-endian number, whatever the machine. */
static uint64_t load_le64(const unsigned char *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
         (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
         (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static uint64_t rotl64(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}

uint64_t emd_hash64(const char *str, size_t n) {
  /* Eight bytes at a time, multiply-rotate mixing, then a final avalanche;
  ** the same value on every machine (rowids are made from it). */
  const unsigned char *s = (const unsigned char *)str;
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)n * 0xff51afd7ed558ccdULL);
  unsigned char tail[8];
  while (n >= 8) {
    h ^= load_le64(s) * 0xbf58476d1ce4e5b9ULL;
    h = rotl64(h, 27) * 0x94d049bb133111ebULL;
    s += 8;
    n -= 8;
  }
  memset(tail, 0, sizeof(tail));
  memcpy(tail, s, n);
  h ^= load_le64(tail) * 0xbf58476d1ce4e5b9ULL;
  h = rotl64(h, 31) * 0x94d049bb133111ebULL;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}
