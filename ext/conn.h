/*
** conn.h - the state eventmd keeps per database connection.
**
** One emd_conn is made by sqlite3_eventmd_init() for each connection and is
** the client data of the four modules and of the SQL functions.  It holds
** the parse cache, the counters and the settings; there is no global
** mutable state, so connections in different threads never meet.
*/
#ifndef EVENTMD_CONN_H
#define EVENTMD_CONN_H

#include "cache.h"
#include "emd.h"
#include "stats.h"

struct emd_pool;

/* Defaults (documented in the README). */
#define EMD_DEFAULT_CACHE_BYTES ((size_t)256 << 20) /* 256 MiB */
#define EMD_DEFAULT_MAX_SIZE ((size_t)8 << 20)      /* 8 MiB per file */

typedef struct emd_conn {
  sqlite3 *db;                 /* the connection */
  emd_cache *cache;            /* parsed files, shared by the four tables */
  struct emd_foldersums *sums; /* year/month folder summaries (walk.c) */
  emd_stats stats;             /* counters for eventmd_stats() */
  int threads;           /* read-ahead threads incl. the caller; 1 = none */
  struct emd_pool *pool; /* read-ahead workers, started on first use */
  int refs;              /* modules and functions holding this */
} emd_conn;

emd_conn *emd_conn_ref(emd_conn *c);
void emd_conn_release(void *c); /* signature of a SQLite destructor */

/* Register the four modules on db with client data conn. */
int emd_register_tables(sqlite3 *db, emd_conn *conn);

#endif /* EVENTMD_CONN_H */
