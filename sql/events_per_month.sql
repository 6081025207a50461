-- SPDX-License-Identifier: MIT
-- Events per month.
-- Every event file counts once in `files`; `events` counts only current
-- versions (an event with three versions is one event), `sources` the
-- outlets cited by those current versions.
SELECT substr(date, 1, 7)             AS month,
       count(*)                       AS files,
       sum(is_current)                AS events,
       sum(n_sources * is_current)    AS sources
  FROM events
 WHERE date IS NOT NULL
 GROUP BY month
 ORDER BY month;
