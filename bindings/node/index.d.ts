// SPDX-License-Identifier: MIT
// Types for the eventmd package (index.js and index.mjs).

/**
 * The absolute path of eventmd's loadable extension for this machine: the
 * file named by the EVENTMD_EXTENSION environment variable when it is set,
 * else the prebuilt one in this package (linux-x64).  Throws an Error saying
 * how to build it from source when there is none.
 */
export declare function getLoadablePath(): string;

/** A connection that loads extensions synchronously (better-sqlite3, node:sqlite). */
export interface SyncLoadableDatabase {
  loadExtension(file: string, ...rest: string[]): unknown;
}

/** A connection that loads extensions with a callback (node-sqlite3's Database). */
export interface CallbackLoadableDatabase {
  loadExtension(file: string, callback?: (err: Error | null) => void): unknown;
  serialize(callback?: () => void): void;
  parallelize(callback?: () => void): void;
}

/**
 * Loads eventmd into a node-sqlite3 Database; `callback` gets null or the
 * error once it is loaded.  Returns db.
 */
export declare function load<D extends CallbackLoadableDatabase>(
  db: D,
  callback: (err: Error | null) => void
): D;
/** Loads eventmd into a node-sqlite3 Database: a Promise of db once it is loaded. */
export declare function load<D extends CallbackLoadableDatabase>(db: D): Promise<D>;
/**
 * Loads eventmd into a better-sqlite3 (or node:sqlite) database: returns db,
 * and throws when the extension cannot be loaded (or, given a callback,
 * calls it with null or the error instead).
 */
export declare function load<D extends SyncLoadableDatabase>(
  db: D,
  callback?: (err: Error | null) => void
): D;
