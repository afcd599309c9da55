/**
 * Fetches a pinned wheel with `pip download` into our cache folder: pip only downloads (no
 * install, no dependencies), so no Python environment changes. A wheel already in the cache with
 * the pinned SHA-256 is used as it is; anything else there is deleted and fetched again.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SetupError } from '../errors.js';
import type { PinnedWheel } from './wheels.js';

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** The Python that runs pip: $PYTHON, else python3, else python. */
export function findPip(): string {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3', 'python'];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-m', 'pip', '--version'], { encoding: 'utf8' });
    if (probe.status === 0) return python;
  }
  throw new SetupError(`no pip: none of ${candidates.join(', ')} runs \`-m pip --version\``,
    'install pip (Debian/Ubuntu: apt-get install python3-pip), or set PYTHON to a Python that has it; pip is used only to download the TensorFlow wheel');
}

/** `pip download --no-deps` of exact requirements, for the wheel tags of `tags`, into `dir`. */
export function pipDownload(python: string, requirements: readonly string[], tags: PinnedWheel, dir: string): void {
  const result = spawnSync(python, [
    '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check',
    '--implementation', 'cp', '--python-version', tags.pythonVersion, '--abi', tags.abi, '--platform', tags.platform,
    '--dest', dir, ...requirements,
    // pip's progress goes to our stderr: stdout carries the setup's result only.
  ], { stdio: ['ignore', 2, 'pipe'], encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) {
    const last = result.error?.message ?? (result.stderr ?? '').trim().split('\n').filter(Boolean).pop() ?? `exit ${result.status}`;
    throw new SetupError(`pip could not download ${requirements.join(' ')}: ${last}`,
      'check that PyPI (or your pip index, PIP_INDEX_URL) is reachable; pip\'s own output is above');
  }
}

export async function downloadWheel(python: string, wheel: PinnedWheel, cacheDir: string,
  log: (line: string) => void): Promise<string> {
  const dir = path.join(cacheDir, 'wheels');
  const file = path.join(dir, wheel.file);
  if ((await stat(file).catch(() => undefined)) !== undefined) {
    if (await sha256(file) === wheel.sha256) {
      log(`wheel    ${wheel.file} (cached)`);
      return file;
    }
    log(`wheel    ${wheel.file} in the cache has the wrong SHA-256; downloading it again`);
    await rm(file);
  }
  await mkdir(dir, { recursive: true });
  log(`wheel    downloading ${wheel.project}==${wheel.version} with pip`);
  pipDownload(python, [`${wheel.project}==${wheel.version}`], wheel, dir);
  if ((await stat(file).catch(() => undefined)) === undefined) {
    throw new SetupError(`pip reported success but ${file} is not there`, 'your index may serve a different file for this version');
  }
  const actual = await sha256(file);
  if (actual !== wheel.sha256) {
    throw new SetupError(`${wheel.file}: SHA-256 ${actual}, expected ${wheel.sha256}`, 'the index served different bytes for the pinned file; it was left in the cache for inspection');
  }
  return file;
}
