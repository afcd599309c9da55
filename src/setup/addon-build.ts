/**
 * Compiles tfjs-node's addon from source with node-gyp (through the package's own node-pre-gyp,
 * which names the output folder lib/napi-v<N>). The result is also kept in the cache, keyed by
 * the wheel, the package version and Node's ABI, because `npm ci` deletes node_modules: a fresh
 * clone (CI) then copies the addon instead of compiling it again (~30 s on two cores).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SetupError } from '../errors.js';
import { tail } from './tfjs-node-addon.js';
import { TFJS_NODE_VERSION } from './wheels.js';

function requireTool(command: string, args: string[], what: string, hint: string): void {
  const probe = spawnSync(command, args, { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) throw new SetupError(`no ${what}: \`${command} ${args.join(' ')}\` failed`, hint);
}

/** Node's own headers when they are installed beside node (no download by node-gyp then). */
function nodeHeadersDir(): string | undefined {
  const prefix = path.dirname(path.dirname(process.execPath));
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

/** The lib/<folder>/tfjs_binding.node files present (node-pre-gyp's folder is napi-v<N>). */
async function builtAddons(libDir: string): Promise<string[]> {
  return (await readdir(libDir).catch(() => [] as string[])).filter((d) => existsSync(path.join(libDir, d, 'tfjs_binding.node')));
}

/** Builds the addon unless it was built from these libraries for this Node, here or in the cache. */
export async function buildAddon(pkgDir: string, wheelSha256: string, cacheDir: string, log: (line: string) => void): Promise<void> {
  const stampFile = path.join(pkgDir, 'deps', 'ema-synth-build.json');
  const want = JSON.stringify({ wheelSha256, tfjsNode: TFJS_NODE_VERSION, node: process.versions.modules, napi: process.versions.napi });
  const libDir = path.join(pkgDir, 'lib');
  if ((await builtAddons(libDir)).length > 0 && (await readFile(stampFile, 'utf8').catch(() => '')) === want) {
    log('addon    tfjs_binding.node (built before from the same libraries)');
    return;
  }
  const cached = path.join(cacheDir, 'addons', createHash('sha256').update(want).digest('hex').slice(0, 16));
  const fromCache = await builtAddons(cached);
  if (fromCache.length > 0) {
    for (const d of fromCache) {
      await mkdir(path.join(libDir, d), { recursive: true });
      await copyFile(path.join(cached, d, 'tfjs_binding.node'), path.join(libDir, d, 'tfjs_binding.node'));
    }
    await writeFile(stampFile, want);
    log(`addon    tfjs_binding.node (compiled before, from ${cached})`);
    return;
  }
  requireTool(process.env.CXX ?? 'g++', ['--version'], 'C++ compiler', 'install one (Debian/Ubuntu: apt-get install g++ make), or set CXX');
  requireTool('make', ['--version'], 'make', 'install it (Debian/Ubuntu: apt-get install make)');
  const require = createRequire(path.join(pkgDir, 'package.json'));
  let preGyp: string;
  try {
    preGyp = path.join(path.dirname(require.resolve('@mapbox/node-pre-gyp/package.json')), 'bin', 'node-pre-gyp');
  } catch {
    throw new SetupError('@mapbox/node-pre-gyp (a dependency of tfjs-node) is missing', 'delete node_modules/@tensorflow and run the setup again');
  }
  const headers = nodeHeadersDir();
  log(`addon    compiling with node-gyp against Node's headers ${headers === undefined ? '(downloaded by node-gyp)' : `in ${headers}/include/node`}`);
  const result = spawnSync(process.execPath, [preGyp, 'install', '--build-from-source', ...(headers ? [`--nodedir=${headers}`] : [])],
    { cwd: pkgDir, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (result.error !== undefined || result.status !== 0) {
    const errors = `${result.stdout}${result.stderr}`.split('\n').filter((l) => /error/i.test(l) && !/ERR!/.test(l)).slice(0, 5).join('\n');
    throw new SetupError(`building the tfjs-node addon failed:\n${result.error?.message ?? (errors || tail(result))}`,
      'node-gyp needs python3, make and a C++ compiler, and Node\'s headers (installed with node, or downloadable)');
  }
  for (const d of await builtAddons(libDir)) {
    await mkdir(path.join(cached, d), { recursive: true });
    await copyFile(path.join(libDir, d, 'tfjs_binding.node'), path.join(cached, d, 'tfjs_binding.node'));
  }
  await writeFile(stampFile, want);
}
