/* SPDX-License-Identifier: MIT */
/*
** table_sources.c - eventmd_sources: one row per item of an event's
** "Source:" section (except the Cover Image item, which is
** eventmd_events.cover_image).
**
** Usage:
**   SELECT domain, count(*) FROM eventmd_sources('/data/archive')
**    GROUP BY domain ORDER BY 2 DESC;
**   CREATE VIRTUAL TABLE temp.sources
**     USING eventmd_sources(root='/data/archive');
**
** Schema:
**   CREATE TABLE x(
**     event_path TEXT,  -- the event file's path (= eventmd_events.path)
**     ordinal INTEGER,  -- 1-based position among the event's sources
**     name TEXT,        -- link text
**     url TEXT,         -- href, or NULL for an item without a link
**     domain TEXT,      -- host, lower-cased, no port, no leading "www."
**     root HIDDEN
**   );
**
** Example:
**   sqlite> SELECT ordinal, name, domain FROM eventmd_sources('tests/sample')
**      ...>  WHERE event_path LIKE '/news/2013/11/8/%';
**   1|Reuters|reuters.com
**   2|BBC News|bbc.co.uk
**   3|ABC News|abc.net.au
**   4|The Guardian|theguardian.com
*/
#include "scan.h"

enum { COL_EVENT_PATH, COL_ORDINAL, COL_NAME, COL_URL, COL_DOMAIN, COL_ROOT };

static void sources_column(sqlite3_context *ctx, emd_cursor *cur, int col) {
  const emd_str *f;
  if (emd_child_column(ctx, cur, col, COL_ROOT)) return;
  f = emd_row_fields(cur); /* name, url */
  switch (col) {
    case COL_NAME: emd_result_recstr(ctx, f[0]); break;
    case COL_URL: emd_result_recstr(ctx, f[1]); break;
    case COL_DOMAIN: emd_result_recstr(ctx, f[2]); break;
    default: break;
  }
}

const emd_table_def emd_sources_def = {
    "eventmd_sources",
    "CREATE TABLE x(event_path TEXT, ordinal INTEGER, name TEXT, url TEXT, "
    "domain TEXT, root HIDDEN)",
    COL_EVENT_PATH,
    -1,
    COL_ROOT,
    -1,
    1,
    EMD_T_SOURCES,
    0,
    0,
    sources_column};
