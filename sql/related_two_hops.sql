-- SPDX-License-Identifier: MIT
-- The related-event graph two hops out from one event (a recursive CTE).
-- Each event reached is shown once, at its shortest distance, with the
-- event it was reached from and the entities that link them; a link to an
-- older version of an event leads to its newest version (current_path).
-- Choose the start with  .param set @event '/news/....md'; without it, the
-- current event with the most related links.
WITH RECURSIVE
  start(path) AS (
    SELECT coalesce(@event,
                    (SELECT path FROM events WHERE is_current
                      ORDER BY n_related DESC, path LIMIT 1))
  ),
  hop(depth, path, via, context) AS (
    SELECT 0, path, NULL, NULL FROM start
    UNION
    SELECT hop.depth + 1,
           coalesce((SELECT t.current_path FROM events t
                      WHERE t.path = r.target), r.target),
           hop.path, r.context
      FROM hop JOIN related r ON r.event_path = hop.path
     WHERE hop.depth < 2 AND r.target IS NOT NULL
  ),
  nearest AS (
    SELECT path, min(depth) AS depth FROM hop GROUP BY path
  )
SELECT n.depth                                         AS hops,
       coalesce(e.date, '')                            AS date,
       CASE WHEN e.path IS NULL
            THEN '(not in archive) ' || substr(n.path, 1, 46) || '…'
            WHEN length(e.title) > 64 THEN substr(e.title, 1, 63) || '…'
            ELSE e.title END                           AS event,
       coalesce((SELECT h.context FROM hop h
                  WHERE h.path = n.path AND h.depth = n.depth
                  ORDER BY h.via LIMIT 1), '')         AS linked_by
  FROM nearest n
  LEFT JOIN events e ON e.path = n.path
 ORDER BY n.depth, e.date, n.path;
