-- SPDX-License-Identifier: MIT
-- One event's version history, oldest first, and whether each version's
-- file is in the archive.  Choose the event with
--   .param set @event '/news/2015/03/23/the-leaders-of-....md'
-- (sqlite3 shell); without it, the current event with the longest history.
WITH pick(path) AS (
  SELECT coalesce(@event,
                  (SELECT path FROM events WHERE is_current
                    ORDER BY n_changes DESC, path LIMIT 1))
)
SELECT c.ordinal                               AS n,
       coalesce(c.changed_at, '')              AS changed_at,
       c.label                                 AS label,
       CASE WHEN v.path IS NULL THEN 'missing'
            ELSE 'in archive' END              AS file,
       CASE WHEN length(c.title) > 60
            THEN substr(c.title, 1, 59) || '…'
            ELSE c.title END                   AS title_of_that_version
  FROM pick
  JOIN changes c ON c.event_path = pick.path
  LEFT JOIN events v ON v.path = c.target
 ORDER BY c.ordinal;
