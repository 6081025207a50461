// SPDX-License-Identifier: MIT
// eventmd for Node.js, as an ES module: the same functions as index.js.
//
//   import { load, getLoadablePath } from 'eventmd';
import eventmd from './index.js';

export const { getLoadablePath, load } = eventmd;
