-- SPDX-License-Identifier: MIT
-- Most-cited outlets by domain, over the current version of each event.
SELECT s.domain                        AS domain,
       count(*)                        AS citations,
       min(substr(e.date, 1, 4))       AS first_year,
       max(substr(e.date, 1, 4))       AS last_year
  FROM events e
  JOIN sources s ON s.event_path = e.path
 WHERE e.is_current AND s.domain IS NOT NULL
 GROUP BY s.domain
 ORDER BY citations DESC, domain
 LIMIT 10;
