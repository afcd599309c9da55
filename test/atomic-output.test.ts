import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile, chmod } from 'node:fs/promises';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AtomicOutput, checkOutputAvailable, writeFileAtomic } from '../src/io/atomic-output.js';
import { isTempFileName, liveTempFiles, removeAllTempFiles, removeStaleTempFiles } from '../src/io/temp-registry.js';
import { SafetensorsWriter } from '../src/safetensors/writer.js';
import { openSafetensors } from '../src/safetensors/reader.js';
import { OutputError } from '../src/errors.js';
import { requireInCi, runWithReadOnlyDir } from './helpers/read-only-dir.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'ema-synth-atomic-'));
}

test('nothing exists at the final path until commit, and the temporary file is clearly named', async () => {
  const dir = await tempDir();
  const path = join(dir, 'out.safetensors');
  const output = await AtomicOutput.create(path);
  await output.write(new Uint8Array(10));
  const names = await readdir(dir);
  assert.equal(names.length, 1);
  assert.match(names[0], new RegExp(`^\\.out\\.safetensors\\.ema-synth-tmp-${process.pid}-[0-9a-f]{12}$`));
  assert.ok(isTempFileName(names[0]));
  assert.ok(!isTempFileName('phema-0000100-0.050.safetensors'));
  await output.commit();
  assert.deepEqual(await readdir(dir), ['out.safetensors']);
  assert.deepEqual(liveTempFiles(), []);
  await rm(dir, { recursive: true });
});

test('never overwrites without force, and says how to', async () => {
  const dir = await tempDir();
  const path = join(dir, 'out.json');
  await writeFile(path, 'original');
  await assert.rejects(writeFileAtomic(path, 'new'), (e: unknown) =>
    e instanceof OutputError && e.message === `${path}: the output file already exists` && e.hint === 'use --force to replace it');
  // An existing file that appears after create() is also kept (the link-based move refuses).
  await rm(path);
  const output = await AtomicOutput.create(path);
  await output.write(new TextEncoder().encode('late'));
  await writeFile(path, 'raced in');
  await assert.rejects(output.commit(), (e: unknown) =>
    e instanceof OutputError && e.message === `${path}: cannot move the finished file into place: the file already exists` && e.hint === 'use --force to replace it');
  assert.equal(await readFile(path, 'utf8'), 'raced in');
  assert.deepEqual(await readdir(dir), ['out.json']);
  await writeFileAtomic(path, 'forced', { force: true });
  assert.equal(await readFile(path, 'utf8'), 'forced');
  await rm(dir, { recursive: true });
});

test('two concurrent writers of one path leave one complete valid file, never a mix', async () => {
  const dir = await tempDir();
  const path = join(dir, 'ema.safetensors');
  const layout = { tensors: [{ name: 'w', dtype: 'U8' as const, shape: [3_000_000] }] };
  const writers = await Promise.all([SafetensorsWriter.create(path, layout), SafetensorsWriter.create(path, layout)]);
  const fills = [0x11, 0x22];
  const results = await Promise.allSettled(writers.map(async (writer, i) => {
    for (let k = 0; k < 30; k++) await writer.write(new Uint8Array(100_000).fill(fills[i]));
    await writer.commit();
  }));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  const failure = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  assert.match(String(failure.reason.message), /already exists/);
  const file = await openSafetensors(path);
  const bytes = new Uint8Array(3_000_000);
  await file.read('w', 0, bytes);
  await file.close();
  assert.ok(bytes.every((b) => b === bytes[0]) && fills.includes(bytes[0]), 'file holds one writer\'s bytes only');
  assert.deepEqual(await readdir(dir), ['ema.safetensors']);
  await rm(dir, { recursive: true });
});

test('abort and removeAllTempFiles remove temporary files', async () => {
  const dir = await tempDir();
  const a = await AtomicOutput.create(join(dir, 'a.bin'));
  await a.write(new Uint8Array(5));
  await a.abort();
  assert.deepEqual(await readdir(dir), []);
  const b = await AtomicOutput.create(join(dir, 'b.bin'));
  const c = await AtomicOutput.create(join(dir, 'c.bin'));
  assert.equal((await readdir(dir)).length, 2);
  assert.equal(removeAllTempFiles(), 2);
  assert.deepEqual(await readdir(dir), []);
  assert.deepEqual(liveTempFiles(), []);
  await b.abort();
  await c.abort();
  await rm(dir, { recursive: true });
});

test('stale temporary files of dead processes are removed, live ones kept', async () => {
  const dir = await tempDir();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  await writeFile(join(dir, `.x.safetensors.ema-synth-tmp-${dead}-abcdef`), '');
  await writeFile(join(dir, `.y.safetensors.ema-synth-tmp-${process.ppid}-abcdef`), '');
  await writeFile(join(dir, 'z.safetensors'), '');
  assert.deepEqual(await removeStaleTempFiles(dir), [`.x.safetensors.ema-synth-tmp-${dead}-abcdef`]);
  assert.deepEqual((await readdir(dir)).sort(), [`.y.safetensors.ema-synth-tmp-${process.ppid}-abcdef`, 'z.safetensors']);
  await rm(dir, { recursive: true });
});

test('a missing output folder is an OutputError naming the path', async () => {
  const dir = await tempDir();
  const path = join(dir, 'no', 'such', 'out.safetensors');
  await assert.rejects(AtomicOutput.create(path), (e: unknown) =>
    e instanceof OutputError && e.message === `${path}: cannot write into its folder: the folder does not exist` && e.hint === 'create the folder first');
  await checkOutputAvailable(join(dir, 'x'), false); // a free path in an existing folder is fine
  await rm(dir, { recursive: true });
});

test('a read-only folder is an OutputError naming the output, and nothing is written', async (t) => {
  // In a child process: as root (CI) the folder is a read-only tmpfs in a private mount namespace.
  const dir = await tempDir();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = `
    import { writeFileAtomic } from ${JSON.stringify(new URL('../src/io/atomic-output.ts', import.meta.url).href)};
    import { readdirSync } from 'node:fs';
    try {
      await writeFileAtomic(${JSON.stringify(join(dir, 'out.bin'))}, 'x');
      console.log('no error');
    } catch (error) {
      console.log(error.constructor.name + ': ' + error.message + ' | ' + error.hint);
    }
    console.log('left: ' + JSON.stringify(readdirSync(${JSON.stringify(dir)})));`;
  const result = runWithReadOnlyDir(dir, `exec "${process.execPath}" --import tsx --input-type=module -e '${script.replaceAll("'", "'\\''")}'`);
  if ('unavailable' in result) return requireInCi(t, result.unavailable);
  assert.match(result.stdout, /^OutputError: .*out\.bin: cannot create a temporary file in its folder: (the filesystem is read-only \| choose a writable folder|permission denied \| choose a folder you can write to)$/m, result.stderr);
  assert.match(result.stdout, /^left: \[\]$/m);
});

test('a write that hits the file size limit (EFBIG) fails clearly and leaves no file', async () => {
  const dir = await tempDir();
  const script = `
    import { writeSafetensorsFile } from ${JSON.stringify(new URL('../src/safetensors/writer.ts', import.meta.url).href)};
    try {
      await writeSafetensorsFile(${JSON.stringify(join(dir, 'big.safetensors'))}, [{ name: 'w', dtype: 'F32', shape: [1000000], data: new Uint8Array(4000000) }]);
      console.log('no error');
    } catch (error) {
      console.log(error.constructor.name + ': ' + error.message + ' | ' + error.hint);
    }`;
  const result = spawnSync('bash', ['-c', `ulimit -f 1024; exec "${process.execPath}" --import tsx --input-type=module -e "$0"`, script], { encoding: 'utf8' });
  assert.match(result.stdout, /^OutputError: .*big\.safetensors: cannot write: file too large for this system \(file size limit, e\.g\. `ulimit -f`\)/, result.stderr);
  assert.deepEqual(await readdir(dir), []);
  await rm(dir, { recursive: true });
});

/** Runs a module script in a child node with tsx, as a separate process would. */
function child(script: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
}

const writerUrl = JSON.stringify(new URL('../src/safetensors/writer.ts', import.meta.url).href);

test('two processes writing the same output leave one complete file from one of them', async () => {
  const dir = await tempDir();
  const path = join(dir, 'ema.safetensors');
  // Both create and fill their temporary files, then commit at the same moment on a signal.
  const script = (fill: number): string => `
    import { SafetensorsWriter } from ${writerUrl};
    const writer = await SafetensorsWriter.create(${JSON.stringify(path)}, { tensors: [{ name: 'w', dtype: 'U8', shape: [8000000] }] });
    for (let k = 0; k < 8; k++) await writer.write(new Uint8Array(1000000).fill(${fill}));
    console.log('ready');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    try { await writer.commit(); console.log('committed'); } catch (error) { console.log('refused: ' + error.message); }
    process.exit(0);`;
  const procs = [0x11, 0x22].map((fill) => child(script(fill)));
  const outputs = procs.map((proc) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    return { proc, done: new Promise<string>((resolve) => proc.on('close', () => resolve(out.replace('ready', '').trim()))) };
  });
  await Promise.all(procs.map((proc) => new Promise<void>((resolve) => proc.stdout!.once('data', () => resolve()))));
  for (const proc of procs) proc.stdin!.write('go\n');
  const results = await Promise.all(outputs.map((o) => o.done));
  assert.equal(results.filter((o) => o === 'committed').length, 1, results.join(' | '));
  assert.match(results.find((o) => o !== 'committed') ?? '', /^refused: .*ema\.safetensors: (the output file already exists|cannot move the finished file into place: the file already exists)$/);
  const file = await openSafetensors(path);
  const bytes = new Uint8Array(8_000_000);
  await file.read('w', 0, bytes);
  await file.close();
  assert.ok(bytes.every((b) => b === bytes[0]), 'one writer\'s bytes only');
  assert.deepEqual(await readdir(dir), ['ema.safetensors']);
  await rm(dir, { recursive: true });
});

test('after SIGKILL mid-write only a recognisable temporary file remains, and the next run removes it', async () => {
  const dir = await tempDir();
  const path = join(dir, 'out.safetensors');
  const proc = child(`
    import { SafetensorsWriter } from ${writerUrl};
    const writer = await SafetensorsWriter.create(${JSON.stringify(path)}, { tensors: [{ name: 'w', dtype: 'U8', shape: [8000000] }] });
    await writer.write(new Uint8Array(3000000));
    console.log('writing');
    setInterval(() => {}, 1000);`);
  await new Promise<void>((resolve) => proc.stdout!.once('data', () => resolve()));
  proc.kill('SIGKILL');
  await new Promise((resolve) => proc.on('close', resolve));
  const names = await readdir(dir);
  assert.equal(names.length, 1);
  assert.ok(isTempFileName(names[0]), names[0]);
  assert.deepEqual(await removeStaleTempFiles(dir), names);
  assert.deepEqual(await readdir(dir), []);
  await rm(dir, { recursive: true });
});
