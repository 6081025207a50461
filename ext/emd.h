/* SPDX-License-Identifier: MIT */
/*
** emd.h - what every part of the extension above the parser shares: the
** SQLite API pointer, SQLite's allocator, and the two rules of the house.
**
** Memory.  What a connection holds for SQLite's sake (tables, cursors, the
** walk, folder listings, entries of a scan) comes from sqlite3_malloc64()
** and goes back through sqlite3_free() (emd_malloc, emd_free), so SQLite's
** accounting and fault injection see it.  The parser's scratch and results
** and the parse cache use the C library's malloc (cache.h says why); the
** inotify state is the process's (watch.h); cmark's memory is cmark's own,
** drawn from the parser's arena.  Memory is freed by the allocator that
** gave it.
**
** Results.  Functions that can fail return an SQLite result code: SQLITE_OK,
** SQLITE_NOMEM, SQLITE_ERROR (with a message set where the error was met),
** and SQLITE_ROW / SQLITE_DONE for "one more" / "no more".  What a system
** call said (errno) travels as data, in an `err` field, never as the return
** value.  The parser unit (text, arena, record, parse, guard, versions) has
** no SQLite in it and returns EVENTMD_OK / EVENTMD_NOMEM (eventmd.h).
*/
#ifndef EVENTMD_EMD_H
#define EVENTMD_EMD_H

#include <sqlite3ext.h>
#include <stddef.h>
#include <string.h>

#ifndef SQLITE_CORE
extern const sqlite3_api_routines *sqlite3_api;
#endif

static inline void *emd_malloc(size_t n) {
  return sqlite3_malloc64(n ? n : 1);
}
static inline void *emd_realloc(void *p, size_t n) {
  return sqlite3_realloc64(p, n ? n : 1);
}
static inline void emd_free(void *p) {
  sqlite3_free(p);
}

/* Copy n bytes of s into a new NUL-terminated string (emd_malloc), or
** NULL. */
static inline char *emd_strndup(const char *s, size_t n) {
  char *p = emd_malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = 0;
  }
  return p;
}

/* The number of tables (eventmd_events, _sources, _related, _changes). */
#define EMD_NTABLES_SQL 4

#endif /* EVENTMD_EMD_H */
