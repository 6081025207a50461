// SPDX-License-Identifier: MIT
// eventmd for Node.js: where the loadable extension is, and loading it into a
// database connection of better-sqlite3 (synchronous) or node-sqlite3
// (asynchronous, with a callback).
//
//   const { load, getLoadablePath } = require('eventmd');
//   load(db);                       // better-sqlite3: returns db, throws on error
//   load(db, (err) => { ... });     // node-sqlite3: the callback gets the error
//   await load(db);                 // node-sqlite3 without a callback: a Promise
//
// The package ships the extension built for linux-x64 (glibc, with cmark 0.30
// installed: Debian 12's libcmark0.30.2).  Elsewhere build it from source and
// point EVENTMD_EXTENSION at the built file (see README.md).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

// Platforms this package has a prebuilt extension for, by `platform-arch`.
const PREBUILT = ['linux-x64'];

function buildHint(file) {
  return (
    'build eventmd from source (a C compiler, make, pkg-config, and the ' +
    'SQLite and cmark development files; see README.md of the eventmd ' +
    'package): run `make` in the eventmd source tree, then either set ' +
    'EVENTMD_EXTENSION to the built file (build/eventmd.so) or copy it to ' +
    file + '.'
  );
}

// The absolute path of the loadable extension for this machine: the file
// named by EVENTMD_EXTENSION when that is set, else the prebuilt one in this
// package.  Throws an Error saying what to do when there is none.
function getLoadablePath() {
  const override = process.env.EVENTMD_EXTENSION;
  if (override) {
    const file = path.resolve(override);
    if (!fs.existsSync(file)) {
      throw new Error(
        `eventmd: EVENTMD_EXTENSION is set to '${override}', but ${file} does not exist. ` +
          'Set it to the extension built by `make` (build/eventmd.so in the eventmd ' +
          'source tree), or unset it to use the prebuilt extension.'
      );
    }
    return file;
  }
  const key = `${process.platform}-${process.arch}`;
  const file = path.join(__dirname, 'lib', key, 'eventmd.so');
  if (fs.existsSync(file)) return file;
  if (process.platform !== 'linux') {
    throw new Error(
      `eventmd: this package has no prebuilt extension for ${key} ` +
        `(prebuilt: ${PREBUILT.join(', ')}), and eventmd runs on Linux only ` +
        '(it uses openat2, getdents64 and inotify), so it cannot be built for ' +
        `${process.platform} either. ` +
        'If you have an eventmd extension for this system, set EVENTMD_EXTENSION to its path.'
    );
  }
  if (!PREBUILT.includes(key)) {
    throw new Error(
      `eventmd: this package has no prebuilt extension for ${key} ` +
        `(prebuilt: ${PREBUILT.join(', ')}). To use eventmd here, ` +
        buildHint(file)
    );
  }
  throw new Error(
    `eventmd: the prebuilt extension for ${key} is missing from this package ` +
      `(${file}); reinstall the package, or ` +
      buildHint(file)
  );
}

// node-sqlite3's Database loads extensions asynchronously, reporting through a
// callback; better-sqlite3 (and node:sqlite's DatabaseSync) load at once and
// throw.  node-sqlite3 is the one with serialize()/parallelize().
function isCallbackStyle(db) {
  return typeof db.serialize === 'function' && typeof db.parallelize === 'function';
}

// An error from SQLite's loader, with what usually causes it when the
// prebuilt extension does not fit this Linux: its shared-library dependencies
// (cmark 0.30, glibc 2.34 or later) are not there.
function explain(err) {
  if (!err || typeof err.message !== 'string') return err;
  if (/libcmark/.test(err.message)) {
    err.message +=
      ' (eventmd needs the cmark library, version 0.30: on Debian 12 or Ubuntu ' +
      'install the package libcmark0.30.2; elsewhere build eventmd from source ' +
      'and set EVENTMD_EXTENSION, see README.md of the eventmd package)';
  } else if (/GLIBC_|ld-linux|libc\.so/.test(err.message)) {
    err.message +=
      ' (the prebuilt eventmd extension needs glibc 2.34 or later: build eventmd ' +
      'from source and set EVENTMD_EXTENSION, see README.md of the eventmd package)';
  }
  return err;
}

// Loads eventmd into db.
//  - better-sqlite3 (db.loadExtension(file) is synchronous): returns db, or
//    throws; with a callback, it is also called with null or the error.
//  - node-sqlite3 (db.loadExtension(file, callback)): with a callback, returns
//    db and calls callback(err) once loaded; without one, returns a Promise
//    of db.  Queries issued after load(db) wait for the load either way.
function load(db, callback) {
  if (!db || typeof db.loadExtension !== 'function') {
    throw new TypeError(
      'eventmd: load(db) needs a database connection with a loadExtension() method ' +
        '(better-sqlite3, node-sqlite3, or node:sqlite opened with allowExtension: true)'
    );
  }
  if (callback !== undefined && typeof callback !== 'function') {
    throw new TypeError('eventmd: the callback of load(db, callback) must be a function');
  }
  if (isCallbackStyle(db)) {
    const run = (done) => {
      let file;
      try {
        file = getLoadablePath();
      } catch (err) {
        process.nextTick(done, err);
        return;
      }
      db.loadExtension(file, (err) => done(err ? explain(err) : null));
    };
    if (callback) {
      run(callback);
      return db;
    }
    return new Promise((resolve, reject) => {
      run((err) => (err ? reject(err) : resolve(db)));
    });
  }
  let err = null;
  try {
    db.loadExtension(getLoadablePath());
  } catch (e) {
    err = explain(e);
  }
  if (callback) {
    callback(err);
    return db;
  }
  if (err) throw err;
  return db;
}

module.exports = { getLoadablePath, load };
