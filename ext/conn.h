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

/* Defaults (documented in the README). */
#define EMD_DEFAULT_MAX_SIZE ((size_t)8 << 20) /* 8 MiB per file */
#define EMD_CACHE_SHARE 8                      /* 1/8 of physical memory */
#define EMD_CACHE_MIN ((size_t)64 << 20)       /* at least 64 MiB */
#define EMD_CACHE_MAX ((size_t)640 << 20)      /* at most 640 MiB */
#define EMD_MAX_THREADS 64                     /* eventmd_config('threads') */

typedef struct emd_conn {
  sqlite3 *db;                 /* the connection */
  emd_cache *cache;            /* parsed files, shared by the tables */
  struct emd_foldersums *sums; /* folder listings (foldersums.c) */
  emd_stats stats;             /* counters for eventmd_stats() */
  int threads;                 /* read-ahead threads incl. the caller */
  int refs;                    /* modules and functions holding this */
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

/* Register the four modules on db with client data conn. */
int emd_register_tables(sqlite3 *db, emd_conn *conn);

#endif /* EVENTMD_CONN_H */
