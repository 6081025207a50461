-- SPDX-License-Identifier: MIT
-- snapshot.sql - build or refresh a snapshot of an archive in a plain SQLite
-- file, for tools that cannot load extensions (Metabase, Grafana, Datasette,
-- DB Browser...).  The snapshot needs no extension to be read: plain tables,
-- plain views and an FTS5 index (events_fts) over the events table, declared
-- as external content (content="events", content_rowid="id") so that
-- Datasette and sqlite-utils find it by themselves.
--
-- Run it in the sqlite3 shell (it uses the shell's readfile() and sha3()),
-- with the snapshot file as the main database and the archive attached as
-- TEMP tables live_events, live_sources, live_related and live_changes:
--
--   sqlite3 snapshot.db
--   sqlite> .load build/eventmd
--   sqlite> SELECT eventmd_attach('/data/archive', 'live_');
--   sqlite> .read sql/snapshot.sql
--
-- or simply:  build/bin/eventmd-snapshot /data/archive snapshot.db
-- (the command also writes a first build under a temporary name and renames
-- it into place, and rebuilds a snapshot written by another eventmd version;
-- run by hand, this script refuses such a snapshot).
--
-- The same script builds the snapshot the first time (an empty file: every
-- event is new) and refreshes it afterwards, incrementally, in ONE write
-- transaction (a SAVEPOINT: a transaction of its own, or part of the
-- caller's): readers (in WAL mode) see the old snapshot or the new one,
-- never a half-refreshed one.
--
-- Refusals (the script stops with an error and changes nothing):
--   - the main database has tables but no snapshot_info: not a snapshot;
--   - the snapshot was written by another eventmd version, or in an older
--     layout (snapshot_info 'layout' is not 3): rebuild it
--     (eventmd-snapshot does);
--   - the refresh would delete more than half of the snapshot's events
--     (an empty or unmounted archive folder, say): it prints a line naming
--     the counts first.  To accept the loss: .param set @allow_shrink 1
--     (eventmd-snapshot --allow-shrink).
--
-- How a refresh works (numbers as in the script below):
--   1. One pass over the live archive's metadata (path, date, size, mtime;
--      no event file is read), looked up in the snapshot by path: the new
--      files and the changed ones (size or mtime differ) are listed, and
--      counted with the files the snapshot already has.  New files get
--      their ids here (see "Ids" below).
--   2. Only when that count shows that some of the snapshot's events are
--      gone does a second metadata pass list the ids still there, to find
--      the deleted ones.
--   3. Versions: is_current, current_path and topic of a file depend on the
--      other files of its folder and on its day page (README.md, else
--      index.md).  A folder is *touched* when a file in it is new, changed
--      or deleted, or when its day page changed (the day page of each
--      folder in snapshot_folders is hashed, sha3, and compared).  The
--      other files of touched folders are looked up again (path IN (...):
--      read through eventmd's cache, which already holds them when a new
--      file of the folder was just read) and their three columns updated
--      where they differ.
--   4. The rows of changed and deleted events are deleted (events, sources,
--      related, changes; events_fts follows events, by triggers).
--   5. New and changed events are read from the live tables with
--      WHERE path IN (...) / event_path IN (...): only those files are
--      parsed, once each (in batches, while eventmd's parse cache holds
--      them), and indexed for full-text search as they are inserted.
--   6. snapshot_info records what was done.
-- Unchanged events of untouched folders keep their rows as they were (same
-- rowids in every table, pages not rewritten), so a refresh costs one
-- metadata walk of the archive, one small read per day folder (its day
-- page), plus the work on the folders that changed.
--
-- A file that changes while the script runs is simply seen as changed by the
-- next refresh: its row keeps the size and mtime it had when it was read.
-- What is compared is size and mtime in whole seconds (eventmd's columns): a
-- rewrite that keeps both is not seen.  Day pages are compared by content,
-- but only under the names README.md and index.md (not Readme.md, INDEX.md),
-- and only in folders that hold event files.
--
-- Ids: events.id is the snapshot's own integer key (not eventmd's rowid).
-- A full build (a first build, or a rebuild) numbers the events 1, 2, ...
-- in date order, then path order (files without a date last), so browsing
-- by rowid reads chronologically.  A refresh keeps the id of every file
-- still there, changed or not; new files get the next ids, above the
-- highest id ever given (snapshot_info 'last_id': a deleted file's id is
-- never given again), in date then path order among themselves - so after
-- a refresh that adds a file older than the newest one, id order is no
-- longer exactly date order (ORDER BY date, path is; a rebuild renumbers).
-- The child tables' event_id is this id.
--
-- Progress: when @progress_to names a file (eventmd-snapshot passes its
-- terminal as /dev/fd/3, only when stderr is a terminal), a line
-- "files done/total, files/s" is written to it with the shell's writefile()
-- after each batch of files read, starting with a carriage return so that
-- it updates in place.

PRAGMA journal_mode = WAL;      -- readers never wait for the refresh
                                -- (no change inside the caller's transaction)
PRAGMA busy_timeout = 60000;    -- wait for another refresh to end
PRAGMA journal_size_limit = 67108864;  -- do not keep a huge -wal after a full build
PRAGMA cache_size = -65536;     -- 64 MiB: index building on a first build
-- (Not PRAGMA temp_store here: changing it drops every TEMP table, the live_
-- tables included.  The caller may set it before eventmd_attach.  Nor PRAGMA
-- synchronous, which cannot change inside a transaction: eventmd-snapshot
-- sets it to NORMAL first - in WAL mode a crash can then lose the last
-- refresh, never corrupt the file, and the next run redoes it.)

SAVEPOINT eventmd_snapshot;
-- The first statement writes, so that the transaction takes the write lock
-- at once (waiting for another refresh, busy_timeout) instead of reading
-- first and failing to upgrade later.  The application id ('evmd') marks the
-- file as an eventmd snapshot.
PRAGMA application_id = 1702260068;

-- ---------------------------------------------------------------------------
-- Refusals: RAISE in a TEMP trigger stops the script (a statement error) with
-- a fixed message; the caller then rolls back.
CREATE TEMP TABLE IF NOT EXISTS snapshot_guard(why TEXT);
DROP TRIGGER IF EXISTS temp.snapshot_guard_check;
CREATE TEMP TRIGGER snapshot_guard_check BEFORE INSERT ON snapshot_guard
BEGIN
  SELECT RAISE(ABORT, 'eventmd-snapshot: this database is not an eventmd snapshot (it has tables but no snapshot_info): not touched')
   WHERE NEW.why = 'foreign';
  SELECT RAISE(ABORT, 'eventmd-snapshot: this snapshot was written by another eventmd version or in an older layout: rebuild it with eventmd-snapshot, or delete it')
   WHERE NEW.why = 'version';
  SELECT RAISE(ABORT, 'eventmd-snapshot: refused: the refresh would delete more than half of the events (counts above); nothing changed; allow it with --allow-shrink (in SQL: .param set @allow_shrink 1)')
   WHERE NEW.why = 'shrink';
END;

INSERT INTO temp.snapshot_guard(why)
  SELECT 'foreign'
   WHERE EXISTS (SELECT 1 FROM main.sqlite_schema)
     AND NOT EXISTS (SELECT 1 FROM main.sqlite_schema
                      WHERE type = 'table' AND name = 'snapshot_info');

CREATE TABLE IF NOT EXISTS snapshot_info(key TEXT PRIMARY KEY, value);

INSERT INTO temp.snapshot_guard(why)
  SELECT 'version'
   WHERE EXISTS (SELECT 1 FROM main.sqlite_schema
                  WHERE type = 'table' AND name = 'events')
     AND (NOT EXISTS (SELECT 1 FROM pragma_table_info('events', 'main')
                       WHERE name = 'current_path')
          OR NOT EXISTS (SELECT 1 FROM main.sqlite_schema
                          WHERE type = 'table' AND name = 'snapshot_folders')
          OR (SELECT value FROM main.snapshot_info
               WHERE key = 'eventmd_version') IS NOT eventmd_version()
          OR (SELECT value FROM main.snapshot_info
               WHERE key = 'layout') IS NOT 3);

-- ---------------------------------------------------------------------------
-- The tables: the live tables' columns, plus event_id (= events.id) in the
-- child tables, and the events' source names (what events_fts indexes).
CREATE TABLE IF NOT EXISTS events(
  id           INTEGER PRIMARY KEY,  -- date order on a full build (see Ids)
  path         TEXT NOT NULL UNIQUE, -- '/news/2014/02/13/slug.md'
  date         TEXT,                 -- YYYY-MM-DD
  title        TEXT,
  topic        TEXT,                 -- the story: '2018 Ouagadougou attacks'
  summary      TEXT,
  cover_image  TEXT,
  day_index    TEXT,
  is_current   INTEGER,              -- 0 for an older version of an event
  current_path TEXT,                 -- the event's newest version
  n_sources    INTEGER,
  n_related    INTEGER,
  n_changes    INTEGER,
  size         INTEGER,              -- bytes, when the file was read
  mtime        INTEGER,              -- Unix seconds, when the file was read
  problem      TEXT,                 -- NULL or what is wrong with the file
  sources      TEXT                  -- the source names joined with ' ; '
);
-- (No comma in the comments of the last two columns: SQLite's ALTER TABLE
-- DROP COLUMN looks back from the last column for the comma before it.)
CREATE INDEX IF NOT EXISTS events_date ON events(date);
CREATE INDEX IF NOT EXISTS events_current_path ON events(current_path);
-- What a refresh compares with the files (see 1. below).
CREATE INDEX IF NOT EXISTS events_file ON events(path, size, mtime);

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

-- Bookkeeping: the folders that hold event files, each with its day page
-- as it was at the last refresh: 'R' and the sha3 of README.md, else 'I'
-- and the sha3 of index.md, else '-' (see 3.).
CREATE TABLE IF NOT EXISTS snapshot_folders(
  folder   TEXT PRIMARY KEY,         -- '/news/2018/03/2/'
  day_page TEXT NOT NULL
) WITHOUT ROWID;

-- Full-text search: an external-content FTS5 index of the events table's
-- title, topic, summary and sources (the source names joined with ' ; '):
-- events_fts.rowid = events.id, and the text is read from events (nothing
-- is stored twice).  Written exactly content="events" (no spaces): the form
-- Datasette and sqlite-utils look for in sqlite_schema to offer a search on
-- events (sqlite-utils search snapshot.db events nile).  See sql/search.sql.
-- ORDER BY rank is bm25 with the title weighing most, then the topic and the
-- summary.  events_fts_docs names each indexed event (sql/fts_live.sql has a
-- table of that name too, so sql/search.sql runs on both).
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
  title, topic, summary, sources,
  content="events", content_rowid="id",
  tokenize = 'porter unicode61 remove_diacritics 2'
);
-- The index follows every change to events, made here or by anyone else:
-- an external-content index must be told the old text of a row to remove
-- it ('delete'), so these triggers pass it.  Recreated on every run, like
-- the views.
DROP TRIGGER IF EXISTS events_fts_insert;
CREATE TRIGGER events_fts_insert AFTER INSERT ON events
BEGIN
  INSERT INTO events_fts(rowid, title, topic, summary, sources)
    VALUES (NEW.id, NEW.title, NEW.topic, NEW.summary, NEW.sources);
END;
DROP TRIGGER IF EXISTS events_fts_delete;
CREATE TRIGGER events_fts_delete AFTER DELETE ON events
BEGIN
  INSERT INTO events_fts(events_fts, rowid, title, topic, summary, sources)
    VALUES ('delete', OLD.id, OLD.title, OLD.topic, OLD.summary, OLD.sources);
END;
DROP TRIGGER IF EXISTS events_fts_update;
CREATE TRIGGER events_fts_update
  AFTER UPDATE OF id, title, topic, summary, sources ON events
  WHEN OLD.id IS NOT NEW.id OR OLD.title IS NOT NEW.title
    OR OLD.topic IS NOT NEW.topic OR OLD.summary IS NOT NEW.summary
    OR OLD.sources IS NOT NEW.sources
BEGIN
  INSERT INTO events_fts(events_fts, rowid, title, topic, summary, sources)
    VALUES ('delete', OLD.id, OLD.title, OLD.topic, OLD.summary, OLD.sources);
  INSERT INTO events_fts(rowid, title, topic, summary, sources)
    VALUES (NEW.id, NEW.title, NEW.topic, NEW.summary, NEW.sources);
END;
INSERT INTO events_fts(events_fts, rank)
  SELECT 'rank', 'bm25(10.0, 5.0, 5.0, 1.0)'
   WHERE NOT EXISTS (SELECT 1 FROM events_fts_config WHERE k = 'rank');
DROP VIEW IF EXISTS events_fts_docs;
CREATE VIEW events_fts_docs AS
  SELECT id, path, date, size, mtime, is_current FROM events;

-- ---------------------------------------------------------------------------
-- Views: the questions of sql/*.sql, in plain SQL (no extension needed).
-- Recreated on every run so that a newer script updates them.  "Events"
-- are current versions (is_current); "files" are every version.

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

-- sql/dangling_links.sql: related targets that are not in the archive, and
-- how many current versions cite each.
DROP VIEW IF EXISTS dangling_links;
CREATE VIEW dangling_links AS
SELECT r.target        AS missing_target,
       r.target_date   AS target_date,
       count(*)        AS cited_by
  FROM related r
  JOIN events src ON src.id = r.event_id
 WHERE src.is_current
   AND r.target IS NOT NULL
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

-- sql/newest_versions.sql, for every day: the newest version of each event,
-- with its story and how many versions of it the archive holds (the files
-- whose current_path is this one, and the files its Changes list names).
-- Filter on date.
DROP VIEW IF EXISTS newest_versions;
CREATE VIEW newest_versions AS
SELECT e.date                                  AS date,
       e.topic                                 AS topic,
       (SELECT count(*) FROM (
          SELECT v.path FROM events v WHERE v.current_path = e.path
          UNION
          SELECT c.target FROM changes c
           WHERE c.event_id = e.id
             AND EXISTS (SELECT 1 FROM events x WHERE x.path = c.target)))
                                               AS versions,
       e.n_sources                             AS sources,
       e.title                                 AS title,
       e.path                                  AS path
  FROM events e
 WHERE e.is_current
 ORDER BY e.date, e.topic IS NULL, e.topic, e.path;

-- sql/title_changes.sql, for every event with older versions in the archive:
-- each version's file (those whose current_path is the event's newest file,
-- and those the newest file's Changes list names), in the order of that
-- list, with its title as that file gives it.  Filter on event_path.
DROP VIEW IF EXISTS title_changes;
CREATE VIEW title_changes AS
WITH files(event_id, event_path, path) AS (
  SELECT e.id, e.path, v.path
    FROM events e JOIN events v ON v.current_path = e.path
   WHERE e.is_current
  UNION
  SELECT e.id, e.path, c.target
    FROM events e JOIN changes c ON c.event_id = e.id
   WHERE e.is_current
     AND EXISTS (SELECT 1 FROM events x WHERE x.path = c.target)
)
SELECT f.event_path                            AS event_path,
       c.ordinal                               AS n,
       c.changed_at                            AS changed_at,
       c.label                                 AS label,
       v.title                                 AS title,
       v.path                                  AS version_path
  FROM files f
  JOIN events v ON v.path = f.path
  LEFT JOIN changes c ON c.event_id = f.event_id AND c.target = f.path
 WHERE f.event_path IN (SELECT event_path FROM files
                         GROUP BY event_path HAVING count(*) > 1)
 ORDER BY f.event_path, c.ordinal IS NULL, c.ordinal, c.changed_at, v.path;

-- sql/stories.sql: topics (stories) with the most events (current versions),
-- first and last day, and the latest event's title.
DROP VIEW IF EXISTS stories;
CREATE VIEW stories AS
SELECT e.topic                                 AS topic,
       count(*)                                AS events,
       min(e.date)                             AS first_day,
       max(e.date)                             AS last_day,
       (SELECT l.title FROM events l
         WHERE l.topic = e.topic AND l.is_current
         ORDER BY l.date DESC, l.path LIMIT 1) AS latest
  FROM events e
 WHERE e.is_current AND e.topic IS NOT NULL
 GROUP BY e.topic
 ORDER BY events DESC, last_day DESC, topic;

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
-- the snapshot has, and the new and changed ones ([path, date, id], the id
-- NULL for a new file) as a JSON array.  Only aggregates: nothing is stored
-- per unchanged file.  The lookups use the small covering index events_file
-- (path, size, mtime), not the events' wide rows.  The date is read only for
-- the files listed (FILTER): for a path with a date, it is the path's.
DROP TABLE IF EXISTS temp.snapshot_scan;
CREATE TEMP TABLE snapshot_scan(started, root, live, matched, todo,
                                existing, gone, refused, first_new);
INSERT INTO temp.snapshot_scan(started) VALUES (julianday('now'));
UPDATE temp.snapshot_scan SET (live, matched, todo) = (
  SELECT count(*),
         count(e.id),
         json_group_array(json_array(l.path, l.date, e.id))
           FILTER (WHERE e.id IS NULL OR e.size IS NOT l.size
                      OR e.mtime IS NOT l.mtime)
    FROM temp.live_events l
    LEFT JOIN main.events e INDEXED BY events_file ON e.path = l.path);
UPDATE temp.snapshot_scan
   SET root = (SELECT root FROM temp.live_events LIMIT 1);

-- What to do, one row per file by its id in the snapshot (sid): op 'new',
-- 'changed', 'deleted' or 'sibling' (an unchanged file of a touched folder,
-- see 3.); the files to read come in batches of 1000 (in id order), see 5.
-- New files are numbered after the highest id ever given (see Ids), in
-- date order, then path order.
DROP TABLE IF EXISTS temp.snapshot_todo;
CREATE TEMP TABLE snapshot_todo(
  sid INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, op TEXT NOT NULL,
  batch INTEGER);
UPDATE temp.snapshot_scan SET first_new = 1 + max(
  coalesce((SELECT max(id) FROM main.events), 0),
  coalesce((SELECT value FROM main.snapshot_info WHERE key = 'last_id'), 0));
INSERT INTO temp.snapshot_todo(sid, path, op)
  SELECT json_extract(value, '$[2]'), json_extract(value, '$[0]'), 'changed'
    FROM json_each((SELECT todo FROM temp.snapshot_scan))
   WHERE json_extract(value, '$[2]') IS NOT NULL;
INSERT INTO temp.snapshot_todo(sid, path, op)
  SELECT (SELECT first_new FROM temp.snapshot_scan) - 1
           + row_number() OVER (ORDER BY day IS NULL, day, path),
         path, 'new'
    FROM (SELECT json_extract(value, '$[0]') AS path,
                 json_extract(value, '$[1]') AS day
            FROM json_each((SELECT todo FROM temp.snapshot_scan))
           WHERE json_extract(value, '$[2]') IS NULL)
   ORDER BY 1;

-- 2. Deleted events: only when some of the snapshot's events were not seen
-- (matched <> its count) is a second metadata pass needed, to list the
-- paths that are still there.  Otherwise these statements read nothing: the
-- CROSS JOIN puts the one-row-or-none some_gone first, so with no row the
-- live table is never scanned (a plain WHERE on the subqueries is not
-- enough: the walk would start anyway).  A file gone since step 1
-- counts as deleted even if it was seen changed.
DROP TABLE IF EXISTS temp.snapshot_live;
CREATE TEMP TABLE snapshot_live(path TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT OR IGNORE INTO temp.snapshot_live(path)
  SELECT l.path
    FROM (SELECT 1 FROM temp.snapshot_scan
           WHERE matched <> (SELECT count(*) FROM main.events)) AS some_gone
   CROSS JOIN temp.live_events l;
INSERT OR REPLACE INTO temp.snapshot_todo(sid, path, op)
  SELECT e.id, e.path, 'deleted'
    FROM (SELECT 1 FROM temp.snapshot_scan
           WHERE matched <> (SELECT count(*) FROM main.events)) AS some_gone
   CROSS JOIN main.events e INDEXED BY events_file
   WHERE NOT EXISTS (SELECT 1 FROM temp.snapshot_live l WHERE l.path = e.path);

-- The files to read, in batches of 1000 in id order (date order on a full
-- build: the events table's pages are written in key order).
UPDATE temp.snapshot_todo SET batch = b.n
  FROM (SELECT sid, (row_number() OVER (ORDER BY sid) - 1) / 1000 AS n
          FROM temp.snapshot_todo WHERE op IN ('new', 'changed')) AS b
 WHERE snapshot_todo.sid = b.sid;
CREATE INDEX temp.snapshot_todo_batch ON snapshot_todo(batch);

-- Refuse to lose more than half of the events (an empty or unmounted archive
-- folder looks like an archive whose files were all deleted).  The count
-- before is the snapshot's events, or, when eventmd-snapshot rebuilds a
-- snapshot of another version or layout, the paths it had
-- (temp.snapshot_before).
CREATE TEMP TABLE IF NOT EXISTS snapshot_before(path TEXT PRIMARY KEY)
  WITHOUT ROWID;
UPDATE temp.snapshot_scan SET
  existing = (SELECT count(*) FROM main.events)
             + (SELECT count(*) FROM temp.snapshot_before),
  gone = (SELECT count(*) FROM temp.snapshot_todo WHERE op = 'deleted')
         + (SELECT count(*) FROM temp.snapshot_before b
             WHERE NOT EXISTS (SELECT 1 FROM temp.snapshot_todo t
                                WHERE t.path = b.path));
UPDATE temp.snapshot_scan SET
  refused = gone * 2 > existing AND NOT coalesce(@allow_shrink, 0);
SELECT 'refused: this refresh would delete ' || gone || ' of the ' ||
       existing || ' events in the snapshot (the archive has ' || live ||
       ' event files); nothing was changed'
  FROM temp.snapshot_scan WHERE refused;
INSERT INTO temp.snapshot_guard(why)
  SELECT 'shrink' FROM temp.snapshot_scan WHERE refused;

-- 3. Touched folders: those of new, changed and deleted files, and those
-- whose day page changed.  The day page of every folder the snapshot knows
-- (and of the new ones) is hashed: README.md, else index.md, as eventmd
-- chooses (readfile() gives NULL for a missing file).  A folder is the path
-- up to its last '/' (rtrim with a slug's characters first: cheaper).
DROP TABLE IF EXISTS temp.snapshot_dirs;
CREATE TEMP TABLE snapshot_dirs(
  folder TEXT PRIMARY KEY, day_page TEXT, touched INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT OR IGNORE INTO temp.snapshot_dirs(folder, touched)
  SELECT CASE WHEN substr(rtrim(path, '-etaoinsrhdlucmfpgwybvkxjqz0123456789._'), -1) = '/'
              THEN rtrim(path, '-etaoinsrhdlucmfpgwybvkxjqz0123456789._')
              ELSE rtrim(path, replace(path, '/', '')) END, 1
    FROM temp.snapshot_todo WHERE path IS NOT NULL;
INSERT OR IGNORE INTO temp.snapshot_dirs(folder)
  SELECT folder FROM main.snapshot_folders;
UPDATE temp.snapshot_dirs SET day_page = (
  SELECT coalesce(
    'R' || substr(nullif(hex(sha3(readfile(s.root || folder || 'README.md'))), ''),
                  1, 32),
    'I' || substr(nullif(hex(sha3(readfile(s.root || folder || 'index.md'))), ''),
                  1, 32),
    '-')
    FROM temp.snapshot_scan s);
UPDATE temp.snapshot_dirs SET touched = 1
 WHERE NOT touched
   AND day_page IS NOT (SELECT f.day_page FROM main.snapshot_folders f
                         WHERE f.folder = snapshot_dirs.folder);
-- The other files of touched folders, as the snapshot has them (a range of
-- the path index, without subfolders).
INSERT OR IGNORE INTO temp.snapshot_todo(sid, path, op)
  SELECT e.id, e.path, 'sibling'
    FROM temp.snapshot_dirs d
    JOIN main.events e
      ON e.path >= d.folder AND e.path < d.folder || char(1114111)
   WHERE d.touched
     AND instr(substr(e.path, length(d.folder) + 1), '/') = 0;

-- 4. Away with the rows of changed and deleted events (the triggers on
-- events take their text out of events_fts).
DELETE FROM main.sources
 WHERE event_id IN (SELECT sid FROM temp.snapshot_todo
                     WHERE op IN ('changed', 'deleted'));
DELETE FROM main.related
 WHERE event_id IN (SELECT sid FROM temp.snapshot_todo
                     WHERE op IN ('changed', 'deleted'));
DELETE FROM main.changes
 WHERE event_id IN (SELECT sid FROM temp.snapshot_todo
                     WHERE op IN ('changed', 'deleted'));
DELETE FROM main.events
 WHERE id IN (SELECT sid FROM temp.snapshot_todo
               WHERE op IN ('changed', 'deleted'));

-- 5. New and changed events, read from the files named (and only those):
-- WHERE path IN (...) / event_path IN (...).  Batch by batch, so that the
-- four tables read each file while eventmd's parse cache still holds it
-- (one parse per file, not four, on a first build).  SQL has no loop: a
-- TEMP trigger runs the batch for each row inserted into snapshot_batch.
-- The items first, then the events, whose sources column (indexed for
-- full-text search by the insert trigger) joins the names of the sources
-- just inserted; the id of each file is its snapshot_todo sid.  (Names in
-- a trigger cannot be qualified: events, sources, related and changes are
-- main's, so the session must not have TEMP tables of those names - attach
-- the archive with the live_ prefix.)  After each batch, the progress line
-- (see Progress above).
DROP TABLE IF EXISTS temp.snapshot_progress;
CREATE TEMP TABLE snapshot_progress(target TEXT, total INTEGER, started REAL);
INSERT INTO temp.snapshot_progress(target, total, started)
  SELECT @progress_to,
         (SELECT count(*) FROM temp.snapshot_todo WHERE batch IS NOT NULL),
         julianday('now');
DROP TABLE IF EXISTS temp.snapshot_batch;
CREATE TEMP TABLE snapshot_batch(n INTEGER PRIMARY KEY);
CREATE TEMP TRIGGER snapshot_read_batch AFTER INSERT ON snapshot_batch
BEGIN
  INSERT INTO sources(event_id, event_path, ordinal, name, url, domain)
    SELECT t.sid, s.event_path, s.ordinal, s.name, s.url, s.domain
      FROM live_sources s CROSS JOIN snapshot_todo t ON t.path = s.event_path
     WHERE s.event_path IN (SELECT path FROM snapshot_todo
                             WHERE batch = NEW.n AND op IN ('new', 'changed'));

  INSERT INTO related(event_id, event_path, ordinal, title, target,
                      target_date, context)
    SELECT t.sid, r.event_path, r.ordinal, r.title, r.target, r.target_date,
           r.context
      FROM live_related r CROSS JOIN snapshot_todo t ON t.path = r.event_path
     WHERE r.event_path IN (SELECT path FROM snapshot_todo
                             WHERE batch = NEW.n AND op IN ('new', 'changed'));

  INSERT INTO changes(event_id, event_path, ordinal, title, target,
                      changed_at, label, is_current)
    SELECT t.sid, c.event_path, c.ordinal, c.title, c.target, c.changed_at,
           c.label, c.is_current
      FROM live_changes c CROSS JOIN snapshot_todo t ON t.path = c.event_path
     WHERE c.event_path IN (SELECT path FROM snapshot_todo
                             WHERE batch = NEW.n AND op IN ('new', 'changed'));

  INSERT INTO events(id, path, date, title, topic, summary, cover_image,
                     day_index, is_current, current_path, n_sources,
                     n_related, n_changes, size, mtime, problem, sources)
    SELECT t.sid, l.path, l.date, l.title, l.topic, l.summary, l.cover_image,
           l.day_index, l.is_current, l.current_path, l.n_sources,
           l.n_related, l.n_changes, l.size, l.mtime, l.problem,
           (SELECT group_concat(x.name, ' ; ')
              FROM (SELECT name FROM sources
                     WHERE event_id = t.sid ORDER BY ordinal) AS x)
      FROM live_events l CROSS JOIN snapshot_todo t ON t.path = l.path
     WHERE l.path IN (SELECT path FROM snapshot_todo
                       WHERE batch = NEW.n AND op IN ('new', 'changed'))
     ORDER BY t.sid;

  SELECT writefile(p.target,
           printf(char(13) || 'eventmd-snapshot: %d/%d files read, %d files/s'
                  || char(27) || '[K',
                  min((NEW.n + 1) * 1000, p.total), p.total,
                  CAST(min((NEW.n + 1) * 1000, p.total)
                       / max((julianday('now') - p.started) * 86400, 0.001)
                       AS INTEGER)))
    FROM snapshot_progress p WHERE p.target IS NOT NULL;
END;
INSERT INTO temp.snapshot_batch(n)
  SELECT DISTINCT batch FROM temp.snapshot_todo
   WHERE batch IS NOT NULL ORDER BY batch;
-- A file that vanished after its items were read and before its event row:
-- no items without their event.
DELETE FROM main.sources
 WHERE event_id IN (SELECT sid FROM temp.snapshot_todo WHERE batch IS NOT NULL)
   AND NOT EXISTS (SELECT 1 FROM main.events e WHERE e.id = sources.event_id);
DELETE FROM main.related
 WHERE event_id IN (SELECT sid FROM temp.snapshot_todo WHERE batch IS NOT NULL)
   AND NOT EXISTS (SELECT 1 FROM main.events e WHERE e.id = related.event_id);
DELETE FROM main.changes
 WHERE event_id IN (SELECT sid FROM temp.snapshot_todo WHERE batch IS NOT NULL)
   AND NOT EXISTS (SELECT 1 FROM main.events e WHERE e.id = changes.event_id);

-- The siblings (3.): their version columns as eventmd computes them now;
-- only rows that differ are updated ('updated' below; the update trigger
-- redoes their full-text rows when the topic changed).
DROP TABLE IF EXISTS temp.snapshot_siblings;
CREATE TEMP TABLE snapshot_siblings(
  sid INTEGER PRIMARY KEY, topic TEXT, is_current INTEGER, current_path TEXT);
INSERT INTO temp.snapshot_siblings(sid, topic, is_current, current_path)
  SELECT t.sid, l.topic, l.is_current, l.current_path
    FROM temp.live_events l CROSS JOIN temp.snapshot_todo t ON t.path = l.path
   WHERE l.path IN (SELECT path FROM temp.snapshot_todo WHERE op = 'sibling');
DELETE FROM temp.snapshot_siblings
 WHERE EXISTS (SELECT 1 FROM main.events e
                WHERE e.id = snapshot_siblings.sid
                  AND e.topic IS snapshot_siblings.topic
                  AND e.is_current IS snapshot_siblings.is_current
                  AND e.current_path IS snapshot_siblings.current_path);
UPDATE main.events
   SET (topic, is_current, current_path) =
       (SELECT s.topic, s.is_current, s.current_path
          FROM temp.snapshot_siblings s WHERE s.sid = events.id)
 WHERE id IN (SELECT sid FROM temp.snapshot_siblings);
UPDATE temp.snapshot_todo SET op = 'flipped'
 WHERE op = 'sibling' AND sid IN (SELECT sid FROM temp.snapshot_siblings);

-- The day pages of touched folders as they are now, for the next refresh;
-- folders that hold no event file any more are forgotten.
DELETE FROM main.snapshot_folders
 WHERE folder IN (SELECT folder FROM temp.snapshot_dirs d
                   WHERE d.touched
                     AND NOT EXISTS (
                       SELECT 1 FROM main.events e
                        WHERE e.path >= d.folder
                          AND e.path < d.folder || char(1114111)
                          AND instr(substr(e.path, length(d.folder) + 1), '/') = 0));
INSERT INTO main.snapshot_folders(folder, day_page)
  SELECT d.folder, d.day_page FROM temp.snapshot_dirs d
   WHERE d.touched
     AND EXISTS (SELECT 1 FROM main.events e
                  WHERE e.path >= d.folder
                    AND e.path < d.folder || char(1114111)
                    AND instr(substr(e.path, length(d.folder) + 1), '/') = 0)
  ON CONFLICT(folder) DO UPDATE SET day_page = excluded.day_page;

-- 6. What this refresh did: events inserted, updated (changed files, and
-- files whose is_current, current_path or topic changed with their folder)
-- and deleted (a new or changed file that vanished before it could be read
-- counts as not there or deleted; after a rebuild, relative to the paths
-- the snapshot had), when, how long it took, the tables' row counts, and
-- the highest id given so far.
INSERT OR REPLACE INTO main.snapshot_info(key, value)
  SELECT 'root', coalesce((SELECT root FROM temp.snapshot_scan),
                          (SELECT value FROM main.snapshot_info
                            WHERE key = 'root'))
  UNION ALL SELECT 'eventmd_version', eventmd_version()
  UNION ALL SELECT 'layout', 3  -- 1.1: topic, current_path, snapshot_folders;
                                -- 3: events_fts over events, ids in date order
  UNION ALL SELECT 'last_id',
    max((SELECT first_new FROM temp.snapshot_scan) - 1,
        coalesce((SELECT max(sid) FROM temp.snapshot_todo WHERE op = 'new'), 0))
  UNION ALL SELECT 'refreshed_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
  UNION ALL SELECT 'refresh_seconds',  -- up to the commit
    round((julianday('now') - (SELECT started FROM temp.snapshot_scan))
          * 86400, 3)
  UNION ALL SELECT 'inserted',
    (SELECT count(*) FROM temp.snapshot_todo t JOIN main.events e ON e.id = t.sid
      WHERE t.op = 'new'
        AND NOT EXISTS (SELECT 1 FROM temp.snapshot_before b WHERE b.path = t.path))
  UNION ALL SELECT 'updated',
    (SELECT count(*) FROM temp.snapshot_todo t JOIN main.events e ON e.id = t.sid
      WHERE t.op IN ('changed', 'flipped')
         OR (t.op = 'new' AND EXISTS (SELECT 1 FROM temp.snapshot_before b
                                       WHERE b.path = t.path)))
  UNION ALL SELECT 'deleted',
    (SELECT count(*) FROM temp.snapshot_todo t
      WHERE t.op = 'deleted'
         OR (t.op IN ('changed', 'new') AND NOT EXISTS (
               SELECT 1 FROM main.events e WHERE e.id = t.sid)
             AND (t.op = 'changed' OR EXISTS (
               SELECT 1 FROM temp.snapshot_before b WHERE b.path = t.path))))
    + (SELECT count(*) FROM temp.snapshot_before b
        WHERE NOT EXISTS (SELECT 1 FROM temp.snapshot_todo t
                           WHERE t.path = b.path))
  UNION ALL SELECT 'events', (SELECT count(*) FROM main.events)
  UNION ALL SELECT 'sources', (SELECT count(*) FROM main.sources)
  UNION ALL SELECT 'related', (SELECT count(*) FROM main.related)
  UNION ALL SELECT 'changes', (SELECT count(*) FROM main.changes);

RELEASE eventmd_snapshot;

DROP TRIGGER temp.snapshot_read_batch;
DROP TRIGGER temp.snapshot_guard_check;
DROP TABLE temp.snapshot_guard;
DROP TABLE temp.snapshot_batch;
DROP TABLE temp.snapshot_progress;
DROP TABLE temp.snapshot_siblings;
DROP TABLE temp.snapshot_dirs;
DROP TABLE temp.snapshot_live;
DROP TABLE temp.snapshot_todo;
DROP TABLE temp.snapshot_scan;
DROP TABLE temp.snapshot_before;
