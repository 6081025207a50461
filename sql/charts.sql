-- SPDX-License-Identifier: MIT
-- A picture of the archive: events per year as a bar chart, then the
-- busiest outlets.  Bars are drawn in plain SQL: zeroblob(n) gives n zero
-- bytes, hex() makes them "00" pairs, and each pair becomes a block.
WITH per_year(year, n) AS (
  SELECT substr(date, 1, 4), count(*)
    FROM events
   WHERE date IS NOT NULL AND is_current
   GROUP BY 1
),
scale(top) AS (SELECT max(n) FROM per_year)
SELECT year,
       n AS events,
       replace(hex(zeroblob(CAST(round(n * 40.0 / top) AS INTEGER))), '00', '█')
         AS chart
  FROM per_year, scale
 ORDER BY year;

WITH per_outlet(domain, n) AS (
  SELECT s.domain, count(*)
    FROM events e JOIN sources s ON s.event_path = e.path
   WHERE e.is_current AND s.domain IS NOT NULL
   GROUP BY 1
),
scale(top) AS (SELECT max(n) FROM per_outlet)
SELECT domain,
       n AS citations,
       replace(hex(zeroblob(CAST(round(n * 40.0 / top) AS INTEGER))), '00', '▇')
         AS chart
  FROM per_outlet, scale
 ORDER BY n DESC, domain
 LIMIT 8;
