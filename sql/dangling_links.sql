-- SPDX-License-Identifier: MIT
-- Related links whose target is not in the archive: which missing events
-- are cited, by how many events (current versions: an event's older
-- versions repeat its links), and from which day.
SELECT r.target_date                    AS target_date,
       count(*)                         AS cited_by,
       CASE WHEN length(r.target) > 70
            THEN substr(r.target, 1, 69) || '…'
            ELSE r.target END           AS missing_target
  FROM events src
  JOIN related r ON r.event_path = src.path
  LEFT JOIN events e ON e.path = r.target
 WHERE src.is_current AND e.path IS NULL AND r.target IS NOT NULL
 GROUP BY r.target
 ORDER BY cited_by DESC, r.target;
