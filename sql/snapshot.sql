-- snapshot.sql - build or refresh a snapshot of an archive in a plain SQLite
-- file, for tools that cannot load extensions (Metabase, Grafana, Datasette,
-- DB Browser...).  The snapshot needs no extension to be read: plain tables,
-- plain views and an FTS5 index (events_fts).
--
-- Run it with the snapshot file as the main database and the archive
-- attached as TEMP tables live_events, live_sources, live_related and
-- live_changes:
--
--   sqlite3 snapshot.db
--   sqlite> .load build/eventmd
--   sqlite> SELECT eventmd_attach('/data/archive', 'live_');
--   sqlite> .read sql/snapshot.sql
--
-- or simply:  build/bin/eventmd-snapshot /data/archive snapshot.db
--
-- The same script builds the snapshot the first time (an empty file: every
-- event is new) and refreshes it afterwards, incrementally, in ONE write
-- transaction: readers (in WAL mode) see the old snapshot or the new one,
-- never a half-refreshed one.
--
-- How a refresh works (numbers as in the script below):
--   1. One pass over the live archive's metadata (rowid, path, size, mtime;
--      no event file is read), looked up in the snapshot by id (eventmd's
--      rowid, a stable hash of the path): the new files and the changed
--      ones (size or mtime differ) are listed, and counted with the files
--      the snapshot already has.
--   2. Only when that count shows that some of the snapshot's events are
--      gone does a second metadata pass list the ids still there, to find
--      the deleted ones.
--   3. The rows of changed and deleted events are deleted (events, sources,
--      related, changes, events_fts).
--   4. New and changed events are read from the live tables with
--      WHERE path IN (...) / event_path IN (...): only those files are
--      parsed, once each (in batches, while eventmd's parse cache holds
--      them), then indexed for full-text search.
--   5. snapshot_info records what was done.
-- Unchanged events keep their rows as they were (same rowids in every table,
-- pages not rewritten), so a refresh costs one metadata walk of the archive
-- plus the work on the files that changed.
--
-- A file that changes while the script runs is simply seen as changed by the
-- next refresh: its row keeps the size and mtime it had when it was read.
-- What is compared is size and mtime in whole seconds (eventmd's columns): a
-- rewrite that keeps both is not seen.
--
-- Layout: delete the file to rebuild from scratch (e.g. after an eventmd
-- upgrade that changes what is parsed: the file metadata would not show it).

PRAGMA journal_mode = WAL;      -- readers never wait for the refresh
PRAGMA synchronous = NORMAL;    -- WAL: a crash can lose the last refresh, never
                                -- corrupt the file (the next run redoes it)
PRAGMA busy_timeout = 60000;    -- wait for another refresh to end
PRAGMA journal_size_limit = 67108864;  -- do not keep a huge -wal after a full build
PRAGMA cache_size = -65536;     -- 64 MiB: index building on a first build
-- (Not PRAGMA temp_store here: changing it drops every TEMP table, the live_
-- tables included.  The caller may set it before eventmd_attach.)

BEGIN IMMEDIATE;

-- ---------------------------------------------------------------------------
-- The tables: the live tables' columns, plus event_id (= events.id) in the
-- child tables.
CREATE TABLE IF NOT EXISTS events(
  id          INTEGER PRIMARY KEY,   -- eventmd's rowid: a stable hash of path
  path        TEXT NOT NULL UNIQUE,  -- '/news/2014/02/13/slug.md'
  date        TEXT,                  -- YYYY-MM-DD
  title       TEXT,
  summary     TEXT,
  cover_image TEXT,
  day_index   TEXT,
  is_current  INTEGER,               -- 0 for an older version of an event
  n_sources   INTEGER,
  n_related   INTEGER,
  n_changes   INTEGER,
  size        INTEGER,               -- bytes, when the file was read
  mtime       INTEGER,               -- Unix seconds, when the file was read
  problem     TEXT                   -- NULL, or what is wrong with the file
);
CREATE INDEX IF NOT EXISTS events_date ON events(date);
-- What a refresh compares with the files (see 1. below).
CREATE INDEX IF NOT EXISTS events_file ON events(id, size, mtime);

CREATE TABLE IF NOT EXISTS sources(
  event_id   INTEGER NOT NULL REFERENCES events(id),
  event_path TEXT NOT NULL,
  ordinal    INTEGER NOT NULL,
  name       TEXT,
  url        TEXT,
  domain     TEXT,
  PRIMARY KEY(event_path, ordinal)
);
CREATE INDEX IF NOT EXISTS sources_event_id ON sources(event_id);
CREATE INDEX IF NOT EXISTS sources_domain ON sources(domain);

CREATE TABLE IF NOT EXISTS related(
  event_id    INTEGER NOT NULL REFERENCES events(id),
  event_path  TEXT NOT NULL,
  ordinal     INTEGER NOT NULL,
  title       TEXT,
  target      TEXT,                  -- joins events.path (when in the archive)
  target_date TEXT,
  context     TEXT,
  PRIMARY KEY(event_path, ordinal)
);
CREATE INDEX IF NOT EXISTS related_event_id ON related(event_id);
CREATE INDEX IF NOT EXISTS related_target ON related(target);
CREATE INDEX IF NOT EXISTS related_target_date ON related(target_date);

CREATE TABLE IF NOT EXISTS changes(
  event_id   INTEGER NOT NULL REFERENCES events(id),
  event_path TEXT NOT NULL,
  ordinal    INTEGER NOT NULL,
  title      TEXT,
  target     TEXT,                   -- joins events.path (when in the archive)
  changed_at TEXT,
  label      TEXT,
  is_current INTEGER,
  PRIMARY KEY(event_path, ordinal)
);
CREATE INDEX IF NOT EXISTS changes_event_id ON changes(event_id);
CREATE INDEX IF NOT EXISTS changes_target ON changes(target);

-- Full-text search: rowid = events.id; sources = the event's source names
-- joined with ' ; '.  See sql/search.sql.
-- ORDER BY rank is bm25 with the title weighing most.  events_fts_docs
-- names each indexed event (sql/fts_live.sql has a table of that name too, so
-- sql/search.sql runs on both).
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
  title, summary, sources,
  tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO events_fts(events_fts, rank)
  SELECT 'rank', 'bm25(10.0, 5.0, 1.0)'
   WHERE NOT EXISTS (SELECT 1 FROM events_fts_config WHERE k = 'rank');
DROP VIEW IF EXISTS events_fts_docs;
CREATE VIEW events_fts_docs AS SELECT id, path, date, size, mtime FROM events;

CREATE TABLE IF NOT EXISTS snapshot_info(key TEXT PRIMARY KEY, value);

-- ---------------------------------------------------------------------------
-- Views: the questions of sql/*.sql, in plain SQL (no extension needed).
-- Recreated on every run so that a newer script updates them.

-- sql/events_per_month.sql: files, events (current versions) and sources
-- cited by current versions, per month.
DROP VIEW IF EXISTS events_per_month;
CREATE VIEW events_per_month AS
SELECT substr(date, 1, 7)          AS month,
       count(*)                    AS files,
       sum(is_current)             AS events,
       sum(n_sources * is_current) AS sources
  FROM events
 WHERE date IS NOT NULL
 GROUP BY month
 ORDER BY month;

-- sql/top_outlets.sql: outlets by domain over current versions, most cited
-- first (every domain; add LIMIT 10 for the top ten).
DROP VIEW IF EXISTS top_outlets;
CREATE VIEW top_outlets AS
SELECT s.domain                  AS domain,
       count(*)                  AS citations,
       min(substr(e.date, 1, 4)) AS first_year,
       max(substr(e.date, 1, 4)) AS last_year
  FROM events e
  JOIN sources s ON s.event_id = e.id
 WHERE e.is_current AND s.domain IS NOT NULL
 GROUP BY s.domain
 ORDER BY citations DESC, domain;

-- sql/dangling_links.sql: related targets that are not in the archive.
DROP VIEW IF EXISTS dangling_links;
CREATE VIEW dangling_links AS
SELECT r.target        AS missing_target,
       r.target_date   AS target_date,
       count(*)        AS cited_by
  FROM related r
 WHERE r.target IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM events e WHERE e.path = r.target)
 GROUP BY r.target
 ORDER BY cited_by DESC, r.target;

-- sql/problems.sql: files eventmd could not read cleanly, and why.
DROP VIEW IF EXISTS problems;
CREATE VIEW problems AS
SELECT path, date, problem
  FROM events
 WHERE problem IS NOT NULL
 ORDER BY path;

-- sql/version_history.sql, for every event at once: each current version's
-- Changes list, oldest first, and whether each version's file is in the
-- archive.  Filter on event_path.
DROP VIEW IF EXISTS version_history;
CREATE VIEW version_history AS
SELECT c.event_path                           AS event_path,
       e.title                                AS event_title,
       c.ordinal                              AS n,
       c.changed_at                           AS changed_at,
       c.label                                AS label,
       CASE WHEN v.id IS NULL THEN 'missing'
            ELSE 'in archive' END             AS file,
       c.target                               AS version_path,
       c.title                                AS title_of_that_version
  FROM events e
  JOIN changes c ON c.event_id = e.id
  LEFT JOIN events v ON v.path = c.target
 WHERE e.is_current
 ORDER BY c.event_path, c.ordinal;

-- The related-event graph's edges (sql/related_two_hops.sql walks them):
-- one row per related link, with both ends' dates and titles; to_title is
-- NULL when the target is not in the archive.
DROP VIEW IF EXISTS related_pairs;
CREATE VIEW related_pairs AS
SELECT r.event_path       AS from_path,
       e.date             AS from_date,
       e.title            AS from_title,
       r.target           AS to_path,
       r.target_date      AS to_date,
       t.title            AS to_title,
       t.id IS NOT NULL   AS in_archive,
       r.context          AS context
  FROM related r
  JOIN events e ON e.id = r.event_id
  LEFT JOIN events t ON t.path = r.target
 WHERE r.target IS NOT NULL;

-- ---------------------------------------------------------------------------
-- 1. One pass over the live archive's metadata (no event file is read),
-- compared with the snapshot's: how many files there are, how many of them
-- the snapshot has, and the new and changed ones (id, path, op) as a JSON
-- array, in path order.  Only aggregates: nothing is stored per unchanged
-- file.  The lookups use the small covering index events_file, not the
-- events' wide rows.
DROP TABLE IF EXISTS temp.snapshot_scan;
CREATE TEMP TABLE snapshot_scan(started, live, matched, todo);
INSERT INTO temp.snapshot_scan(started) VALUES (julianday('now'));
UPDATE temp.snapshot_scan SET (live, matched, todo) = (
  SELECT count(*),
         count(e.id),
         json_group_array(json_array(l.rowid, l.path,
                                     CASE WHEN e.id IS NULL THEN 'new'
                                          ELSE 'changed' END))
           FILTER (WHERE e.id IS NULL OR e.size IS NOT l.size
                      OR e.mtime IS NOT l.mtime)
    FROM temp.live_events l
    LEFT JOIN main.events e INDEXED BY events_file ON e.id = l.rowid);

-- 2. What to do: op 'new', 'changed' or 'deleted'; the files to read come
-- in batches of 1000 (in path order), see 4.
DROP TABLE IF EXISTS temp.snapshot_todo;
CREATE TEMP TABLE snapshot_todo(
  id INTEGER PRIMARY KEY, path TEXT, op TEXT NOT NULL, batch INTEGER);
INSERT INTO temp.snapshot_todo(id, path, op, batch)
  SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),
         json_extract(value, '$[2]'), key / 1000
    FROM json_each((SELECT todo FROM temp.snapshot_scan));
CREATE INDEX temp.snapshot_todo_batch ON snapshot_todo(batch);

-- Deleted events: only when some of the snapshot's events were not seen
-- (matched <> its count) is a second metadata pass needed, to list the ids
-- that are still there.  Otherwise these statements read nothing: the
-- CROSS JOIN puts the one-row-or-none some_gone first, so with no row the
-- live table is never scanned (a plain WHERE on the subqueries is not
-- enough: the walk would start anyway).  A file gone since step 1
-- counts as deleted even if it was seen changed.
DROP TABLE IF EXISTS temp.snapshot_live;
CREATE TEMP TABLE snapshot_live(id INTEGER PRIMARY KEY);
INSERT OR IGNORE INTO temp.snapshot_live(id)
  SELECT l.rowid
    FROM (SELECT 1 FROM temp.snapshot_scan
           WHERE matched <> (SELECT count(*) FROM main.events)) AS some_gone
   CROSS JOIN temp.live_events l;
INSERT OR REPLACE INTO temp.snapshot_todo(id, path, op)
  SELECT e.id, NULL, 'deleted'
    FROM (SELECT 1 FROM temp.snapshot_scan
           WHERE matched <> (SELECT count(*) FROM main.events)) AS some_gone
   CROSS JOIN main.events e INDEXED BY events_file
   WHERE NOT EXISTS (SELECT 1 FROM temp.snapshot_live l WHERE l.id = e.id);

-- 3. Away with the rows of changed and deleted events.
DELETE FROM main.events_fts
 WHERE rowid IN (SELECT id FROM temp.snapshot_todo WHERE op <> 'new');
DELETE FROM main.sources
 WHERE event_id IN (SELECT id FROM temp.snapshot_todo WHERE op <> 'new');
DELETE FROM main.related
 WHERE event_id IN (SELECT id FROM temp.snapshot_todo WHERE op <> 'new');
DELETE FROM main.changes
 WHERE event_id IN (SELECT id FROM temp.snapshot_todo WHERE op <> 'new');
DELETE FROM main.events
 WHERE id IN (SELECT id FROM temp.snapshot_todo WHERE op <> 'new');

-- 4. New and changed events, read from the files named (and only those):
-- WHERE path IN (...) / event_path IN (...).  Batch by batch, so that the
-- four tables read each file while eventmd's parse cache still holds it
-- (one parse per file, not four, on a first build).  SQL has no loop: a
-- TEMP trigger runs the batch for each row inserted into snapshot_batch.
-- The events first, then their items: a child row always has its event.
-- (Names in a trigger cannot be qualified: events, sources, related and
-- changes are main's, so the session must not have TEMP tables of those
-- names - attach the archive with the live_ prefix.)
DROP TABLE IF EXISTS temp.snapshot_batch;
CREATE TEMP TABLE snapshot_batch(n INTEGER PRIMARY KEY);
CREATE TEMP TRIGGER snapshot_read_batch AFTER INSERT ON snapshot_batch
BEGIN
  INSERT INTO events(id, path, date, title, summary, cover_image, day_index,
                     is_current, n_sources, n_related, n_changes, size,
                     mtime, problem)
    SELECT rowid, path, date, title, summary, cover_image, day_index,
           is_current, n_sources, n_related, n_changes, size, mtime, problem
      FROM live_events
     WHERE path IN (SELECT path FROM snapshot_todo WHERE batch = NEW.n);

  INSERT INTO sources(event_id, event_path, ordinal, name, url, domain)
    SELECT e.id, s.event_path, s.ordinal, s.name, s.url, s.domain
      FROM live_sources s CROSS JOIN events e ON e.path = s.event_path
     WHERE s.event_path IN (SELECT path FROM snapshot_todo WHERE batch = NEW.n);

  INSERT INTO related(event_id, event_path, ordinal, title, target,
                      target_date, context)
    SELECT e.id, r.event_path, r.ordinal, r.title, r.target, r.target_date,
           r.context
      FROM live_related r CROSS JOIN events e ON e.path = r.event_path
     WHERE r.event_path IN (SELECT path FROM snapshot_todo WHERE batch = NEW.n);

  INSERT INTO changes(event_id, event_path, ordinal, title, target,
                      changed_at, label, is_current)
    SELECT e.id, c.event_path, c.ordinal, c.title, c.target, c.changed_at,
           c.label, c.is_current
      FROM live_changes c CROSS JOIN events e ON e.path = c.event_path
     WHERE c.event_path IN (SELECT path FROM snapshot_todo WHERE batch = NEW.n);
END;
INSERT INTO temp.snapshot_batch(n)
  SELECT DISTINCT batch FROM temp.snapshot_todo
   WHERE batch IS NOT NULL ORDER BY batch;

-- In rowid order (snapshot_todo's order): FTS5 flushes its pending terms
-- whenever a rowid is not larger than the last one, and ids are hashes.
INSERT INTO main.events_fts(rowid, title, summary, sources)
  SELECT e.id, e.title, e.summary,
         (SELECT group_concat(s.name, ' ; ')
            FROM (SELECT name FROM main.sources
                   WHERE event_path = e.path ORDER BY ordinal) AS s)
    FROM temp.snapshot_todo t CROSS JOIN main.events e ON e.id = t.id
   WHERE t.op <> 'deleted'
   ORDER BY t.id;

-- 5. What this refresh did: events inserted, updated and deleted (a new or
-- changed file that vanished before it could be read counts as not there
-- or deleted), when, how long it took, and the tables' row counts.
INSERT OR REPLACE INTO main.snapshot_info(key, value)
  SELECT 'root', coalesce((SELECT root FROM temp.live_events LIMIT 1),
                          (SELECT value FROM main.snapshot_info
                            WHERE key = 'root'))
  UNION ALL SELECT 'eventmd_version', eventmd_version()
  UNION ALL SELECT 'refreshed_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
  UNION ALL SELECT 'refresh_seconds',  -- up to the commit
    round((julianday('now') - (SELECT started FROM temp.snapshot_scan))
          * 86400, 3)
  UNION ALL SELECT 'inserted',
    (SELECT count(*) FROM temp.snapshot_todo t JOIN main.events e ON e.id = t.id
      WHERE t.op = 'new')
  UNION ALL SELECT 'updated',
    (SELECT count(*) FROM temp.snapshot_todo t JOIN main.events e ON e.id = t.id
      WHERE t.op = 'changed')
  UNION ALL SELECT 'deleted',
    (SELECT count(*) FROM temp.snapshot_todo t
      WHERE t.op = 'deleted'
         OR (t.op = 'changed' AND NOT EXISTS (SELECT 1 FROM main.events e
                                               WHERE e.id = t.id)))
  UNION ALL SELECT 'events', (SELECT count(*) FROM main.events)
  UNION ALL SELECT 'sources', (SELECT count(*) FROM main.sources)
  UNION ALL SELECT 'related', (SELECT count(*) FROM main.related)
  UNION ALL SELECT 'changes', (SELECT count(*) FROM main.changes);

COMMIT;

DROP TRIGGER temp.snapshot_read_batch;
DROP TABLE temp.snapshot_batch;
DROP TABLE temp.snapshot_live;
DROP TABLE temp.snapshot_todo;
DROP TABLE temp.snapshot_scan;
