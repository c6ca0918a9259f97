// undici's Pool and connector, required from their own modules. The package's entry point also loads
// fetch, WebSocket, the HTTP cache, mocks and more: ~7 MiB of heap in an idle gateway that uses none of
// them (docs/performance.md, idle memory). undici has no exports map and its version is pinned
// (package.json ~7.30), so these two paths are part of what is pinned; test/architecture checks them.
import { createRequire } from 'node:module';
import type { buildConnector as BuildConnector, Pool as UndiciPool } from 'undici';

const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
export const buildConnector = require('undici/lib/core/connect.js') as typeof BuildConnector;
