// SPDX-License-Identifier: MIT
// Real-client test: eventmd loaded into Node's better-sqlite3 (version 12).
//
//   node --test tests/clients/test_node.mjs
//
// better-sqlite3 is looked up from build/node/ (where tests/clients/clients.sh installs
// it with `npm install --prefix build/node better-sqlite3@12`), then NODE_PATH.
// EVENTMD_EXT is the extension's path, default build/eventmd in this repository.
// Every expected value below was checked against tests/sample/ by hand.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const REPO = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const EXT = path.resolve(process.env.EVENTMD_EXT || path.join(REPO, 'build', 'eventmd'));
const SAMPLE = path.join(REPO, 'tests', 'sample');

const require = createRequire(path.join(REPO, 'build', 'node', 'index.js'));
const Database = require('better-sqlite3');
const { SqliteError } = Database;

// The Blue Nile declaration of 2015-03-23: three versions in one day folder.
const DAY = '/news/2015/03/23/';
const V1 = DAY + 'blue-nile-dam-pthe-leaders-of-egypt-sudan-and-ethiopia-sign-a-declaration-' +
  'of-principles-in-khartoum-on-the-blue-nile-dam.md';
const V2 = DAY + 'blue-nile-dam-the-leaders-of-egypt-sudan-and-ethiopia-sign-a-declaration-' +
  'of-principles-in-khartoum-on-the-blue-nile-dam-committing-their.md';
const V3 = DAY + 'the-leaders-of-egypt-sudan-and-ethiopia-sign-a-declaration-of-principles-' +
  'in-khartoum-on-the-blue-nile-dam-committing-their-countries-to-se.md';
const V1_TITLE = 'Blue Nile dam:The leaders of Egypt, Sudan and Ethiopia sign a declaration ' +
  'of principles in Khartoum on the Blue Nile dam.';
const V2_TITLE = 'Blue Nile dam:: The leaders of Egypt, Sudan and Ethiopia sign a declaration ' +
  'of principles in Khartoum on the Blue Nile dam, committing their countries to settle ' +
  'disputes over the project through dialogue.';
const V3_TITLE = 'The leaders of Egypt, Sudan and Ethiopia sign a declaration of principles ' +
  'in Khartoum on the Blue Nile dam, committing their countries to settle disputes over ' +
  'the project through dialogue.';

const COUNTS = { events: 54, sources: 194, related: 83, changes: 67 };
const COLUMNS = {
  events: ['path', 'date', 'title', 'topic', 'summary', 'cover_image', 'day_index',
    'is_current', 'current_path', 'n_sources', 'n_related', 'n_changes', 'size', 'mtime',
    'problem'],
  sources: ['event_path', 'ordinal', 'name', 'url', 'domain'],
  related: ['event_path', 'ordinal', 'title', 'target', 'target_date', 'context'],
  changes: ['event_path', 'ordinal', 'title', 'target', 'changed_at', 'label', 'is_current'],
};

const NEW_PATH = '/news/2019/1/2/new-test-event.md';
const NEW_EVENT = `### [2019-01-02](/news/2019/1/2/index.md)

# A test event written by the Node client test.

A one-line summary.

### Source:

1. [Reuters](https://www.reuters.com/test-one)
2. [Example](https://Example.ORG:8080/two)
3. [Cover Image](https://img.example.net/cover.jpg)

### Related:

1. [ Blue Nile ](${V3}) _Context: Khartoum, Test_

### Changes:

1. [A test event](${NEW_PATH}) _(Current version)_
`;

const notReadable = (root, reason = 'No such file or directory') =>
  `eventmd: root '${root}' is not a readable directory (${reason})`;

// assert.throws with a SqliteError carrying exactly this message.
function throwsSqlite(fn, message) {
  assert.throws(fn, (err) => {
    assert.ok(err instanceof SqliteError, `expected SqliteError, got ${err}`);
    assert.equal(err.code, 'SQLITE_ERROR');
    assert.equal(err.message, message);
    return true;
  });
}

function open(file = ':memory:') {
  const db = new Database(file);
  db.loadExtension(EXT);
  return db;
}

let tmp;
before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eventmd-node-')); });
after(() => { fs.rmSync(tmp, { recursive: true, force: true }); });

describe('eventmd in better-sqlite3', () => {
  let db;
  before(() => { db = open(); });
  after(() => { db.close(); });

  const one = (sql, ...params) => db.prepare(sql).pluck().get(...params);
  const rows = (sql, ...params) => db.prepare(sql).raw().all(...params);

  test('version and stats', () => {
    const header = fs.readFileSync(path.join(REPO, 'include', 'eventmd.h'), 'utf8');
    assert.equal(one('SELECT eventmd_version()'),
      /#define EVENTMD_VERSION "([^"]+)"/.exec(header)[1]);
    assert.equal(one('SELECT eventmd_version()'), '1.1.0');
    assert.equal(one("SELECT eventmd_config('reset_stats')"), null);
    const q = db.prepare('SELECT title FROM eventmd_events(?) WHERE path = ?').pluck();
    assert.equal(q.get(SAMPLE, V3), V3_TITLE);
    assert.equal(q.get(SAMPLE, V3), V3_TITLE);
    const stats = JSON.parse(one('SELECT eventmd_stats()'));
    assert.equal(stats.scans, 2);
    assert.equal(stats.folders_opened, 0);
    assert.equal(stats.files_parsed, 1);
    assert.equal(stats.cache_hits, 1);
    throwsSqlite(() => one("SELECT eventmd_config('nope')"),
      "eventmd: unknown setting 'nope' (expected cache_bytes, cache_file, threads, watch, roots, lock or reset_stats)");
  });

  test('four table-valued functions', () => {
    for (const [name, n] of Object.entries(COUNTS)) {
      const stmt = db.prepare(`SELECT * FROM eventmd_${name}(?)`);
      assert.deepEqual(stmt.columns().map((c) => c.name), COLUMNS[name], name);
      assert.equal(stmt.all(SAMPLE).length, n, name);
      assert.deepEqual(rows(`SELECT DISTINCT root FROM eventmd_${name}(?)`, SAMPLE),
        [[SAMPLE]]);
    }
  });

  test('four CREATE VIRTUAL TABLE tables', () => {
    for (const [name, n] of Object.entries(COUNTS)) {
      db.exec(`CREATE VIRTUAL TABLE temp.t_${name} USING eventmd_${name}(root='${SAMPLE}')`);
      const stmt = db.prepare(`SELECT * FROM temp.t_${name} ORDER BY 1, 2`);
      assert.deepEqual(stmt.columns().map((c) => c.name), COLUMNS[name], name);
      const got = stmt.raw().all();
      assert.equal(got.length, n, name);
      assert.deepEqual(got, rows(`SELECT * FROM eventmd_${name}(?) ORDER BY 1, 2`, SAMPLE));
      db.exec(`DROP TABLE temp.t_${name}`);
    }
  });

  test('one event, exact values', () => {
    const st = fs.statSync(SAMPLE + V3);
    const row = db.prepare('SELECT * FROM eventmd_events(?) WHERE path = ?').get(SAMPLE, V3);
    assert.deepEqual(row, {
      path: V3,
      date: '2015-03-23',
      title: V3_TITLE,
      topic: 'Grand Ethiopian Renaissance Dam',
      summary: 'The ten-point document is the first agreement signed by the three countries ' +
        'on the dam and includes a commitment to agree rules for filling its reservoir',
      cover_image: 'http://english.ahram.org.eg/Media/News/2015/3/23/2015-196729384019783982-870.jpg',
      day_index: '/news/2015/03/23/index.md',
      is_current: 1,
      current_path: V3,
      n_sources: 4,
      n_related: 4,
      n_changes: 3,
      size: st.size,
      mtime: Math.floor(st.mtimeMs / 1000),
      problem: null,
    });
    assert.equal(one('SELECT markdown FROM eventmd_events(?) WHERE path = ?', SAMPLE, V3),
      fs.readFileSync(SAMPLE + V3, 'utf8'));
  });

  test('three versions, labels in order', () => {
    assert.deepEqual(
      rows('SELECT path, title, is_current FROM eventmd_events(?) WHERE date = ? ORDER BY path',
        SAMPLE, '2015-03-23'),
      [[V1, V1_TITLE, 0], [V2, V2_TITLE, 0], [V3, V3_TITLE, 1]]);
    const history = db.prepare('SELECT ordinal, target, changed_at, label, is_current' +
      ' FROM eventmd_changes(:root) WHERE event_path = :path ORDER BY ordinal').raw();
    for (const p of [V1, V2, V3]) {
      assert.deepEqual(history.all({ root: SAMPLE, path: p }), [
        [1, V1, '2017-08-25 03:41:12', 'First version', 0],
        [2, V2, '2017-08-27 03:40:55', 'Update', 0],
        [3, V3, null, 'Current version', 1],
      ], p);
    }
  });

  test('sources and related', () => {
    assert.deepEqual(
      rows('SELECT ordinal, name, domain FROM eventmd_sources(?) WHERE event_path = ?',
        SAMPLE, V3),
      [[1, 'Al-Ahram', 'english.ahram.org.eg'], [2, 'Al Jazeera', 'aljazeera.com'],
        [3, 'Reuters', 'reuters.com'], [4, 'BBC News', 'bbc.co.uk']]);
    assert.deepEqual(rows('SELECT name, url, domain FROM eventmd_sources(?) WHERE url IS NULL',
      SAMPLE), [['International Atomic Energy Agency statement', null, null]]);
    assert.deepEqual(
      rows('SELECT ordinal, target_date, context FROM eventmd_related(@root)' +
        ' WHERE event_path = @path ORDER BY ordinal', { root: SAMPLE, path: V3 }),
      [[1, '2014-02-05', 'Khartoum, Blue Nile'], [2, '2013-11-14', 'Khartoum'],
        [3, '2017-10-12', 'Cairo, Blue Nile'], [4, '2010-05-14', 'Entebbe, Nile']]);
    assert.equal(one('SELECT count(*) FROM eventmd_related(?) r JOIN eventmd_events(?) e' +
      ' ON e.path = r.target', SAMPLE, SAMPLE), 61);
    assert.deepEqual(
      rows('SELECT path, problem FROM eventmd_events(?) WHERE problem IS NOT NULL ORDER BY path',
        SAMPLE),
      [['/news/2014/05/28/problem-date-heading-differs-from-folder.md',
        'date heading 2014-05-27 differs from path'],
      ['/news/2016/09/26/problem-invalid-utf-8.md', 'invalid UTF-8'],
      ['/news/2016/6/24/problem-no-title.md', 'no title']]);
  });

  test('bound parameters, positional and named', () => {
    const q = db.prepare('SELECT title FROM eventmd_events(?) WHERE path = ?').pluck();
    assert.deepEqual(q.all(SAMPLE, V3), [V3_TITLE]);
    assert.deepEqual(q.all(SAMPLE, '/news/2015/03/23/no-such-event.md'), []);
    for (const prefix of [':', '@', '$']) {
      const named = db.prepare(`SELECT title FROM eventmd_events(${prefix}root)` +
        ` WHERE path = ${prefix}path`).pluck();
      assert.deepEqual(named.all({ root: SAMPLE, path: V1 }), [V1_TITLE], prefix);
    }
    // One statement, re-bound for every path.
    const all = db.prepare('SELECT path, title FROM eventmd_events(?)').raw().all(SAMPLE);
    assert.equal(all.length, COUNTS.events);
    for (const [p, title] of all) assert.deepEqual(q.all(SAMPLE, p), [title]);
    assert.deepEqual(
      rows('SELECT path FROM eventmd_events(?) WHERE path IN (?, ?, ?) ORDER BY path',
        SAMPLE, V3, V1, '/nope.md'), [[V1], [V3]]);
    assert.equal(one('SELECT count(*) FROM eventmd_events(?) WHERE date BETWEEN ? AND ?',
      SAMPLE, '2015-01-01', '2015-12-31'), 8);
  });

  test('rowids are stable (64-bit: read as BigInt)', () => {
    const scan = db.prepare('SELECT rowid, path FROM eventmd_events(?)').raw().safeIntegers();
    const byPath = db.prepare('SELECT rowid FROM eventmd_events(?) WHERE path = ?')
      .pluck().safeIntegers();
    const list = scan.all(SAMPLE);
    assert.equal(new Set(list.map(([r]) => r)).size, COUNTS.events);
    for (const [rowid, p] of list) assert.equal(byPath.get(SAMPLE, p), rowid);
  });

  test('eventmd_attach', () => {
    assert.equal(one('SELECT eventmd_attach(?)', SAMPLE), SAMPLE);
    assert.deepEqual(rows('SELECT name FROM sqlite_temp_master ORDER BY name'),
      [['changes'], ['events'], ['related'], ['sources']]);
    for (const [name, n] of Object.entries(COUNTS)) {
      assert.equal(one(`SELECT count(*) FROM ${name}`), n, name);
    }
    assert.deepEqual(
      rows('SELECT label FROM changes WHERE event_path = ? ORDER BY ordinal', V3),
      [['First version'], ['Update'], ['Current version']]);
    assert.equal(one("SELECT eventmd_attach(?, 'x_')", SAMPLE), SAMPLE);
    assert.equal(one('SELECT count(*) FROM x_sources'), COUNTS.sources);
    const bad = path.join(tmp, 'missing');
    throwsSqlite(() => one("SELECT eventmd_attach(?, 'bad_')", bad), notReadable(bad));
    db.exec('DROP TABLE temp.events; DROP TABLE temp.sources; DROP TABLE temp.related;' +
      ' DROP TABLE temp.changes; DROP TABLE temp.x_events; DROP TABLE temp.x_sources;' +
      ' DROP TABLE temp.x_related; DROP TABLE temp.x_changes');
  });

  test('errors are SqliteError with eventmd\'s message', () => {
    const missing = path.join(tmp, 'no-such-archive');
    for (const name of Object.keys(COUNTS)) {
      throwsSqlite(() => db.prepare(`SELECT * FROM eventmd_${name}(?)`).all(missing),
        notReadable(missing));
    }
    throwsSqlite(() => db.prepare("SELECT * FROM eventmd_events('/x')").all(), notReadable('/x'));
    const file = path.join(SAMPLE, 'notes.txt');
    throwsSqlite(() => db.prepare('SELECT * FROM eventmd_events(?)').all(file),
      notReadable(file, 'Not a directory'));
    throwsSqlite(() => db.exec(`CREATE VIRTUAL TABLE temp.t USING eventmd_events(root='${missing}')`),
      notReadable(missing));
    throwsSqlite(
      () => db.exec(`CREATE VIRTUAL TABLE temp.t USING eventmd_events(root='${SAMPLE}', colour=blue)`),
      "eventmd: unknown argument 'colour' (expected root, max_size or follow_symlinks)");
    throwsSqlite(
      () => db.exec(`CREATE VIRTUAL TABLE temp.t USING eventmd_changes(root='${SAMPLE}', max_size=0)`),
      "eventmd: malformed argument 'max_size=0': max_size must be a number of bytes from 1 to 1073741824");
    throwsSqlite(() => db.prepare('SELECT * FROM eventmd_related').all(),
      "eventmd: eventmd_related needs a root folder: eventmd_related('/path/to/archive')");
    throwsSqlite(() => db.prepare('SELECT * FROM eventmd_events(?)').all(42n),
      'eventmd: root must be a folder path (text)');
    assert.equal(one('SELECT count(*) FROM eventmd_events(?)', SAMPLE), COUNTS.events);
  });

  test('live: a new file shows up, a deleted one is gone', () => {
    const root = path.join(tmp, 'archive');
    fs.cpSync(SAMPLE, root, { recursive: true });
    one("SELECT eventmd_attach(?, 'live_')", root);
    const counts = db.prepare('SELECT (SELECT count(*) FROM eventmd_events(:r)),' +
      ' (SELECT count(*) FROM eventmd_sources(:r)), (SELECT count(*) FROM eventmd_related(:r)),' +
      ' (SELECT count(*) FROM eventmd_changes(:r))').raw();
    const attached = db.prepare('SELECT (SELECT count(*) FROM live_events),' +
      ' (SELECT count(*) FROM live_sources), (SELECT count(*) FROM live_related),' +
      ' (SELECT count(*) FROM live_changes)').raw();
    const title = db.prepare('SELECT title FROM eventmd_events(?) WHERE path = ?').pluck();
    const before = [54, 194, 83, 67];
    assert.deepEqual(counts.get({ r: root }), before);
    assert.equal(title.get(root, NEW_PATH), undefined);

    const file = path.join(root, NEW_PATH.slice(1));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, NEW_EVENT);
    const afterNew = [55, 196, 84, 68];
    assert.deepEqual(counts.get({ r: root }), afterNew);
    assert.deepEqual(attached.get(), afterNew);
    assert.equal(title.get(root, NEW_PATH), 'A test event written by the Node client test.');
    assert.deepEqual(
      db.prepare('SELECT date, summary, cover_image, is_current, n_sources, n_related,' +
        ' n_changes, problem FROM live_events WHERE path = ?').raw().get(NEW_PATH),
      ['2019-01-02', 'A one-line summary.', 'https://img.example.net/cover.jpg', 1, 2, 1, 1, null]);
    assert.deepEqual(rows('SELECT name, domain FROM live_sources WHERE event_path = ?' +
      ' ORDER BY ordinal', NEW_PATH), [['Reuters', 'reuters.com'], ['Example', 'example.org']]);
    assert.deepEqual(rows('SELECT target, target_date, context FROM live_related' +
      ' WHERE event_path = ?', NEW_PATH), [[V3, '2015-03-23', 'Khartoum, Test']]);
    assert.deepEqual(rows('SELECT label, is_current FROM live_changes WHERE event_path = ?',
      NEW_PATH), [['Current version', 1]]);

    fs.writeFileSync(file, NEW_EVENT.replace('Node client test.', 'Node client, edited.'));
    assert.equal(title.get(root, NEW_PATH), 'A test event written by the Node client, edited.');

    fs.rmSync(file);
    assert.deepEqual(counts.get({ r: root }), before);
    assert.deepEqual(attached.get(), before);
    assert.equal(title.get(root, NEW_PATH), undefined);
    assert.equal(one('SELECT count(*) FROM live_events WHERE date = ?', '2019-01-02'), 0);
  });
});

test('a view stored in the database cannot use the tables; a TEMP view can', () => {
  const file = path.join(tmp, 'views.db');
  let db = open(file);
  try {
    db.exec(`CREATE VIEW main.v AS SELECT count(*) AS n FROM eventmd_events('${SAMPLE}')`);
    db.exec(`CREATE TEMP VIEW tv AS SELECT count(*) AS n FROM eventmd_events('${SAMPLE}')`);
    assert.throws(() => db.prepare('SELECT n FROM main.v').all(),
      { name: 'SqliteError', message: 'unsafe use of virtual table "eventmd_events"' });
    assert.equal(db.prepare('SELECT n FROM tv').pluck().get(), COUNTS.events);
  } finally {
    db.close();
  }
  db = open(file);
  try {
    assert.throws(() => db.prepare('SELECT n FROM v').all(),
      { name: 'SqliteError', message: 'unsafe use of virtual table "eventmd_events"' });
  } finally {
    db.close();
  }
});
