/* SPDX-License-Identifier: MIT */
/*
** record.h - one parsed file in compact form: what the tables show of it,
** and nothing else, in one block of bytes.
**
** The parser (parse.c) writes a record; the cache keeps records; the tables
** read their rows out of them.  A record holds only what the file's bytes
** say: nothing derived from its path or from its folder (the date, the
** date problems, is_current and current_path are worked out when a row is
** shown), so one record serves every root that reaches the file.
**
** Layout: a fixed header, the event's strings, then each table's rows, then
** one 32-bit offset per row.  A string is a varint v followed by bytes:
** v = 0 is SQL NULL, v = 1 means "the same text as the title" (a Changes
** item naming the current version repeats the title), otherwise v - 2
** bytes of UTF-8 follow, then a NUL (not counted in v): a string never
** holds a NUL itself (the writer puts U+FFFD for one), so it can be handed
** to SQLite as a NUL-terminated string, which SQLite's text functions then
** use as it is instead of copying it again to terminate it.
**
** No SQLite and no cmark here: bytes in, bytes out.
*/
#ifndef EVENTMD_RECORD_H
#define EVENTMD_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* What a record describes. */
enum { EMD_REC_EVENT = 1, EMD_REC_DAYPAGE = 2 };

/* The event's own strings. */
enum {
  EMD_F_TITLE,        /* plain text of the first H1 */
  EMD_F_TOPIC,        /* the file's own topic heading */
  EMD_F_SUMMARY,      /* summary blocks, "\n\n"-joined */
  EMD_F_COVER,        /* cover image URL */
  EMD_F_DAY_INDEX,    /* href of the date heading's link, as written */
  EMD_F_HEADING_DATE, /* the date heading's date, "YYYY-MM-DD" */
  EMD_F_NOTE,         /* what could not be parsed (guard), or NULL */
  EMD_NFIELDS
};

/* The row lists.  A day page's record has only EMD_T_DAYLINKS. */
enum {
  EMD_T_SOURCES,  /* name, url, domain (worked out once, when parsed) */
  EMD_T_RELATED,  /* title, target (as written), context */
  EMD_T_CHANGES,  /* title, target (as written), changed_at, label */
  EMD_T_DAYLINKS, /* href (as written), topic: the links of a day page */
  EMD_NTABLES
};
#define EMD_ROW_MAXFIELDS 4

/* Problems a record carries (bits); the text is emd_rec_problem()'s. */
#define EMD_RP_UTF8 0x01     /* "invalid UTF-8" */
#define EMD_RP_NUL 0x02      /* "NUL bytes" */
#define EMD_RP_PARTIAL 0x04  /* EMD_F_NOTE says what was not parsed */
#define EMD_RP_NO_TITLE 0x08 /* "no title" */

/* A string inside a record: p == NULL is SQL NULL. */
typedef struct emd_str {
  const char *p;
  uint32_t n;
} emd_str;

/* The header; the bytes follow it in the same block. */
typedef struct emd_rec {
  uint32_t size;           /* bytes of the record, header included */
  uint8_t kind;            /* EMD_REC_* */
  uint8_t problems;        /* EMD_RP_* */
  uint16_t reserved;       /* 0 */
  uint32_t n[EMD_NTABLES]; /* rows of each list */
  uint32_t off_rowidx;     /* where the row offsets start (4-aligned) */
} emd_rec;

/* Is p[0..n) a well-formed record?  Checks everything a reader relies on
** (sizes, kinds, offsets, every string inside the block), so bytes from
** outside (a cache file) are never trusted unchecked.  1 or 0.  p must be
** 4-byte aligned. */
int emd_rec_check(const void *p, size_t n);

/* One of the event's strings. */
emd_str emd_rec_field(const emd_rec *r, int field);

/* Rows of list t. */
static inline uint32_t emd_rec_count(const emd_rec *r, int t) {
  return r->n[t];
}

/* The fields of row i of list t (i < emd_rec_count(r, t)) into out[]; the
** number of fields is returned (2, 3 or 4, see EMD_T_*). */
int emd_rec_row(const emd_rec *r, int t, uint32_t i,
                emd_str out[EMD_ROW_MAXFIELDS]);

/* 1 when a Changes label is "Current version" (any case). */
int emd_label_is_current(emd_str label);

/* Are a and b the same text (both NULL counts as equal)? */
int emd_str_eq(emd_str a, emd_str b);

/* The problem text of a record whose file has path date path_date ("" or
** NULL: none), "; "-joined, into buf (bufsz >= 1).  Returns the length
** written (0: no problem).  A text longer than buf is cut. */
size_t emd_rec_problem(const emd_rec *r, const char *path_date, char *buf,
                       size_t bufsz);

/* ------------------------------------------------------------------------
** Writing records (the parser's side).
*/

/* A growable byte buffer for building a record; reuse between records. */
typedef struct emd_recbuf {
  unsigned char *p; /* bytes (the record being built starts at p) */
  size_t len;       /* bytes used */
  size_t cap;       /* bytes allocated */
  uint32_t *rows;   /* row offsets, appended at the end */
  size_t nrows, caprows;
  int oom; /* an allocation failed: the record is not usable */
  void *(*xRealloc)(void *ctx, void *p, size_t n); /* where memory comes from */
  void (*xFree)(void *ctx, void *p);
  void *ctx;
} emd_recbuf;

/* A hint that r will be read soon, as table t's rows (t < 0: as the
** event's fields): brings part of it into the CPU's cache, in steps that
** each read only what the step before brought in.  Step 2: the header;
** step 1: the offsets of t's rows; step 0: the fields, or t's rows.  A scan
** gives the records 3, 2 and 1 entries ahead steps 2, 1 and 0, so that the
** misses a record's first read would wait for one after another overlap
** with the rows shown meanwhile. */
void emd_rec_prefetch(const emd_rec *r, int t, int step);

/* Start a record of kind in b (its buffers are kept from earlier use). */
void emd_recbuf_begin(emd_recbuf *b, int kind);
/* Append one string (p NULL: SQL NULL; same_as_title: the title's text). */
void emd_recbuf_str(emd_recbuf *b, const char *p, size_t n, int same_as_title);
/* Mark the start of a row of list t; its fields are appended next.  Rows
** come list by list, in EMD_T_* order (a record otherwise fails the
** check). */
void emd_recbuf_row(emd_recbuf *b, int t);
/* Finish: the record is b->p (valid until the next begin).  problems are
** EMD_RP_* bits.  NULL when an allocation failed. */
const emd_rec *emd_recbuf_end(emd_recbuf *b, unsigned problems);
void emd_recbuf_free(emd_recbuf *b);

#endif /* EVENTMD_RECORD_H */
