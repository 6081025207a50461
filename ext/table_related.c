/* SPDX-License-Identifier: MIT */
/*
** table_related.c - eventmd_related: one row per item of an event's
** "Related:" section.
**
** Usage:
**   SELECT r.target, r.context FROM eventmd_related('/data/archive') r
**    WHERE r.event_path = '/news/2014/02/13/slug.md';
**   CREATE VIRTUAL TABLE temp.related
**     USING eventmd_related(root='/data/archive');
**
** Schema:
**   CREATE TABLE x(
**     event_path TEXT,   -- the event file's path (= eventmd_events.path)
**     ordinal INTEGER,   -- 1-based position among the event's related items
**     title TEXT,        -- link text
**     target TEXT,       -- href (joins to eventmd_events.path), or NULL;
**                        -- "/zh/news/..." shows as "/news/..." when the
**                        -- root has no folder zh
**     target_date TEXT,  -- YYYY-MM-DD from the target's path, or NULL
**     context TEXT,      -- "_Context: A, B_" (or "_消息: A, B_") gives
**                        -- "A, B"; NULL when absent
**     root HIDDEN
**   );
**
** Example:
**   sqlite> SELECT ordinal, target_date, context
**      ...>   FROM eventmd_related('tests/sample')
**      ...>  WHERE event_path LIKE '/news/2013/11/8/%';
**   1|2013-11-14|Philippines, Typhoon
**   2|2012-12-04|Mindanao
*/
#include "scan.h"

enum {
  COL_EVENT_PATH,
  COL_ORDINAL,
  COL_TITLE,
  COL_TARGET,
  COL_TARGET_DATE,
  COL_CONTEXT,
  COL_ROOT
};

static void related_column(sqlite3_context *ctx, emd_cursor *cur, int col) {
  const emd_str *f;
  emd_str target;
  char date[EMD_DATE_BUF];
  if (emd_child_column(ctx, cur, col, COL_ROOT)) return;
  f = emd_row_fields(cur); /* title, target, context */
  switch (col) {
    case COL_TITLE: emd_result_recstr(ctx, f[0]); break;
    case COL_TARGET: emd_result_str(ctx, emd_row_link(cur, f[1])); break;
    case COL_TARGET_DATE:
      target = emd_row_link(cur, f[1]);
      if (target.p && eventmd_path_date(date, target.p, target.n))
        sqlite3_result_text(ctx, date, EMD_DATE_LEN, SQLITE_TRANSIENT);
      break;
    case COL_CONTEXT: emd_result_recstr(ctx, f[2]); break;
    default: break;
  }
}

const emd_table_def emd_related_def = {
    "eventmd_related",
    "CREATE TABLE x(event_path TEXT, ordinal INTEGER, title TEXT, "
    "target TEXT, target_date TEXT, context TEXT, root HIDDEN)",
    COL_EVENT_PATH,
    -1,
    COL_ROOT,
    -1,
    1,
    EMD_T_RELATED,
    0,
    0,
    related_column};
