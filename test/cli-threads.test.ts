/**
 * --threads and EMA_SYNTH_THREADS (issue 17) for reconstruct and sweep, and the launcher's sizing of
 * libuv's thread pool. The thread split itself is proven byte-exact in blend-threads.test.ts; the
 * fixture runs here are small enough that the engine lowers any count to one thread, so these
 * tests are about the options reaching it and never changing a result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseThreads } from '../src/cli/options.js';
import { FIXTURES, makeTempDir, REPO_DIR, runCli } from './helpers/cli.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');
const THREAD_POOL = join(REPO_DIR, 'bin/thread-pool.js');

test('--threads wins over EMA_SYNTH_THREADS, which applies without it; neither leaves the engine its default', () => {
  assert.equal(parseThreads('3', { EMA_SYNTH_THREADS: '5' }), 3);
  assert.equal(parseThreads(undefined, { EMA_SYNTH_THREADS: '5' }), 5);
  assert.equal(parseThreads(undefined, { EMA_SYNTH_THREADS: ' ' }), undefined);
  assert.equal(parseThreads(undefined, {}), undefined);
  assert.equal(parseThreads('2', { EMA_SYNTH_THREADS: 'many' }), 2, 'a bad variable is not read when the flag is given');
});

test('a bad thread count is one error line naming the flag or the variable, exit 2', async () => {
  for (const [args, env, pattern] of [
    [['--threads', '0'], {}, /^error: --threads "0" must be a positive whole number\n$/],
    [['--threads', '2.5'], {}, /^error: --threads "2\.5" must be a positive whole number\n$/],
    [['--threads', '257'], {}, /^error: --threads 257 is more than 256 threads\nhint: /],
    [[], { EMA_SYNTH_THREADS: 'all' }, /^error: EMA_SYNTH_THREADS "all" must be a positive whole number\n$/],
  ] as const) {
    for (const command of ['reconstruct', 'sweep']) {
      const result = await runCli([command, F32_DIR, '--sigma-rel', '0.08', ...(command === 'reconstruct' ? ['--dry-run'] : []), ...args], env);
      assert.equal(result.code, 2, `${command} ${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.equal(result.stdout, '');
    }
  }
});

test('reconstruct and sweep write the same bytes whatever --threads or EMA_SYNTH_THREADS say', async (t) => {
  const dir = makeTempDir(t);
  const written: Buffer[] = [];
  for (const [name, args, env] of [['default', [], {}], ['one', ['--threads', '1'], {}], ['eight', ['--threads', '8'], {}], ['env', [], { EMA_SYNTH_THREADS: '3' }]] as const) {
    const out = join(dir, `${name}.safetensors`);
    const result = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', out, ...args], env);
    assert.equal(result.code, 0, result.stderr);
    written.push(readFileSync(out));
  }
  for (const bytes of written.slice(1)) assert.ok(bytes.equals(written[0]));
  const sweep = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.08', '--out-dir', join(dir, 'sweep'), '--keep', 'all', '--threads', '5']);
  assert.equal(sweep.code, 0, sweep.stderr);
  const checkpoints = readdirSync(join(dir, 'sweep')).filter((name) => name.endsWith('.safetensors'));
  assert.equal(checkpoints.length, 1);
  assert.ok(readFileSync(join(dir, 'sweep', checkpoints[0])).equals(written[0]), 'the sweep writes what reconstruct writes');
});

test('the launcher sizes libuv\'s pool at one thread per core, 4 to 16, before the program loads, and keeps a size the user set', () => {
  const { threadPoolSize } = createRequire(import.meta.url)(THREAD_POOL) as { threadPoolSize: (cores: number) => number };
  assert.deepEqual([1, 2, 4, 6, 16, 64].map(threadPoolSize), [4, 4, 4, 6, 16, 16]);
  const size = (env: NodeJS.ProcessEnv): string => spawnSync(process.execPath, ['--require', THREAD_POOL, '-e', 'process.stdout.write(process.env.UV_THREADPOOL_SIZE)'], { env, encoding: 'utf8' }).stdout;
  const { UV_THREADPOOL_SIZE: _, ...env } = process.env;
  assert.equal(size(env), String(threadPoolSize(availableParallelism())));
  assert.equal(size({ ...env, UV_THREADPOOL_SIZE: '7' }), '7');
  // bin/ema-synth.js must load it first, by require (CommonJS), before importing the program.
  const launcher = readFileSync(join(REPO_DIR, 'bin/ema-synth.js'), 'utf8');
  assert.ok(launcher.indexOf("require('./thread-pool.js')") >= 0 && launcher.indexOf("require('./thread-pool.js')") < launcher.indexOf('import('));
});
