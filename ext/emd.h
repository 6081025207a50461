/*
** emd.h - what every part of the extension shares: the SQLite API pointer
** and the one allocator of the extension.
**
** All memory the extension holds comes from sqlite3_malloc64() and goes back
** through sqlite3_free(), so SQLite's memory accounting and fault injection
** (SQLITE_CONFIG_MALLOC) see it.  cmark's memory is cmark's own.
*/
#ifndef EVENTMD_EMD_H
#define EVENTMD_EMD_H

#include <sqlite3ext.h>
#include <stddef.h>

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

/* Copy n bytes of s into a new NUL-terminated string, or NULL. */
char *emd_strndup(const char *s, size_t n);

#endif /* EVENTMD_EMD_H */
