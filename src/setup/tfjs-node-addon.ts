/**
 * Installs @tensorflow/tfjs-node(-gpu) without its install script (which would download
 * libtensorflow 2.9.1 from storage.googleapis.com) and points its deps/ folder at the libraries
 * and headers taken from the wheel. Its binding.gyp compiles binding/*.cc against deps/include and
 * links -ltensorflow -ltensorflow_framework from deps/lib with rpath $ORIGIN/../../deps/lib; the
 * addon uses only TensorFlow's stable C API. Building it: addon-build.ts.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, cp, link, mkdir, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { SetupError } from '../errors.js';
import { TFJS_NODE_LIBTENSORFLOW, TFJS_NODE_VERSION } from './wheels.js';

export type TfjsNodePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

function installedVersion(root: string, pkg: string): string | undefined {
  const manifest = path.join(root, 'node_modules', pkg, 'package.json');
  if (!existsSync(manifest)) return undefined;
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

export function tail(result: SpawnSyncReturns<string>, lines = 15): string {
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-lines).join('\n');
}

/** npm itself: the one running us under `npm run`, else the npm on PATH. */
function npmCommand(): [string, string[]] {
  const cli = process.env.npm_execpath;
  return cli !== undefined && cli.endsWith('.js') ? [process.execPath, [cli]] : ['npm', []];
}

/**
 * `npm install --no-save --ignore-scripts`: package.json and package-lock.json stay as they are
 * (so `npm ci` keeps installing exactly what it did; the package stays optional), and the
 * package's own install script does not run.
 */
export function installPackage(root: string, pkg: TfjsNodePackage, log: (line: string) => void): string {
  const dir = path.join(root, 'node_modules', pkg);
  if (installedVersion(root, pkg) === TFJS_NODE_VERSION) {
    log(`package  ${pkg}@${TFJS_NODE_VERSION} (installed)`);
    return dir;
  }
  log(`package  npm install --no-save --ignore-scripts ${pkg}@${TFJS_NODE_VERSION}`);
  const [command, prefix] = npmCommand();
  const result = spawnSync(command, [...prefix, 'install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `${pkg}@${TFJS_NODE_VERSION}`],
    { cwd: root, encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) {
    throw new SetupError(`npm install ${pkg}@${TFJS_NODE_VERSION} failed: ${result.error?.message ?? tail(result)}`, 'check that the npm registry is reachable');
  }
  const version = installedVersion(root, pkg);
  if (version !== TFJS_NODE_VERSION) throw new SetupError(`after npm install, ${pkg} is at ${version ?? 'nowhere'}, expected ${TFJS_NODE_VERSION}`);
  return dir;
}

/** A hard link (no copy of ~750 MB) where the cache and node_modules share a file system, else a copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  const [a, b] = await Promise.all([stat(from), stat(to).catch(() => undefined)]);
  if (b !== undefined && a.ino === b.ino && a.dev === b.dev) return;
  await rm(to, { force: true });
  await link(from, to).catch(() => copyFile(from, to));
}

async function symlinkFresh(target: string, at: string): Promise<void> {
  await rm(at, { force: true });
  await symlink(target, at);
}

/**
 * deps/lib gets the wheel's two libraries under their sonames, plus the names the build links by
 * (libtensorflow.so: the C API lives in libtensorflow_cc.so.2) and the file the package's
 * install script checks for (libtensorflow.so.2.9.1), so a later `npm rebuild` does not try to
 * download anything either. `extraLibs` (GPU: CUDA libraries) go beside them, where the
 * libraries' RUNPATH ($ORIGIN/) finds them.
 */
export async function fillDeps(pkgDir: string, libDir: string, includeDir: string, extraLibs: readonly string[] = []): Promise<void> {
  const deps = path.join(pkgDir, 'deps');
  await mkdir(path.join(deps, 'lib'), { recursive: true });
  for (const name of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
    await linkOrCopy(path.join(libDir, name), path.join(deps, 'lib', name));
  }
  for (const file of extraLibs) await linkOrCopy(file, path.join(deps, 'lib', path.basename(file)));
  await symlinkFresh('libtensorflow_cc.so.2', path.join(deps, 'lib', 'libtensorflow.so'));
  await symlinkFresh('libtensorflow_cc.so.2', path.join(deps, 'lib', `libtensorflow.so.${TFJS_NODE_LIBTENSORFLOW}`));
  await symlinkFresh('libtensorflow_framework.so.2', path.join(deps, 'lib', 'libtensorflow_framework.so'));
  await rm(path.join(deps, 'include'), { recursive: true, force: true });
  await cp(includeDir, path.join(deps, 'include'), { recursive: true });
}
