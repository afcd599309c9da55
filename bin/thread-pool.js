'use strict';
/**
 * Sizes libuv's thread pool, which serves the blend's file reads and writes, before anything uses
 * it: the pool starts on first use with UV_THREADPOOL_SIZE threads (4 by default) and never grows,
 * and loading an ES module already uses it. So this file is CommonJS, loaded synchronously by
 * bin/ema-synth.js before the program itself (or with `node --require` by the benchmark).
 *
 * The blend keeps up to 16 reads in flight (two batches of 8 snapshots) plus one write per output;
 * with 4 pool threads only 4 of them run at once. One thread per core (4 to 16) lets the copies out
 * of the page cache keep pace with one blending thread per core and gives a fast disk a deeper
 * queue. A value set by the user is kept.
 */
const { availableParallelism } = require('node:os');

const MIN_POOL = 4;
const MAX_POOL = 16;

function threadPoolSize(cores) {
  return Math.min(MAX_POOL, Math.max(MIN_POOL, cores));
}

if (process.env.UV_THREADPOOL_SIZE === undefined || process.env.UV_THREADPOOL_SIZE === '') {
  process.env.UV_THREADPOOL_SIZE = String(threadPoolSize(availableParallelism()));
}

module.exports = { threadPoolSize };
