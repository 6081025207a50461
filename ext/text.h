/*
** text.h - small byte and string rules shared by the parser and the tables:
** UTF-8 checking and repair, calendar dates, URL hosts.  No SQLite, no cmark.
*/
#ifndef EVENTMD_TEXT_H
#define EVENTMD_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* What emd_utf8_scan() found. */
typedef struct emd_utf8_info {
  int valid;           /* 1 when every byte sequence is well-formed UTF-8 */
  int has_nul;         /* 1 when a NUL byte occurs */
  size_t repaired_len; /* length after emd_utf8_repair() (== len when valid) */
} emd_utf8_info;

/* Scan bytes once: validity, NUL bytes, and the repaired length. */
void emd_utf8_scan(emd_utf8_info *out, const char *s, size_t len);

/* Copy src to dst, replacing each maximal ill-formed subsequence with U+FFFD.
** dst must hold info->repaired_len bytes (from emd_utf8_scan).  Returns the
** number of bytes written. */
size_t emd_utf8_repair(char *dst, const char *src, size_t len);

/* 1 when y-m-d is a real calendar date (1 <= y <= 9999). */
int emd_valid_date(int y, int m, int d);

/* 1 when s[0..10) is "YYYY-MM-DD" naming a real date. */
int emd_is_iso_date(const char *s, size_t len);

/* Find the host of a URL: sets *start and *len to the host's bytes inside url
** (without userinfo and port) and returns 1, or returns 0 when the URL has no
** host (no "//" authority).  The caller lower-cases and drops "www.". */
int emd_url_host(const char *url, size_t n, size_t *start, size_t *len);

/* ASCII white space as CommonMark sees it (space, tab, CR, LF, VT, FF). */
static inline int emd_is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/* ASCII case-insensitive equality of a[0..n) with the NUL-terminated b. */
int emd_ascii_ieq(const char *a, size_t n, const char *b);

/* 64-bit hash of bytes (stable across runs and builds; not cryptographic). */
uint64_t emd_hash64(const char *s, size_t n);

#endif /* EVENTMD_TEXT_H */
