/**
 * `npm run setup:tensorflow [-- --gpu] [-- --cache DIR]`: the native TensorFlow backend without
 * the storage host tfjs-node's install script downloads from. Each step is skipped when its result
 * is already in place, so running it again is cheap; each failure is one SetupError naming the step.
 *
 *   1. pip downloads the pinned wheel into the cache (no install, no Python environment changed);
 *   2. its two libraries and the C API headers are extracted into the cache;
 *   3. npm installs @tensorflow/tfjs-node(-gpu) 4.22.0 with --no-save --ignore-scripts;
 *   4. deps/ is filled from the cache and the addon compiled with node-gyp;
 *   5. a child Node loads it with LD_BIND_NOW=1 and reports TensorFlow's version and CPU features.
 */
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { SetupError } from '../errors.js';
import { checkAddon, type AddonReport } from './check-addon.js';
import { gpuExtraLibs } from './cuda-wheels.js';
import { downloadWheel, findPip } from './pip-download.js';
import { buildAddon } from './addon-build.js';
import { fillDeps, installPackage, type TfjsNodePackage } from './tfjs-node-addon.js';
import { extractHeaderClosure, extractMember, openWheel, quotedIncludes } from './wheel-extract.js';
import { CPU_WHEEL, GPU_WHEEL } from './wheels.js';

export interface SetupOptions {
  readonly gpu: boolean;
  /** Where wheels and extracted files are kept (default $XDG_CACHE_HOME/ema-synth or ~/.cache/ema-synth). */
  readonly cacheDir?: string;
  /** The project whose node_modules gets the package (the folder of ema-synth's package.json). */
  readonly root: string;
}

export interface SetupResult extends AddonReport {
  readonly package: TfjsNodePackage;
  readonly wheel: string;
  readonly cacheDir: string;
  readonly seconds: number;
}

const HEADER_ROOTS = ['tensorflow/c/c_api.h', 'tensorflow/c/eager/c_api.h'];
const LIBRARIES = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];

/** What the addon's own sources include (e.g. tensorflow/core/platform/ctstring_internal.h). */
async function addonIncludes(pkgDir: string): Promise<string[]> {
  const dir = path.join(pkgDir, 'binding');
  const files = (await readdir(dir)).filter((f) => /\.(cc|h)$/.test(f));
  return (await Promise.all(files.map(async (f) => quotedIncludes(await readFile(path.join(dir, f), 'utf8'))))).flat();
}

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'ema-synth');
}

export async function setupTensorflow(options: SetupOptions, log: (line: string) => void): Promise<SetupResult> {
  const started = Date.now();
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new SetupError(`the wheel route supports Linux x86-64 only (this is ${process.platform} ${process.arch})`,
      'elsewhere install the package directly: npm install @tensorflow/tfjs-node@4.22.0');
  }
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());
  const wheelSpec = options.gpu ? GPU_WHEEL : CPU_WHEEL;
  const pkg: TfjsNodePackage = options.gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';

  const python = findPip();
  const wheelPath = await downloadWheel(python, wheelSpec, cacheDir, log);
  const extracted = path.join(cacheDir, `${wheelSpec.project}-${wheelSpec.version}`);
  const pkgDir = installPackage(options.root, pkg, log);
  const wheel = await openWheel(wheelPath);
  for (const name of LIBRARIES) await extractMember(wheel, `tensorflow/${name}`, path.join(extracted, 'lib', name));
  const headers = await extractHeaderClosure(wheel, 'tensorflow/include/', HEADER_ROOTS, await addonIncludes(pkgDir), path.join(extracted, 'include'));
  log(`extract  ${LIBRARIES.join(', ')} and ${headers} C API headers in ${extracted}`);
  const extraLibs = options.gpu ? await gpuExtraLibs(python, cacheDir, log) : [];

  await fillDeps(pkgDir, path.join(extracted, 'lib'), path.join(extracted, 'include'), extraLibs);
  await buildAddon(pkgDir, wheelSpec.sha256, cacheDir, log);
  log('check    loading the addon with LD_BIND_NOW=1');
  const report = checkAddon(options.root, pkg);
  if (report.tensorflowVersion !== wheelSpec.version) {
    throw new SetupError(`the addon loaded TensorFlow ${report.tensorflowVersion}, expected ${wheelSpec.version}`, `another libtensorflow is on the library path (LD_LIBRARY_PATH=${process.env.LD_LIBRARY_PATH ?? ''})`);
  }
  return { ...report, package: pkg, wheel: wheelSpec.file, cacheDir, seconds: (Date.now() - started) / 1000 };
}
