-- SPDX-License-Identifier: MIT
-- fts_live.sql - full-text search over a live archive, without a snapshot.
--
-- Builds a TEMP FTS5 table, events_fts(title, topic, summary, sources), over
-- the tables events and sources of the session (as eventmd_attach(root) or
-- build/bin/eventmd create them), keyed by the events' stable rowid, with
-- temp.events_fts_docs (id, path, date, size, mtime) saying what each
-- indexed row was built from.  Run it again to bring the index up to date:
-- only new, changed (size or mtime) and deleted files are touched, and only
-- the new and changed ones are read.  Then search with sql/search.sql.
--
--   $ build/bin/eventmd tests/sample
--   sqlite> .read sql/fts_live.sql
--   sqlite> .read sql/search.sql
--   ... files change ...
--   sqlite> .read sql/fts_live.sql          -- catches up
--
-- Nothing is written outside TEMP; the tables vanish with the session.  Same
-- columns, tokenizer and ranking as a snapshot's events_fts
-- (sql/snapshot.sql); that one is an external-content index of the
-- snapshot's events table, while this one keeps its own copy of the text
-- (the live events table is a virtual table, read from the files).  A file's topic can also come from its day page
-- (README.md): when only the day page changes, run DROP TABLE
-- temp.events_fts_docs; DROP TABLE temp.events_fts; and this script again.
-- (A snapshot notices such changes by itself.)

CREATE VIRTUAL TABLE IF NOT EXISTS temp.events_fts USING fts5(
  title, topic, summary, sources,
  tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS temp.events_fts_docs(
  id    INTEGER PRIMARY KEY,  -- events.rowid = events_fts.rowid
  path  TEXT NOT NULL,
  date  TEXT,
  size  INTEGER,              -- when the file was indexed
  mtime INTEGER
);

PRAGMA temp.cache_size = -65536;  -- 64 MiB: a first build of the index

SAVEPOINT fts_live;

INSERT INTO temp.events_fts(events_fts, rank)
  SELECT 'rank', 'bm25(10.0, 5.0, 5.0, 1.0)'
   WHERE NOT EXISTS (SELECT 1 FROM temp.events_fts_config WHERE k = 'rank');

-- What changed since the last run: metadata only, no file is read.
DROP TABLE IF EXISTS temp.events_fts_todo;
CREATE TABLE temp.events_fts_todo(id INTEGER PRIMARY KEY, path TEXT, op TEXT);
CREATE INDEX temp.events_fts_todo_op ON events_fts_todo(op) WHERE op IS NOT NULL;
INSERT INTO temp.events_fts_todo(id, path, op)
  SELECT l.rowid,
         CASE WHEN d.id IS NULL OR d.size IS NOT l.size
                   OR d.mtime IS NOT l.mtime THEN l.path END,
         CASE WHEN d.id IS NULL THEN 'new'
              WHEN d.size IS NOT l.size OR d.mtime IS NOT l.mtime
              THEN 'changed' END
    FROM events l
    LEFT JOIN temp.events_fts_docs d ON d.id = l.rowid;
INSERT INTO temp.events_fts_todo(id, path, op)
  SELECT d.id, NULL, 'deleted'
    FROM temp.events_fts_docs d
   WHERE NOT EXISTS (SELECT 1 FROM temp.events_fts_todo t WHERE t.id = d.id);

DELETE FROM temp.events_fts
 WHERE rowid IN (SELECT id FROM temp.events_fts_todo
                  WHERE op IN ('changed', 'deleted'));
DELETE FROM temp.events_fts_docs
 WHERE id IN (SELECT id FROM temp.events_fts_todo
               WHERE op IN ('changed', 'deleted'));

-- The new and changed files, read once: each event's sources are looked up
-- by its path right after the event itself, while eventmd's parse cache
-- holds the file.
DROP TABLE IF EXISTS temp.events_fts_new;
CREATE TABLE temp.events_fts_new AS
  SELECT e.rowid AS id, e.path, e.date, e.size, e.mtime, e.title, e.topic,
         e.summary,
         (SELECT group_concat(name, ' ; ')
            FROM (SELECT name FROM sources s
                   WHERE s.event_path = e.path ORDER BY s.ordinal)) AS sources
    FROM events e
   WHERE e.path IN (SELECT path FROM temp.events_fts_todo
                     WHERE op IN ('new', 'changed'));
INSERT INTO temp.events_fts_docs(id, path, date, size, mtime)
  SELECT id, path, date, size, mtime FROM temp.events_fts_new;
-- In rowid order: FTS5 flushes its pending terms whenever a rowid is not
-- larger than the last one, and the ids are hashes (3x slower unsorted).
INSERT INTO temp.events_fts(rowid, title, topic, summary, sources)
  SELECT id, title, topic, summary, sources FROM temp.events_fts_new
   ORDER BY id;

DROP TABLE temp.events_fts_new;
DROP TABLE temp.events_fts_todo;
RELEASE fts_live;
