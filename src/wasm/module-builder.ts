/**
 * A minimal WebAssembly binary writer: enough to build a module of a few numeric kernels in code,
 * so the project ships no opaque binary and needs no toolchain. Functions import one shared memory
 * (so a worker thread can run the same kernels on the same data) and are exported by name.
 * Binary format: WebAssembly Core Specification 2.0, chapter 5; SIMD opcodes from the fixed-width
 * SIMD proposal (merged in 2.0).
 */

export const I32 = 0x7f;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof F64 | typeof V128;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8(name: string): number[] {
  const bytes = [...new TextEncoder().encode(name)];
  return [...uleb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

export interface FunctionDefinition {
  readonly name: string;
  readonly params: readonly ValueType[];
  readonly results: readonly ValueType[];
  /** Locals beyond the parameters, in index order after them. */
  readonly locals: readonly ValueType[];
  /** The body's instructions, without the final `end`. */
  readonly body: readonly number[];
}

/** Module bytes: one imported shared memory (`env.memory`), the functions, each exported by its name. */
export function buildModule(functions: readonly FunctionDefinition[], maxPages: number): Uint8Array {
  const signature = (f: FunctionDefinition): number[] => [0x60, ...vector(f.params.map((t) => [t])), ...vector(f.results.map((t) => [t]))];
  const types: number[][] = [];
  const typeIndex = functions.map((f) => {
    const key = signature(f);
    let index = types.findIndex((t) => t.length === key.length && t.every((b, i) => b === key[i]));
    if (index < 0) index = types.push(key) - 1;
    return index;
  });
  // Limits flag 3: shared, with a maximum (required for shared memories).
  const memoryImport = [...utf8('env'), ...utf8('memory'), 0x02, 0x03, ...uleb(1), ...uleb(maxPages)];
  const bodies = functions.map((f) => {
    const locals = vector(f.locals.map((t) => [1, t]));
    const code = [...locals, ...f.body, 0x0b];
    return [...uleb(code.length), ...code];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector([memoryImport])),
    ...section(3, vector(typeIndex.map((i) => uleb(i)))),
    ...section(7, vector(functions.map((f, i) => [...utf8(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vector(bodies)),
  ]);
}
