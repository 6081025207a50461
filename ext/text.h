/* SPDX-License-Identifier: MIT */
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

/* Dates.  eventmd shows every date as "YYYY-MM-DD": EMD_DATE_LEN bytes, plus
** a NUL in buffers of EMD_DATE_BUF. */
#define EMD_DATE_LEN 10
#define EMD_DATE_BUF 11

/* 1 when y-m-d is a real calendar date (1 <= y <= 9999). */
int emd_valid_date(int y, int m, int d);

/* Write "YYYY-MM-DD" and a NUL (y 0..9999, m and d 0..99). */
void emd_fmt_date(char out[EMD_DATE_BUF], int y, int m, int d);

/* Value of s[0..n) when it is minlen..maxlen ASCII digits, else -1 (at most
** 9 digits are read). */
int emd_seg_number(const char *s, size_t n, size_t minlen, size_t maxlen);

/* Is s[0..n) date-shaped, "YYYY-M-D" (4 digits, 1-2 digits, 1-2 digits)?
** 1 with *y, *m, *d set (not checked as a calendar date), else 0. */
int emd_date_shape(const char *s, size_t n, int *y, int *m, int *d);

/* Is s[0..n) a date as the archive writes it, "YYYY-M-D", naming a real day?
** 1 with the normalised "YYYY-MM-DD" in out, else 0. */
int emd_parse_date(char out[EMD_DATE_BUF], const char *s, size_t n);

/* 1 when s[0..len) is "YYYY-MM-DD" naming a real date. */
int emd_is_iso_date(const char *s, size_t len);

/* The date of a root-relative file path, read literally from its folder names
** (SPEC: the first run of folders /YYYY/M/D/; '?' and '#' are ordinary
** characters in a name).  1 with out set, else 0.  eventmd_path_date() is
** the same rule for links, which ignores a URL's scheme, host, query and
** fragment. */
int emd_relpath_date(char out[EMD_DATE_BUF], const char *path, size_t len);

/* Find the host of a URL: sets *start and *len to the host's bytes inside url
** (without userinfo and port) and returns 1, or returns 0 when the URL has no
** host (no "//" authority).  The caller lower-cases and drops "www.". */
int emd_url_host(const char *url, size_t n, size_t *start, size_t *len);

/* The domain of a URL as eventmd_sources shows it: its host, lower-cased,
** without port and one leading "www.".  Writes it into out (room for n
** bytes: a domain is never longer than its URL) and returns 1 with *len
** set, or returns 0 when the URL has no host. */
int emd_url_domain(const char *url, size_t n, char *out, size_t *len);

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
