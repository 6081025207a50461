-- SPDX-License-Identifier: MIT
-- The newest version of each event on one day: the day's current versions
-- (is_current), with their story (topic) and how many versions of each the
-- archive holds (the files whose current_path is this one, and the files
-- its Changes list names).  Choose the day with
--   .param set @day '2018-03-02'
-- (sqlite3 shell); without it, the day with the most event files.
WITH pick(day) AS (
  SELECT coalesce(@day,
                  (SELECT date FROM events WHERE date IS NOT NULL
                    GROUP BY date ORDER BY count(*) DESC, date DESC LIMIT 1))
)
SELECT e.date                                  AS date,
       coalesce(e.topic, '')                   AS topic,
       (SELECT count(*) FROM (
          SELECT v.path FROM events v
           WHERE v.date = e.date AND v.current_path = e.path
          UNION
          SELECT c.target FROM changes c
           WHERE c.event_path = e.path
             AND EXISTS (SELECT 1 FROM events x WHERE x.path = c.target)))
                                               AS versions,
       e.n_sources                             AS sources,
       CASE WHEN length(e.title) > 60
            THEN substr(e.title, 1, 59) || '…'
            ELSE e.title END                   AS title
  FROM pick
  JOIN events e ON e.date = pick.day
 WHERE e.is_current
 ORDER BY e.topic IS NULL, e.topic, e.path;
