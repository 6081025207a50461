-- SPDX-License-Identifier: MIT
-- Stories: the topics that group several events (current versions), most
-- events first, the days they span, and the latest event of each.  The topic is the file's own
-- topic heading (`##### 2018 Ouagadougou attacks`), else the one its day
-- page (README.md) files it under.
SELECT e.topic                                 AS topic,
       count(*)                                AS events,
       min(e.date)                             AS first_day,
       max(e.date)                             AS last_day,
       (SELECT CASE WHEN length(l.title) > 50
                    THEN substr(l.title, 1, 49) || '…'
                    ELSE l.title END
          FROM events l
         WHERE l.topic = e.topic AND l.is_current
         ORDER BY l.date DESC, l.path LIMIT 1) AS latest
  FROM events e
 WHERE e.is_current AND e.topic IS NOT NULL
 GROUP BY e.topic
HAVING count(*) > 1
 ORDER BY events DESC, last_day DESC, topic
 LIMIT 10;
