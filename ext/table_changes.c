/* SPDX-License-Identifier: MIT */
/*
** table_changes.c - eventmd_changes: one row per item of an event's
** "Changes:" section, its version history.
**
** Usage:
**   SELECT ordinal, changed_at, label, target
**     FROM eventmd_changes('/data/archive')
**    WHERE event_path = '/news/2014/02/13/slug.md';
**   CREATE VIRTUAL TABLE temp.changes
**     USING eventmd_changes(root='/data/archive');
**
** Schema:
**   CREATE TABLE x(
**     event_path TEXT,    -- the event file's path (= eventmd_events.path)
**     ordinal INTEGER,    -- 1-based position in the history
**     title TEXT,         -- link text: the title of that version
**     target TEXT,        -- href of that version's file, or NULL
**     changed_at TEXT,    -- "YYYY-MM-DD HH:MM:SS", or NULL
**     label TEXT,         -- e.g. "First version", "Update", "Current version"
**     is_current INTEGER, -- 1 when label is "Current version"
**     root HIDDEN
**   );
**
** Example:
**   sqlite> SELECT ordinal, changed_at, label
**      ...>   FROM eventmd_changes('tests/sample')
**      ...>  WHERE event_path LIKE '/news/2015/03/23/the-leaders%';
**   1|2017-08-25 03:41:12|First version
**   2|2017-08-27 03:40:55|Update
**   3||Current version
*/
#include "scan.h"

enum {
  COL_EVENT_PATH,
  COL_ORDINAL,
  COL_TITLE,
  COL_TARGET,
  COL_CHANGED_AT,
  COL_LABEL,
  COL_IS_CURRENT,
  COL_ROOT
};

static void changes_column(sqlite3_context *ctx, emd_cursor *cur, int col) {
  const emd_str *f;
  if (emd_child_column(ctx, cur, col, COL_ROOT)) return;
  f = emd_row_fields(cur); /* title, target, changed_at, label */
  switch (col) {
    case COL_TITLE: emd_result_recstr(ctx, f[0]); break;
    case COL_TARGET: emd_result_str(ctx, emd_row_link(cur, f[1])); break;
    case COL_CHANGED_AT: emd_result_recstr(ctx, f[2]); break;
    case COL_LABEL: emd_result_recstr(ctx, f[3]); break;
    case COL_IS_CURRENT:
      sqlite3_result_int(ctx, emd_label_is_current(f[3]));
      break;
    default: break;
  }
}

const emd_table_def emd_changes_def = {
    "eventmd_changes",
    "CREATE TABLE x(event_path TEXT, ordinal INTEGER, title TEXT, "
    "target TEXT, changed_at TEXT, label TEXT, is_current INTEGER, "
    "root HIDDEN)",
    COL_EVENT_PATH,
    -1,
    COL_ROOT,
    -1,
    1,
    EMD_T_CHANGES,
    0,
    0,
    changes_column};
