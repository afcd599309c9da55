#!/usr/bin/env node
'use strict';
// `npm run setup:tensorflow`: see src/setup/setup-tensorflow.ts. CommonJS like the rest of bin/
// (bin/package.json); the program itself is the ES module in dist/.
import('../dist/setup/main.js').then(async ({ main }) => {
  process.exitCode = await main(process.argv.slice(2));
});
