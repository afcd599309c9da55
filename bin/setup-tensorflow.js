#!/usr/bin/env node
// `npm run setup:tensorflow`: see src/setup/setup-tensorflow.ts.
import { main } from '../dist/setup/main.js';

process.exitCode = await main(process.argv.slice(2));
