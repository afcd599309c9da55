/**
 * A single linear pass over JSON text that finds what JSON.parse hides or cannot bound:
 * nesting depth (JSON.parse on megabytes of `[` may exhaust the stack) and duplicate object keys
 * (JSON.parse silently keeps the last one, so two readers could disagree about a tensor).
 *
 * The scan stops at the first container deeper than `maxDepth` or array longer than
 * `maxArrayLength` (JSON.parse would build it at ~8 bytes per element: 800 MB for a 100 MB header
 * of zeros), so its work and memory are bounded by the text length and `maxDepth`. Duplicate detection is only meaningful on text that
 * JSON.parse accepts; callers check syntax before trusting `duplicate`.
 */
export interface JsonScanResult {
  readonly tooDeep: boolean;
  /** Set when an array holds more than `maxArrayLength` elements: the key that holds it. */
  readonly longArray?: { readonly within: string | undefined };
  /** The first repeated key and the key of the object that holds it (undefined: top level). */
  readonly duplicate?: { readonly key: string; readonly within: string | undefined };
}

interface Frame {
  readonly keys: Set<string> | undefined; // undefined for arrays
  commas: number;
  readonly label: string | undefined;
  expectKey: boolean;
  lastKey: string | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function scanJson(text: string, maxDepth: number, maxArrayLength = Infinity): JsonScanResult {
  const stack: Frame[] = [];
  let duplicate: JsonScanResult['duplicate'];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) {
          escaped = true;
          i += 2;
          continue;
        }
        if (d === QUOTE) break;
        i++;
      }
      const top = stack[stack.length - 1];
      if (top !== undefined && top.keys !== undefined && top.expectKey) {
        const key = escaped ? decodeKey(text.slice(start, i + 1)) : text.slice(start + 1, i);
        if (top.keys.has(key)) duplicate ??= { key, within: top.label };
        else top.keys.add(key);
        top.expectKey = false;
        top.lastKey = key;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (stack.length >= maxDepth) return { tooDeep: true };
      const isObject = c === 0x7b;
      const parent = stack[stack.length - 1];
      stack.push({
        keys: isObject ? new Set<string>() : undefined,
        commas: 0,
        label: parent?.lastKey,
        expectKey: isObject,
        lastKey: undefined,
      });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    } else if (c === 0x2c) {
      const top = stack[stack.length - 1];
      if (top === undefined) continue;
      if (top.keys !== undefined) top.expectKey = true;
      else if (++top.commas >= maxArrayLength) return { tooDeep: false, longArray: { within: top.label } };
    }
  }
  return duplicate === undefined ? { tooDeep: false } : { tooDeep: false, duplicate };
}

/** Keys with escapes are compared decoded, so `"a"` and `"\u0061"` count as the same key. */
function decodeKey(raw: string): string {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'string' ? value : raw;
  } catch {
    return raw;
  }
}
