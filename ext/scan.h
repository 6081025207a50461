/* SPDX-License-Identifier: MIT */
/*
** scan.h - what the four virtual tables share: argument checking, the
** planner contract (xBestIndex/xFilter), the scan over event files and the
** cursor.  Each table_*.c file supplies an emd_table_def: its schema, which
** columns need the parsed file, how many rows one event gives, and how to
** show a column.
*/
#ifndef EVENTMD_SCAN_H
#define EVENTMD_SCAN_H

#include <sys/stat.h>

#include "cache.h"
#include "conn.h"
#include "emd.h"
#include "entry.h"
#include "folder.h"
#include "readahead.h"
#include "walk.h"

typedef struct emd_cursor emd_cursor;

/* A table kind. */
typedef struct emd_table_def {
  const char *name;         /* module name, e.g. "eventmd_events" */
  const char *schema;       /* CREATE TABLE x(...) for sqlite3_declare_vtab */
  int col_path;             /* path / event_path column */
  int col_date;             /* date column, or -1 */
  int col_root;             /* hidden root column */
  int col_markdown;         /* hidden markdown column, or -1 */
  int child;                /* 1: rows come from the parsed file's items */
  int list;                 /* child tables: the record's list (EMD_T_*) whose
                               items are the rows; -1 for eventmd_events */
  sqlite3_uint64 meta_cols; /* columns shown without parsing the file */
  sqlite3_uint64 stat_cols; /* columns that need the file's stat() */
  /* Show column col of the cursor's current row. */
  void (*column)(sqlite3_context *ctx, emd_cursor *cur, int col);
} emd_table_def;

extern const emd_table_def emd_events_def;
extern const emd_table_def emd_sources_def;
extern const emd_table_def emd_related_def;
extern const emd_table_def emd_changes_def;
/* The four, in the order above. */
extern const emd_table_def *const emd_table_defs[EMD_NTABLES_SQL];

/* A virtual table. */
typedef struct emd_table {
  sqlite3_vtab base;        /* base class; must be first */
  const emd_table_def *def; /* which table */
  emd_conn *conn;           /* the connection's state */
  char *root;               /* root= argument, or NULL (table-valued use) */
  size_t max_size;          /* max_size= argument: larger files not read */
  int follow_symlinks;      /* follow_symlinks= argument */
  int rootfd;               /* the last root opened, kept for the next scan */
  char *rootfd_path;        /* its path as given */
  struct stat rootfd_st;    /* its identity when opened */
  unsigned rootfd_gen;      /* the allowed roots it was checked against */
  emd_foldermemo memo;      /* folders' versions, kept between statements */
  emd_dir *rootdir;         /* the root as a shared folder (lookups of known
                               files start from it), or NULL */
} emd_table;

/* Where a scan's entries come from. */
enum {
  EMD_MODE_EMPTY,  /* nothing can match */
  EMD_MODE_WALK,   /* the tree in path order (walk.c) */
  EMD_MODE_LOOKUP, /* the paths of a path = / IN constraint */
  EMD_MODE_DATE,   /* date order (dateorder.c) */
  EMD_MODE_ROWID   /* rowid order, or rowid bounds (dateorder.c) */
};

/* What xFilter decoded from the plan and its arguments: the scan to run.
** vtab.c fills it with the emd_plan_* functions; emd_cursor_start() takes
** it over. */
typedef struct emd_plan {
  int flags;         /* EMD_IDX_* */
  int mode;          /* EMD_MODE_* */
  char *root;        /* the root to scan (owned) */
  char **paths;      /* EMD_MODE_LOOKUP: relpaths (owned) */
  int npaths;        /* paths in use */
  int cappaths;      /* paths allocated */
  emd_datefilter df; /* date constraints, for pruning */
  char **df_strings; /* storage for df's strings (owned) */
  int ndf_strings;   /* strings in use */
  int64_t rowid_lo;  /* EMD_MODE_ROWID: the rowids wanted (inclusive) */
  int64_t rowid_hi;
  int empty; /* nothing can match (another table's root) */
} emd_plan;

void emd_plan_init(emd_plan *p);
void emd_plan_free(emd_plan *p);
/* Add one value of a path = / IN constraint (a value that no row can have
** is left out).  SQLITE_OK or SQLITE_NOMEM. */
int emd_plan_add_path(emd_plan *p, sqlite3_value *v);
/* Date constraints: op is 'e' (=; once per value of an IN list too;
** `first`: this = / IN is the first), 'g' >, 'G' >=, 'l' <, 'L' <=. */
int emd_plan_add_date(emd_plan *p, int op, sqlite3_value *v, int first);
/* A rowid constraint: op 'i' =, 'j' >, 'J' >=, 'k' <, 'K' <=. */
void emd_plan_add_rowid(emd_plan *p, int op, sqlite3_value *v);

/* The cursor: scan.c's alone. */
struct emd_cursor {
  sqlite3_vtab_cursor base; /* base class; must be first */
  emd_table *tab;           /* the table */
  emd_plan plan;            /* the scan asked for (owned) */
  int rootfd;               /* open root folder (the table's), or -1 */
  char *root_real;          /* realpath of root (C library memory), or NULL */
  emd_walk *walk;           /* EMD_MODE_WALK */
  struct emd_dateorder *dorder; /* EMD_MODE_DATE, EMD_MODE_ROWID */
  int ipath;                    /* EMD_MODE_LOOKUP: next path */
  emd_scan_ctx sc;              /* what entry processing needs */
  emd_links links;              /* links as shown (site-language prefix) */
  int no_watch;                 /* the cache is off: no watches added */
  emd_ahead ahead;              /* entries, read ahead */
  emd_entry *cur;               /* the current entry, or NULL */
  uint32_t row;                 /* child tables: index inside cur's items */
  int row_decoded;              /* fields[] hold row `row` of cur */
  emd_str fields[EMD_ROW_MAXFIELDS]; /* the current child row's fields */
  int eof;                           /* no current row */
  sqlite3_stmt *tick; /* a tiny statement stepped now and then so that
                           SQLite can interrupt us (emd_cursor_yield) */
  int64_t next_yield; /* monotonic ns of the next tick */
};

/* Plan bits (idxNum); see the planner contract in vtab.c. */
#define EMD_IDX_ORDERED 0x01    /* rows come in path order; ORDER BY consumed */
#define EMD_IDX_PARSE 0x02      /* some column used needs the parsed file */
#define EMD_IDX_MARKDOWN 0x04   /* the markdown column is used */
#define EMD_IDX_NOROOT 0x08     /* no root: xFilter reports the error */
#define EMD_IDX_DATEORDER 0x10  /* rows come in date order (dateorder.c) */
#define EMD_IDX_STAT 0x20       /* size or mtime is used */
#define EMD_IDX_ROWIDORDER 0x40 /* rows come in rowid order (dateorder.c) */

/* Close the root folder a table keeps open (scan.c). */
void emd_table_close_root(emd_table *tab);

/* Cursor life (scan.c). */
int emd_cursor_new(emd_table *tab, emd_cursor **out);
void emd_cursor_free(emd_cursor *c);
void emd_cursor_reset(emd_cursor *c);
/* Start the scan plan asks for (taken over: *plan is emptied) and move to
** the first row. */
int emd_cursor_start(emd_cursor *c, emd_plan *plan);
int emd_cursor_next(emd_cursor *c);
int emd_cursor_rowid(emd_cursor *c, sqlite3_int64 *rowid);
/* Let SQLite stop a long scan: at most every EMD_YIELD_NS of work inside
** xFilter/xNext, step a nested statement on the connection, which sees
** sqlite3_interrupt() and runs the progress handler (SQLite 3.40 has no
** sqlite3_is_interrupted(); from 3.41 it is asked every time too).
** SQLITE_OK, or SQLITE_INTERRUPT when the statement must stop. */
int emd_cursor_yield(emd_cursor *c);
int emd_cursor_yield_cb(void *c);        /* the same, for dateorder.c */
#define EMD_YIELD_NS ((int64_t)10000000) /* 10 ms */

/* Set the table's error message (freeing the previous one); returns rc. */
int emd_cursor_error(emd_cursor *c, int rc, const char *fmt, ...);

/* ------------------------------------------------------------------------
** What a table's column function may ask of the cursor's current row.
*/

/* The row's path ("/news/...md", valid UTF-8), its length. */
const char *emd_row_path(emd_cursor *cur, int *len);
/* The row's date: the path's date, else the date heading's (parses when
** needed); NULL when none. */
const char *emd_row_date(emd_cursor *cur);
/* 1 when the row is a file (not a folder that could not be read). */
int emd_row_is_file(emd_cursor *cur);
/* The parsed file, or NULL when it could not be parsed. */
const emd_rec *emd_row_rec(emd_cursor *cur);
/* The fields of the current child row (see EMD_T_* for their order). */
const emd_str *emd_row_fields(emd_cursor *cur);
/* What the row's folder says of it (day page topic, versions).  NULL when
** out of memory (the column is then an error). */
const emd_rowfolder *emd_row_folder(emd_cursor *cur, int versions,
                                    emd_rowfolder *out);
/* A link as the tables show it (SPEC §2 "Links"). */
emd_str emd_row_link(emd_cursor *cur, emd_str href);
/* The root folder as given. */
const char *emd_row_root(emd_cursor *cur);
/* stat() of the file: 1 and *st set, or 0 when there is none (folders). */
int emd_row_stat(emd_cursor *cur, sqlite3_int64 *size, sqlite3_int64 *mtime);
/* Set the result to the row's problem text (or NULL). */
void emd_result_problem(sqlite3_context *ctx, emd_cursor *cur);
/* Set the result to the file's text (or NULL when it was not read). */
void emd_result_markdown(sqlite3_context *ctx, emd_cursor *cur);

/* Result helpers. */
void emd_result_text(sqlite3_context *ctx, const char *s);
void emd_result_str(sqlite3_context *ctx, emd_str s);
/* The same for a string read out of a record (record.h: NUL-terminated
** there), handed over as such: SQLite's text functions (length(), like(),
** ...) then take it as it is, where a string without its NUL is copied
** again, into fresh memory, for every row. */
void emd_result_recstr(sqlite3_context *ctx, emd_str s);

/* The columns every child table has: event_path (0), ordinal (1) and the
** hidden root (col_root).  Sets the result and returns 1 when col is one of
** them, else returns 0. */
int emd_child_column(sqlite3_context *ctx, emd_cursor *cur, int col,
                     int col_root);

#endif /* EVENTMD_SCAN_H */
