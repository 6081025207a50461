// SPDX-License-Identifier: MIT
// The eventmd npm package as installed from its tarball: run by
// tests/clients/test_npm.sh from a copy inside the temporary project, so that
// 'eventmd', 'better-sqlite3' and 'sqlite3' resolve from that project's
// node_modules, as they do for a user.
//
//   node --test PROJECT/test_npm.mjs
//
// Environment:
//   EVENTMD_REPO          the eventmd source tree (include/eventmd.h, tests/sample, build/)
//   EVENTMD_SO            the extension the package was packed from
//   EVENTMD_NPM_SQLITE3   1: node-sqlite3 is installed, test it too; else its tests
//                         are skipped (test_npm.sh says why, loudly)
// Expected values were checked by hand against tests/sample with the sqlite3 shell.

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load as loadEsm, getLoadablePath as pathEsm } from 'eventmd';

const require = createRequire(import.meta.url);
const eventmd = require('eventmd');
const Database = require('better-sqlite3');

const REPO = process.env.EVENTMD_REPO;
assert.ok(REPO, 'EVENTMD_REPO must name the eventmd source tree');
const SAMPLE = path.join(REPO, 'tests', 'sample');
const SO = path.resolve(process.env.EVENTMD_SO || path.join(REPO, 'build', 'eventmd.so'));
const HEADER_VERSION = /#define EVENTMD_VERSION "([^"]+)"/.exec(
  fs.readFileSync(path.join(REPO, 'include', 'eventmd.h'), 'utf8')
)[1];
const WITH_SQLITE3 = process.env.EVENTMD_NPM_SQLITE3 === '1';

const COUNTS = { events: 54, sources: 194, related: 83, changes: 67 };
const SUMMARY = 'SELECT count(*) AS n, sum(is_current) AS current, min(date) AS first, ' +
  'max(date) AS last FROM events';
const SUMMARY_ROW = { n: 54, current: 45, first: '2013-11-08', last: '2019-03-03' };
const TOP_DOMAINS = 'SELECT domain, count(*) AS c FROM sources GROUP BY domain ' +
  'ORDER BY c DESC, domain LIMIT 2';
const TOP_DOMAINS_ROWS = [{ domain: 'reuters.com', c: 42 }, { domain: 'bbc.co.uk', c: 31 }];

const PKG_DIR = path.dirname(require.resolve('eventmd/package.json'));
const PKG = require('eventmd/package.json');

// Runs fn with environment variables set (undefined: unset), restoring them after.
function withEnv(vars, fn) {
  const old = {};
  for (const k of Object.keys(vars)) {
    old[k] = process.env[k];
    if (vars[k] === undefined) delete process.env[k];
    else process.env[k] = vars[k];
  }
  const restore = () => {
    for (const k of Object.keys(old)) {
      if (old[k] === undefined) delete process.env[k];
      else process.env[k] = old[k];
    }
  };
  let result;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result && typeof result.then === 'function') return result.finally(restore);
  restore();
  return result;
}

// Runs fn as if on another platform (process.platform and process.arch).
function onPlatform(platform, arch, fn) {
  const saved = {
    platform: Object.getOwnPropertyDescriptor(process, 'platform'),
    arch: Object.getOwnPropertyDescriptor(process, 'arch'),
  };
  Object.defineProperty(process, 'platform', { value: platform, configurable: true });
  Object.defineProperty(process, 'arch', { value: arch, configurable: true });
  try {
    return fn();
  } finally {
    Object.defineProperty(process, 'platform', saved.platform);
    Object.defineProperty(process, 'arch', saved.arch);
  }
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eventmd-npm-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
// A file that exists but is no shared library.
const NOT_AN_EXTENSION = path.join(tmp, 'not-an-extension.so');
fs.writeFileSync(NOT_AN_EXTENSION, 'this is not a shared library\n');

describe('the installed package', () => {
  test('is the one installed from the tarball, not the source folder', () => {
    const real = fs.realpathSync(PKG_DIR);
    assert.ok(real.includes(`${path.sep}node_modules${path.sep}eventmd`), real);
    assert.ok(!real.startsWith(path.join(fs.realpathSync(REPO), 'bindings')), real);
  });

  test('keeps its version in step with include/eventmd.h', () => {
    assert.equal(PKG.name, 'eventmd');
    assert.equal(PKG.version, HEADER_VERSION);
    assert.equal(PKG.license, 'MIT');
  });

  test('carries the license, the readme and the types', () => {
    const license = fs.readFileSync(path.join(PKG_DIR, 'LICENSE'), 'utf8');
    assert.equal(license, fs.readFileSync(path.join(REPO, 'LICENSE'), 'utf8'));
    assert.ok(fs.existsSync(path.join(PKG_DIR, 'README.md')));
    assert.ok(fs.existsSync(path.join(PKG_DIR, 'index.d.ts')));
  });

  test('gives the same functions to require() and import', () => {
    assert.equal(typeof eventmd.getLoadablePath, 'function');
    assert.equal(typeof eventmd.load, 'function');
    assert.equal(loadEsm, eventmd.load);
    assert.equal(pathEsm, eventmd.getLoadablePath);
  });

  test('getLoadablePath() is the absolute path of the prebuilt linux-x64 file', () => {
    withEnv({ EVENTMD_EXTENSION: undefined }, () => {
      const file = eventmd.getLoadablePath();
      assert.ok(path.isAbsolute(file), file);
      assert.equal(file, path.join(PKG_DIR, 'lib', 'linux-x64', 'eventmd.so'));
      assert.ok(fs.statSync(file).isFile());
      // The prebuilt is the extension packed from this build.
      const packed = fs.readFileSync(file);
      assert.ok(packed.includes(Buffer.from('sqlite3_eventmd_init')));
      assert.ok(fs.statSync(SO).size >= packed.length);
    });
  });
});

describe('better-sqlite3', () => {
  const check = (db) => {
    assert.equal(db.prepare('SELECT eventmd_version() AS v').get().v, HEADER_VERSION);
    assert.equal(db.prepare('SELECT eventmd_attach(?) AS r').get(SAMPLE).r, SAMPLE);
    for (const [table, n] of Object.entries(COUNTS)) {
      assert.equal(db.prepare(`SELECT count(*) AS n FROM ${table}`).get().n, n, table);
    }
    assert.deepEqual({ ...db.prepare(SUMMARY).get() }, SUMMARY_ROW);
    assert.deepEqual(db.prepare(TOP_DOMAINS).all().map((r) => ({ ...r })), TOP_DOMAINS_ROWS);
  };

  test('require("eventmd").load(db) loads it and returns db', () => {
    withEnv({ EVENTMD_EXTENSION: undefined }, () => {
      const db = new Database(':memory:');
      try {
        assert.equal(eventmd.load(db), db);
        check(db);
      } finally {
        db.close();
      }
    });
  });

  test('import { load } from "eventmd" loads it', () => {
    withEnv({ EVENTMD_EXTENSION: undefined }, () => {
      const db = new Database(':memory:');
      try {
        loadEsm(db);
        check(db);
      } finally {
        db.close();
      }
    });
  });

  test('db.loadExtension(getLoadablePath()) loads it, as a user may write', () => {
    withEnv({ EVENTMD_EXTENSION: undefined }, () => {
      const db = new Database(':memory:');
      try {
        db.loadExtension(pathEsm());
        check(db);
      } finally {
        db.close();
      }
    });
  });

  test('load(db, callback) calls back with null at once', () => {
    withEnv({ EVENTMD_EXTENSION: undefined }, () => {
      const db = new Database(':memory:');
      try {
        let called = 0;
        const ret = eventmd.load(db, (err) => {
          called++;
          assert.equal(err, null);
        });
        assert.equal(ret, db);
        assert.equal(called, 1);
        check(db);
      } finally {
        db.close();
      }
    });
  });

  test('a file that is no extension: load(db) throws the loader\'s error', () => {
    withEnv({ EVENTMD_EXTENSION: NOT_AN_EXTENSION }, () => {
      const db = new Database(':memory:');
      try {
        assert.throws(() => eventmd.load(db), (e) => e.message.includes(NOT_AN_EXTENSION));
        let got;
        assert.equal(eventmd.load(db, (err) => (got = err)), db);
        assert.ok(got instanceof Error && got.message.includes(NOT_AN_EXTENSION), String(got));
        assert.throws(() => db.prepare('SELECT eventmd_version()').get(), /no such function/);
      } finally {
        db.close();
      }
    });
  });
});

describe('where the extension comes from', () => {
  test('EVENTMD_EXTENSION names a locally built extension', () => {
    withEnv({ EVENTMD_EXTENSION: path.relative(process.cwd(), SO) }, () => {
      assert.equal(eventmd.getLoadablePath(), SO);
      const db = new Database(':memory:');
      try {
        eventmd.load(db);
        assert.equal(db.prepare('SELECT eventmd_version() AS v').get().v, HEADER_VERSION);
      } finally {
        db.close();
      }
    });
  });

  test('EVENTMD_EXTENSION naming no file is a clear error', () => {
    withEnv({ EVENTMD_EXTENSION: '/no/such/eventmd.so' }, () => {
      assert.throws(() => eventmd.getLoadablePath(),
        /^Error: eventmd: EVENTMD_EXTENSION is set to '\/no\/such\/eventmd\.so', but .* does not exist\. .*`make`/);
      const db = new Database(':memory:');
      try {
        assert.throws(() => eventmd.load(db), /EVENTMD_EXTENSION is set/);
      } finally {
        db.close();
      }
    });
  });

  test('linux-arm64: getLoadablePath() says there is no prebuilt and how to build one', () => {
    withEnv({ EVENTMD_EXTENSION: undefined }, () => {
      onPlatform('linux', 'arm64', () => {
        assert.throws(() => eventmd.getLoadablePath(), (e) => {
          assert.match(e.message, new RegExp('^eventmd: this package has no prebuilt extension ' +
            'for linux-arm64 \\(prebuilt: linux-x64\\)\\. To use eventmd here, build eventmd from source'));
          assert.match(e.message, /run `make` in the eventmd source tree/);
          assert.match(e.message, /set EVENTMD_EXTENSION to the built file/);
          assert.ok(e.message.includes(path.join(PKG_DIR, 'lib', 'linux-arm64', 'eventmd.so')),
            e.message);
          return true;
        });
      });
    });
  });

  for (const [platform, arch] of [['darwin', 'arm64'], ['win32', 'x64']]) {
    test(`${platform}-${arch}: getLoadablePath() says eventmd is Linux-only`, () => {
      withEnv({ EVENTMD_EXTENSION: undefined }, () => {
        onPlatform(platform, arch, () => {
          assert.throws(() => eventmd.getLoadablePath(), new RegExp(
            `^Error: eventmd: this package has no prebuilt extension for ${platform}-${arch} ` +
            '\\(prebuilt: linux-x64\\), and eventmd runs on Linux only .*' +
            'set EVENTMD_EXTENSION to its path\\.$'));
        });
      });
    });
  }

  test('linux-x64 with the prebuilt file gone: reinstall, or build from source', () => {
    const file = path.join(PKG_DIR, 'lib', 'linux-x64', 'eventmd.so');
    const aside = file + '.aside';
    fs.renameSync(file, aside);
    try {
      withEnv({ EVENTMD_EXTENSION: undefined }, () => {
        assert.throws(() => eventmd.getLoadablePath(),
          /^Error: eventmd: the prebuilt extension for linux-x64 is missing from this package .*; reinstall the package, or build eventmd from source/);
      });
    } finally {
      fs.renameSync(aside, file);
    }
  });

  test('another platform with EVENTMD_EXTENSION set uses that file', () => {
    withEnv({ EVENTMD_EXTENSION: SO }, () => {
      onPlatform('darwin', 'arm64', () => assert.equal(eventmd.getLoadablePath(), SO));
    });
  });

  test('a missing libcmark gets a hint naming the package to install', () => {
    const fake = {
      loadExtension() {
        throw new Error('libcmark.so.0.30.2: cannot open shared object file: No such file or directory');
      },
    };
    assert.throws(() => eventmd.load(fake), /install the package libcmark0\.30\.2/);
    const oldGlibc = {
      loadExtension() {
        throw new Error("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.34' not found");
      },
    };
    assert.throws(() => eventmd.load(oldGlibc), /needs glibc 2\.34 or later/);
  });

  test('load() refuses what is not a connection', () => {
    assert.throws(() => eventmd.load(null), TypeError);
    assert.throws(() => eventmd.load({}), /loadExtension/);
    const db = new Database(':memory:');
    try {
      assert.throws(() => eventmd.load(db, 'not a function'), TypeError);
    } finally {
      db.close();
    }
  });
});

describe('node-sqlite3 (the sqlite3 package)', { skip: !WITH_SQLITE3 && 'sqlite3 is not installed (test_npm.sh says why)' }, () => {
  const sqlite3 = WITH_SQLITE3 ? require('sqlite3') : null;
  const get = (db, sql, ...params) =>
    new Promise((resolve, reject) =>
      db.get(sql, params, (err, row) => (err ? reject(err) : resolve(row))));
  const all = (db, sql, ...params) =>
    new Promise((resolve, reject) =>
      db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows))));
  const open = () =>
    new Promise((resolve, reject) => {
      const db = new sqlite3.Database(':memory:', (err) => (err ? reject(err) : resolve(db)));
    });
  const close = (db) => new Promise((resolve) => db.close(() => resolve()));
  const check = async (db) => {
    assert.equal((await get(db, 'SELECT eventmd_version() AS v')).v, HEADER_VERSION);
    assert.equal((await get(db, 'SELECT eventmd_attach(?) AS r', SAMPLE)).r, SAMPLE);
    for (const [table, n] of Object.entries(COUNTS)) {
      assert.equal((await get(db, `SELECT count(*) AS n FROM ${table}`)).n, n, table);
    }
    assert.deepEqual(await get(db, SUMMARY), SUMMARY_ROW);
    assert.deepEqual(await all(db, TOP_DOMAINS), TOP_DOMAINS_ROWS);
  };

  test('load(db, callback) calls back once loaded and returns db', async () => {
    const db = await open();
    try {
      const err = await new Promise((resolve) => {
        assert.equal(eventmd.load(db, resolve), db);
      });
      assert.equal(err, null);
      await check(db);
    } finally {
      await close(db);
    }
  });

  test('await load(db) (import { load }) resolves to db', async () => {
    const db = await open();
    try {
      assert.equal(await loadEsm(db), db);
      await check(db);
    } finally {
      await close(db);
    }
  });

  test('queries issued right after load(db) wait for the load', async () => {
    const db = await open();
    try {
      const loaded = eventmd.load(db);
      const version = get(db, 'SELECT eventmd_version() AS v');
      assert.equal((await version).v, HEADER_VERSION);
      assert.equal(await loaded, db);
    } finally {
      await close(db);
    }
  });

  test('a file that is no extension: the callback gets the error, the Promise rejects', async () => {
    await withEnv({ EVENTMD_EXTENSION: NOT_AN_EXTENSION }, async () => {
      const db = await open();
      try {
        const err = await new Promise((resolve) => eventmd.load(db, resolve));
        assert.ok(err instanceof Error && err.message.includes(NOT_AN_EXTENSION), String(err));
        await assert.rejects(eventmd.load(db), (e) => e.message.includes(NOT_AN_EXTENSION));
        await assert.rejects(get(db, 'SELECT eventmd_version()'), /no such function/);
      } finally {
        await close(db);
      }
    });
  });

  test('no extension for this platform: the Promise rejects with the advice', async () => {
    const db = await open();
    try {
      const pending = withEnv({ EVENTMD_EXTENSION: undefined },
        () => onPlatform('darwin', 'arm64', () => eventmd.load(db)));
      await assert.rejects(pending, /no prebuilt extension for darwin-arm64/);
    } finally {
      await close(db);
    }
  });
});
