/* SPDX-License-Identifier: MIT */
/*
** table_events.c - eventmd_events: one row per event file.
**
** Usage:
**   .load ./build/eventmd
**   SELECT date, title FROM eventmd_events('/data/archive')
**    WHERE date = '2014-02-13' AND is_current;
**   CREATE VIRTUAL TABLE temp.events USING eventmd_events(root='/data/archive');
**
** Schema:
**   CREATE TABLE x(
**     path TEXT,           -- root-relative path with a leading '/'
**     date TEXT,           -- YYYY-MM-DD: the path's date, else the heading's
**     title TEXT,          -- plain text of the first H1
**     topic TEXT,          -- the topic heading, else the day page's, or NULL
**     summary TEXT,        -- plain text of the blocks after the H1, or NULL
**     cover_image TEXT,    -- URL of the cover image, or NULL
**     day_index TEXT,      -- href of the date heading's link, or NULL
**     is_current INTEGER,  -- 0 when a newer version supersedes this file
**     current_path TEXT,   -- path of the event's newest version
**     n_sources INTEGER, n_related INTEGER, n_changes INTEGER,
**     size INTEGER,        -- bytes
**     mtime INTEGER,       -- modification time, Unix seconds
**     problem TEXT,        -- NULL for a clean file, else what is wrong
**     root HIDDEN,         -- the archive's root (table-valued argument)
**     markdown HIDDEN      -- the file's text, read only when selected
**   );
**
** is_current, current_path and a topic taken from the day page depend on
** the other files of the event's folder (folder.c, versions.c).
**
** Example (the sample archive):
**   sqlite> SELECT date, n_sources, n_related, n_changes, is_current
**      ...>   FROM eventmd_events('tests/sample')
**      ...>  WHERE path LIKE '/news/2013/11/8/%';
**   2013-11-08|4|2|1|1
*/
#include "scan.h"

enum {
  COL_PATH,
  COL_DATE,
  COL_TITLE,
  COL_TOPIC,
  COL_SUMMARY,
  COL_COVER,
  COL_DAY_INDEX,
  COL_IS_CURRENT,
  COL_CURRENT_PATH,
  COL_N_SOURCES,
  COL_N_RELATED,
  COL_N_CHANGES,
  COL_SIZE,
  COL_MTIME,
  COL_PROBLEM,
  COL_ROOT,
  COL_MARKDOWN
};

#define BIT(c) ((sqlite3_uint64)1 << (c))

/* Columns that come from the folder: the versions, or the day page's topic
** for a file without its own. */
static void folder_column(sqlite3_context *ctx, emd_cursor *cur, int col,
                          const emd_rec *r) {
  emd_rowfolder rf;
  const emd_rowfolder *f;
  if (col == COL_TOPIC && r) {
    emd_str t = emd_rec_field(r, EMD_F_TOPIC);
    if (t.p) {
      emd_result_recstr(ctx, t);
      return;
    }
  }
  f = emd_row_folder(cur, col != COL_TOPIC, &rf);
  if (!f) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  switch (col) {
    case COL_TOPIC: emd_result_str(ctx, f->day_topic); break;
    case COL_IS_CURRENT: sqlite3_result_int(ctx, f->is_current); break;
    default: emd_result_str(ctx, f->current_path); break;
  }
}

static void events_column(sqlite3_context *ctx, emd_cursor *cur, int col) {
  const emd_rec *r;
  sqlite3_int64 size, mtime;
  int n;
  const char *p;
  switch (col) {
    case COL_PATH:
      p = emd_row_path(cur, &n);
      sqlite3_result_text(ctx, p, n, SQLITE_TRANSIENT);
      return;
    case COL_DATE: emd_result_text(ctx, emd_row_date(cur)); return;
    case COL_SIZE:
    case COL_MTIME:
      if (emd_row_stat(cur, &size, &mtime))
        sqlite3_result_int64(ctx, col == COL_SIZE ? size : mtime);
      return;
    case COL_PROBLEM: emd_result_problem(ctx, cur); return;
    case COL_ROOT: emd_result_text(ctx, emd_row_root(cur)); return;
    case COL_MARKDOWN: emd_result_markdown(ctx, cur); return;
    default: break;
  }
  r = emd_row_rec(cur);
  if (col == COL_TOPIC || col == COL_IS_CURRENT || col == COL_CURRENT_PATH) {
    /* Versions hold for every file of the folder, parsed or not. */
    if (emd_row_is_file(cur)) folder_column(ctx, cur, col, r);
    return;
  }
  if (!r) return; /* NULL: not parsed (folder, too large, unreadable) */
  switch (col) {
    case COL_TITLE:
      emd_result_recstr(ctx, emd_rec_field(r, EMD_F_TITLE));
      break;
    case COL_SUMMARY:
      emd_result_recstr(ctx, emd_rec_field(r, EMD_F_SUMMARY));
      break;
    case COL_COVER:
      emd_result_recstr(ctx, emd_rec_field(r, EMD_F_COVER));
      break;
    case COL_DAY_INDEX:
      emd_result_str(ctx, emd_row_link(cur, emd_rec_field(r, EMD_F_DAY_INDEX)));
      break;
    case COL_N_SOURCES:
      sqlite3_result_int64(ctx, emd_rec_count(r, EMD_T_SOURCES));
      break;
    case COL_N_RELATED:
      sqlite3_result_int64(ctx, emd_rec_count(r, EMD_T_RELATED));
      break;
    case COL_N_CHANGES:
      sqlite3_result_int64(ctx, emd_rec_count(r, EMD_T_CHANGES));
      break;
    default: break;
  }
}

const emd_table_def emd_events_def = {
    "eventmd_events",
    "CREATE TABLE x(path TEXT, date TEXT, title TEXT, topic TEXT, "
    "summary TEXT, cover_image TEXT, day_index TEXT, is_current INTEGER, "
    "current_path TEXT, n_sources INTEGER, n_related INTEGER, "
    "n_changes INTEGER, size INTEGER, mtime INTEGER, problem TEXT, "
    "root HIDDEN, markdown HIDDEN)",
    COL_PATH,
    COL_DATE,
    COL_ROOT,
    COL_MARKDOWN,
    0,
    -1,
    BIT(COL_PATH) | BIT(COL_DATE) | BIT(COL_SIZE) | BIT(COL_MTIME) |
        BIT(COL_ROOT),
    BIT(COL_SIZE) | BIT(COL_MTIME),
    events_column};
