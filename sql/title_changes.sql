-- SPDX-License-Identifier: MIT
-- How an event's title changed: every version of one event that the archive
-- holds - the files whose current_path is the event's newest file, and the
-- files the newest file's Changes list names - in the order of that list
-- (then by changed_at), each with the title its own file gives and whether
-- it differs from the version before.  Choose the event with
--   .param set @event '/news/....md'
-- (any of its versions, sqlite3 shell); without it, the event with the most
-- versions in the archive.
WITH pick(path) AS (
  SELECT coalesce((SELECT current_path FROM events WHERE path = @event),
                  @event,
                  (SELECT current_path FROM events
                    WHERE current_path IS NOT NULL AND NOT is_current
                    GROUP BY current_path
                    ORDER BY count(*) DESC, current_path LIMIT 1))
),
files(path) AS (
  SELECT v.path FROM pick JOIN events v ON v.current_path = pick.path
  UNION
  SELECT c.target FROM pick JOIN changes c ON c.event_path = pick.path
   WHERE EXISTS (SELECT 1 FROM events x WHERE x.path = c.target)
),
versions AS (
  SELECT f.path, v.title, c.ordinal, c.changed_at, c.label
    FROM pick
    CROSS JOIN files f
    JOIN events v ON v.path = f.path
    LEFT JOIN changes c ON c.event_path = pick.path AND c.target = f.path
)
SELECT row_number() OVER w                     AS n,
       coalesce(changed_at, '')                AS changed_at,
       coalesce(label, '(not in the list)')    AS label,
       CASE WHEN lag(title) OVER w IS NULL THEN 'first'
            WHEN lag(title) OVER w IS title THEN 'same'
            ELSE 'changed' END                 AS title_is,
       CASE WHEN length(title) > 64
            THEN substr(title, 1, 63) || '…'
            ELSE title END                     AS title
  FROM versions
WINDOW w AS (ORDER BY ordinal IS NULL, ordinal, changed_at, path)
 ORDER BY n;
