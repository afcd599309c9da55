/**
 * Copies files out of a wheel (a zip archive) without Python: the central directory is read with
 * the reader the PyTorch checkpoints use, each member is inflated as a stream into a temporary file
 * that is renamed when its size checks out, so an interrupted extraction never leaves a short file
 * under the final name.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import { SetupError } from '../errors.js';
import { readCentralDirectory, type ZipEntry } from '../pytorch/zip-central-directory.js';

export interface Wheel {
  readonly path: string;
  readonly entries: Map<string, ZipEntry>;
}

export async function openWheel(wheelPath: string): Promise<Wheel> {
  const handle = await open(wheelPath, 'r');
  try {
    const { size } = await handle.stat();
    return { path: wheelPath, entries: await readCentralDirectory(handle, wheelPath, size) };
  } finally {
    await handle.close();
  }
}

async function dataOffset(wheelPath: string, entry: ZipEntry): Promise<number> {
  const handle = await open(wheelPath, 'r');
  try {
    const header = Buffer.alloc(30);
    await handle.read(header, 0, 30, entry.localHeaderOffset);
    if (header.readUInt32LE(0) !== 0x04034b50) throw new SetupError(`${wheelPath}: no local header for ${entry.name}`, 'delete the file and run the setup again');
    return entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  } finally {
    await handle.close();
  }
}

/** Extracts one member to `target` (skipped when a file of the right size is already there). */
export async function extractMember(wheel: Wheel, name: string, target: string): Promise<void> {
  const entry = wheel.entries.get(name);
  if (entry === undefined) throw new SetupError(`${path.basename(wheel.path)} has no ${name}`, 'the pinned wheel is not what this setup expects; delete the cache folder and run it again');
  const existing = await stat(target).catch(() => undefined);
  if (existing?.size === entry.uncompressedSize) return;
  if (entry.method !== 0 && entry.method !== 8) throw new SetupError(`${name}: zip method ${entry.method} is not supported`);
  await mkdir(path.dirname(target), { recursive: true });
  const start = await dataOffset(wheel.path, entry);
  const temp = `${target}.partial-${process.pid}`;
  try {
    const source = createReadStream(wheel.path, { start, end: start + entry.compressedSize - 1 });
    await (entry.method === 8
      ? pipeline(source, createInflateRaw(), createWriteStream(temp))
      : pipeline(source, createWriteStream(temp)));
    const written = (await stat(temp)).size;
    if (written !== entry.uncompressedSize) throw new SetupError(`${name}: extracted ${written} bytes, expected ${entry.uncompressedSize}`);
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

const INCLUDE = /^\s*#\s*include\s+"([^"]+)"/gm;

/** The `#include "..."` names in a source text. */
export function quotedIncludes(source: string): string[] {
  return [...source.matchAll(INCLUDE)].map((m) => m[1]);
}

/**
 * The headers reachable from `roots` (which must be in the wheel) and from `alsoFrom` (the
 * includes of the addon's own sources; those the wheel lacks are the addon's) through
 * `#include "..."` lines, extracted under `targetDir`. Returns how many.
 */
export async function extractHeaderClosure(wheel: Wheel, includePrefix: string, roots: readonly string[],
  alsoFrom: readonly string[], targetDir: string): Promise<number> {
  const seen = new Set<string>();
  const queue = [...roots, ...alsoFrom];
  while (queue.length > 0) {
    const header = queue.pop()!;
    if (seen.has(header) || !wheel.entries.has(includePrefix + header)) continue;
    seen.add(header);
    const target = path.join(targetDir, header);
    await extractMember(wheel, includePrefix + header, target);
    queue.push(...quotedIncludes(await readFile(target, 'utf8')));
  }
  for (const root of roots) {
    if (!seen.has(root)) throw new SetupError(`${path.basename(wheel.path)} has no header ${root}`);
  }
  return seen.size;
}
