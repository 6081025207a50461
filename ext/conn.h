/* SPDX-License-Identifier: MIT */
/*
** conn.h - the state eventmd keeps per database connection.
**
** One emd_conn is made by sqlite3_eventmd_init() for each connection and is
** the client data of the four modules and of the SQL functions.  It holds
** the parse cache, the folder listings, the counters and the settings.
** Read-ahead threads belong to a scan (readahead.c), not to the
** connection.  Connections share nothing but the process's inotify watch
** (watch.h).
*/
#ifndef EVENTMD_CONN_H
#define EVENTMD_CONN_H

#include "cache.h"
#include "emd.h"
#include "stats.h"

struct emd_foldersums;
struct emd_warm;

/* Defaults (documented in the README). */
#define EMD_DEFAULT_MAX_SIZE ((size_t)8 << 20) /* 8 MiB per file */
#define EMD_CACHE_SHARE 8                      /* 1/8 of physical memory */
#define EMD_CACHE_MIN ((size_t)64 << 20)       /* at least 64 MiB */
#define EMD_CACHE_MAX ((size_t)640 << 20)      /* at most 640 MiB */
#define EMD_MAX_THREADS 64                     /* eventmd_config('threads') */

/* The largest values settings and arguments take. */
#define EMD_MAX_SIZE_LIMIT ((size_t)1 << 30)    /* max_size: 1 GiB */
#define EMD_CACHE_BYTES_LIMIT ((size_t)1 << 40) /* cache_bytes: 1 TiB */

typedef struct emd_conn {
  sqlite3 *db;                 /* the connection */
  emd_cache *cache;            /* parsed files, shared by the tables */
  struct emd_foldersums *sums; /* folder listings (foldersums.c) */
  emd_stats stats;             /* counters for eventmd_stats() */
  int threads;                 /* read-ahead threads incl. the caller */
  int refs;                    /* modules and functions holding this */
  char **roots;                /* allowed roots (realpaths) when confined */
  int nroots;                  /* entries of roots */
  char **env_roots;            /* EVENTMD_ROOTS (realpaths) */
  int nenv_roots;              /* entries of env_roots */
  int confined;                /* roots are limited to roots[] */
  int env_confined;            /* ... by EVENTMD_ROOTS: never wider */
  unsigned roots_gen;          /* changes whenever roots change */
  int locked;                  /* eventmd_config('lock') was called */
  struct emd_cachefile *cf;    /* the persistent cache, or NULL */
  struct emd_warm *warm;       /* the memory cache filled from cf (warm.h) */
  char *cf_error;              /* why EVENTMD_CACHE_FILE was not used */
} emd_conn;

/* A new connection state, or NULL (out of memory). */
emd_conn *emd_conn_new(sqlite3 *db);
emd_conn *emd_conn_ref(emd_conn *c);
void emd_conn_release(void *c); /* signature of a SQLite destructor */

/* The default parse cache bound: an eighth of physical memory, between
** EMD_CACHE_MIN and EMD_CACHE_MAX. */
size_t emd_conn_default_cache_bytes(void);

/* Set the parse cache bound (folder listings get their share of it). */
void emd_conn_set_cache_bytes(emd_conn *c, size_t bytes);

/* Confinement (README "Running eventmd behind a web UI").  Roots given by
** EVENTMD_ROOTS (folders separated by ':', read when the extension is
** loaded into the connection) or eventmd_config('roots', ...) limit the
** roots a table may use to those folders and below; roots set by the
** environment cannot be widened from SQL, and eventmd_config('lock') makes
** every setting read-only for the connection's lifetime. */

/* Set the allowed roots from a ':'-separated list (NULL or "": no limit,
** unless the environment set one).  SQLITE_OK, or SQLITE_ERROR / _NOMEM
** with *msg (sqlite3_malloc'd). */
int emd_conn_set_roots(emd_conn *c, const char *list, char **msg);

/* The one root check: root must be a readable directory and, when roots
** are limited, inside one of them (its realpath, so links cannot lead out).
** Nothing under it is read.  SQLITE_OK, or SQLITE_ERROR / _NOMEM with *msg
** (sqlite3_malloc'd) naming the root. */
int emd_conn_check_root(emd_conn *c, const char *root, char **msg);

/* Use the cache file at path (NULL or "": none).  Refused on a locked or
** confined connection (a web UI's visitor must not choose where eventmd
** writes); EVENTMD_CACHE_FILE is the way there.  SQLITE_OK, or an error
** with *msg (sqlite3_malloc'd). */
int emd_conn_set_cache_file(emd_conn *c, const char *path, char **msg);

/* End of a statement's scan: write what the cache file queued. */
void emd_conn_statement_done(emd_conn *c);

/* The message of a refused setting change on a locked connection. */
#define EMD_LOCKED_MSG "eventmd: settings are locked for this connection"

#endif /* EVENTMD_CONN_H */
