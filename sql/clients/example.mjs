// SPDX-License-Identifier: MIT
// eventmd from Node.js with better-sqlite3 (version 12 on Node 20).
//
//   npm install better-sqlite3@12
//   node sql/clients/example.mjs [EXTENSION] [ARCHIVE]
import { createRequire } from 'node:module';
import path from 'node:path';

// better-sqlite3 from the project's build/node (make test installs it
// there), else from wherever Node finds it.
const require = createRequire(path.resolve('build/node/package.json'));
const Database = require('better-sqlite3');

const ext = process.argv[2] ?? 'build/eventmd';
const root = process.argv[3] ?? 'tests/sample';

const db = new Database(':memory:');
db.loadExtension(ext);
db.prepare('SELECT eventmd_attach(?)').get(root);

const busiest = db.prepare(
  `SELECT s.domain, count(*) AS citations
     FROM events e JOIN sources s ON s.event_path = e.path
    WHERE e.is_current AND e.date >= @since
    GROUP BY s.domain ORDER BY citations DESC, s.domain LIMIT 3`);
for (const row of busiest.all({ since: '2017-01-01' })) {
  console.log(row.domain, row.citations);
}

// Stories: the topics with the most events (current versions).
const stories = db.prepare(
  `SELECT topic, count(*) AS events FROM events
    WHERE is_current AND topic IS NOT NULL
    GROUP BY topic ORDER BY events DESC, topic LIMIT 2`);
for (const row of stories.all()) console.log(row.events, row.topic);

// Rowids are 53-bit: exact as JavaScript numbers.
const one = db.prepare('SELECT rowid, path FROM eventmd_events(?) ORDER BY path LIMIT 1').get(root);
console.log(Number.isSafeInteger(one.rowid), one.path);

try {
  db.prepare('SELECT * FROM eventmd_events(?)').all('/no/such/archive');
} catch (e) {
  console.log('error:', e.message);
}
