#!/usr/bin/env node
'use strict';
// CommonJS (bin/package.json), so that libuv's thread pool is sized before the ES modules of the
// program are loaded (bin/thread-pool.js says why).
require('./thread-pool.js');

import('../dist/cli/main.js').then(async ({ run }) => {
  process.exitCode = await run(process.argv.slice(2));
});
