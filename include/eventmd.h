/* SPDX-License-Identifier: MIT */
/*
** eventmd.h - public interface of eventmd.
**
** eventmd is a loadable SQLite extension that shows an archive of news-event
** markdown files (one file per event, in day folders such as
** news/2014/02/13/<slug>.md) as four live virtual tables: eventmd_events,
** eventmd_sources, eventmd_related and eventmd_changes.
**
** This header has two parts:
**
**   1. The SQLite entry point, for hosts that link eventmd statically.
**      Hosts that load the shared library (".load ./build/eventmd") need
**      nothing from here.
**
**   2. The parser's C API: bytes of one event file in, one parsed event out.
**      It has no SQLite inside, so it can be unit-tested, fuzzed and
**      benchmarked alone.  All markdown parsing is done by cmark.
**
** Ownership: an eventmd_event returned through **out belongs to the caller
** and is released with eventmd_event_free().  Every pointer inside it points
** into the same single allocation and lives exactly as long as the event;
** how it is freed is kept out of sight, in front of it.
*/
#ifndef EVENTMD_H
#define EVENTMD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVENTMD_VERSION_MAJOR 1
#define EVENTMD_VERSION_MINOR 1
#define EVENTMD_VERSION_PATCH 0
#define EVENTMD_VERSION "1.1.0"

/* ---------------------------------------------------------------------------
** 1. SQLite entry point.
**
** Registers the four modules and the SQL functions eventmd_version(),
** eventmd_stats(), eventmd_config() and eventmd_attach() on one connection.
** Each connection gets its own state (parse cache, worker threads, counters);
** nothing is shared between connections.
*/
struct sqlite3;
struct sqlite3_api_routines;
int sqlite3_eventmd_init(struct sqlite3 *db, char **pzErrMsg,
                         const struct sqlite3_api_routines *pApi);

/* ---------------------------------------------------------------------------
** 2. The parser.
*/

/* Result codes of the parser API. */
#define EVENTMD_OK 0
#define EVENTMD_NOMEM 1 /* an allocation failed; nothing was returned */

/* Problem bits found while parsing (eventmd_event.problems).  The text form
** is eventmd_event.problem. */
#define EVENTMD_PROBLEM_UTF8 0x01      /* "invalid UTF-8" (bytes -> U+FFFD) */
#define EVENTMD_PROBLEM_NUL 0x02       /* "NUL bytes" (NUL -> U+FFFD) */
#define EVENTMD_PROBLEM_UNSAFE 0x04    /* "not parsed: ..." (see the guard) */
#define EVENTMD_PROBLEM_NO_TITLE 0x08  /* "no title" */
#define EVENTMD_PROBLEM_NO_DATE 0x10   /* "no date" */
#define EVENTMD_PROBLEM_DATE_DIFF 0x20 /* "date heading X differs from path" */

/* One row of eventmd_sources.  Strings are UTF-8; NULL means SQL NULL. */
typedef struct eventmd_source {
  const char *name;   /* link text (or the item's text when it has no link) */
  const char *url;    /* href, or NULL when the item has no link */
  const char *domain; /* host, lower-cased, no port, no leading "www." */
} eventmd_source;

/* One row of eventmd_related. */
typedef struct eventmd_related {
  const char *title;       /* link text */
  const char *target;      /* href as written, or NULL */
  const char *target_date; /* "YYYY-MM-DD" from the target's path, or NULL */
  const char *context;     /* the annotation without "Context:", or NULL */
} eventmd_related;

/* One row of eventmd_changes. */
typedef struct eventmd_change {
  const char *title;      /* link text */
  const char *target;     /* href as written, or NULL */
  const char *changed_at; /* "YYYY-MM-DD HH:MM:SS", or NULL */
  const char *label;      /* e.g. "First version", "Current version", or NULL */
  int is_current;         /* 1 when label is "Current version" */
} eventmd_change;

/* A parsed event file.  The parser sees one file: what depends on the other
** files of its folder (SPEC "Versions": the tables' is_current and
** current_path, a topic taken from the day page) is not here. */
typedef struct eventmd_event {
  const char *date;         /* effective date: path date, else heading date */
  const char *path_date;    /* date of the path given to the parser, or NULL */
  const char *heading_date; /* the date heading's date as YYYY-MM-DD, or NULL */
  const char *title;        /* plain text of the first H1, or NULL */
  const char *topic;        /* the file's own topic heading, or NULL */
  const char *summary;      /* plain text of the summary blocks, or NULL */
  const char *cover_image;  /* URL of the first cover image, or NULL */
  const char *day_index;    /* href of the date heading's link, or NULL */
  const char *problem;      /* "; "-joined problem texts, or NULL when clean */
  unsigned problems;        /* EVENTMD_PROBLEM_* bits */
  int is_current;           /* 0 when the file's own first "Current version"
                               item links to another path, else 1 */
  uint32_t n_sources;       /* entries in sources[] */
  uint32_t n_related;       /* entries in related[] */
  uint32_t n_changes;       /* entries in changes[] */
  const eventmd_source *sources;
  const eventmd_related *related;
  const eventmd_change *changes;
  size_t mem_size; /* bytes held by this event (one allocation) */
} eventmd_event;

/* Allocator used for everything the parser returns and its scratch memory.
** cmark's own memory is allocated and freed by cmark. */
typedef struct eventmd_allocator {
  void *(*xMalloc)(void *ctx, size_t n);
  void *(*xRealloc)(void *ctx, void *p, size_t n);
  void (*xFree)(void *ctx, void *p);
  void *ctx;
} eventmd_allocator;

/*
** A parser: reusable scratch memory for parsing many files, one at a time,
** on one thread at a time.  cmark parses into an arena owned by the parser,
** released at once after each file and bounded per file (see
** EVENTMD_PROBLEM_UNSAFE).  Parsing without one works too (eventmd_parse
** then makes a temporary one), only slower.
*/
typedef struct eventmd_parser eventmd_parser;

/* A new parser drawing memory from alloc (NULL: malloc/realloc/free; the
** allocator is copied).  NULL on out-of-memory. */
eventmd_parser *eventmd_parser_new(const eventmd_allocator *alloc);
void eventmd_parser_free(eventmd_parser *p);

/* Parser options.  A zeroed struct (or NULL) means the defaults. */
typedef struct eventmd_parse_options {
  const eventmd_allocator *alloc; /* result memory; NULL: malloc/realloc/free */
  eventmd_parser *parser;         /* scratch to reuse, or NULL */
} eventmd_parse_options;

/*
** Parse one event file.
**
**   out    receives the event (caller owns it; free with eventmd_event_free)
**   bytes  the file's bytes (need not be NUL-terminated; may hold any bytes)
**   len    number of bytes
**   path   the file's root-relative path with a leading '/', or NULL; it
**          gives the path date (read literally from its folder names) and
**          decides is_current
**   opts   options, or NULL
**
** Returns EVENTMD_OK or EVENTMD_NOMEM.  Bad input is never an error: it is
** reported in (*out)->problems / ->problem.
*/
int eventmd_parse(eventmd_event **out, const char *bytes, size_t len,
                  const char *path, const eventmd_parse_options *opts);

/* Release an event returned by eventmd_parse().  NULL is a no-op. */
void eventmd_event_free(eventmd_event *ev);

/*
** Structural guard: returns NULL when the bytes are safe to hand to cmark,
** else a static message naming what makes them unsafe (e.g. nesting that the
** cmark release in use parses in quadratic time).  Linear in len.
*/
const char *eventmd_guard(const char *bytes, size_t len);

/*
** The date of a link: the first run of folders /YYYY/M/D/ (month and day one
** or two digits, a real calendar date).  Writes "YYYY-MM-DD" and a NUL into
** out[11] and returns 1, or returns 0 when the path has no date.  A URL's
** scheme, host, query and fragment are ignored.
*/
int eventmd_path_date(char out[11], const char *path, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* EVENTMD_H */
