/**
 * For --gpu: NVIDIA's CUDA library wheels at the versions the tensorflow wheel pins. Their shared
 * libraries (nvidia/<part>/lib/*.so*) are extracted once into the cache; the setup then places them
 * beside libtensorflow in deps/lib, where TensorFlow's dlopen calls find them through RUNPATH
 * $ORIGIN/. No CUDA toolkit install is needed; the NVIDIA driver (libcuda.so.1) must be present.
 * Pinned by version, not by hash (they were never run here: this machine has no GPU).
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { pipDownload } from './pip-download.js';
import { extractMember, openWheel } from './wheel-extract.js';
import { CUDA_REQUIREMENTS, GPU_WHEEL } from './wheels.js';

const LIBRARY = /^nvidia\/[^/]+\/lib\/[^/]+\.so(\.\d+)*$/;

/** The wheel file name pip saves for `name==version` (dashes become underscores). */
function wheelPrefix(requirement: string): string {
  const [name, version] = requirement.split('==');
  return `${name.replace(/-/g, '_')}-${version}-`;
}

export async function gpuExtraLibs(python: string, cacheDir: string, log: (line: string) => void): Promise<string[]> {
  const dir = path.join(cacheDir, 'wheels');
  const present = new Set(await readdir(dir).catch(() => [] as string[]));
  const missing = CUDA_REQUIREMENTS.filter((r) => ![...present].some((f) => f.startsWith(wheelPrefix(r))));
  if (missing.length > 0) {
    log(`cuda     downloading ${missing.length} NVIDIA wheels with pip`);
    pipDownload(python, missing, GPU_WHEEL, dir);
  }
  const target = path.join(cacheDir, 'cuda-libs');
  const libs: string[] = [];
  for (const file of await readdir(dir)) {
    if (!CUDA_REQUIREMENTS.some((r) => file.startsWith(wheelPrefix(r)))) continue;
    const wheel = await openWheel(path.join(dir, file));
    for (const name of wheel.entries.keys()) {
      if (!LIBRARY.test(name)) continue;
      const out = path.join(target, path.basename(name));
      await extractMember(wheel, name, out);
      libs.push(out);
    }
  }
  log(`cuda     ${libs.length} CUDA libraries in ${target}`);
  return libs;
}
