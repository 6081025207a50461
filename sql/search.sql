-- SPDX-License-Identifier: MIT
-- Full-text search: the events matching two words, best first (bm25, the
-- title weighing most, then the topic and the summary), with the words
-- marked in the title (highlight) and the best passage of the text
-- (snippet).  Every version of an event is indexed.
--
-- On a snapshot (no extension needed):
--   sqlite3 -box snapshot.db < sql/search.sql
-- (there events_fts is an external-content index of the events table, which
-- Datasette and sqlite-utils find and search too:
--   sqlite-utils search snapshot.db events 'nile khartoum')
-- Live, without a snapshot:
--   build/bin/eventmd -box tests/sample
--   sqlite> .read sql/fts_live.sql
--   sqlite> .read sql/search.sql
-- Both have events_fts(title, topic, summary, sources) and events_fts_docs(id,
-- path, date, ...).  Choose the query with (sqlite3 shell)
--   .param set @q '"blue nile" AND dam'
-- any FTS5 query: words, "phrases", AND/OR/NOT, prefix*, title:word,
-- topic:word, NEAR();
-- without it, Nile AND Khartoum.
SELECT d.date                                       AS date,
       round(events_fts.rank, 2)                    AS score,
       highlight(events_fts, 0, '[', ']')           AS title,
       snippet(events_fts, -1, '[', ']', '…', 12)   AS passage
  FROM events_fts
  CROSS JOIN events_fts_docs d ON d.id = events_fts.rowid
 WHERE events_fts MATCH coalesce(@q, 'Nile AND Khartoum')
 ORDER BY events_fts.rank, d.path;
