-- SPDX-License-Identifier: MIT
-- Files with problems: every file eventmd could not read cleanly, and why.
-- (A bad file never hides: it keeps its row, with what could be parsed.)
SELECT path,
       coalesce(date, '')  AS date,
       problem
  FROM events
 WHERE problem IS NOT NULL
 ORDER BY path;
