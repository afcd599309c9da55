/**
 * The Python values a restricted unpickle can produce, as plain data. Nothing here can run code:
 * a global is only a (module, name) pair, and objects built from allowlisted callables are host
 * values (tensor and storage references) made by torch-globals.ts.
 */

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** A Python set or frozenset, kept only so that pickles holding one still parse. */
export class PySet {
  constructor(readonly items: PyValue[]) {}
}

/** A reference to `module.name`; produced only for allowlisted globals. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** dict and OrderedDict (insertion ordered, like Python 3.7+ dicts). */
export class PyDict {
  private readonly map = new Map<string, [PyValue, PyValue]>();
  /** Attributes set by BUILD (e.g. a state dict's `_metadata`); kept, never interpreted. */
  readonly attributes = new Map<string, PyValue>();

  constructor(readonly ordered: boolean = false) {}

  set(key: PyValue, value: PyValue): void {
    this.map.set(dictKey(key), [key, value]);
  }

  get size(): number {
    return this.map.size;
  }

  entries(): IterableIterator<[PyValue, PyValue]> {
    return this.map.values();
  }

  get(key: PyValue): PyValue | undefined {
    return this.map.get(dictKey(key))?.[1];
  }
}

/** Opaque values made by the host (e.g. tensor references); the machine only moves them around. */
export interface HostValue {
  readonly hostKind: string;
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PySet
  | PyDict
  | PyGlobal
  | HostValue;

/** Hashable keys only (str, int, float, bool, None, bytes, tuples of those), as in Python. */
export function dictKey(key: PyValue): string {
  if (key === null) return 'N';
  switch (typeof key) {
    case 'string': return `s${key}`;
    // Python: 1 == 1.0 == True hash alike; mirror that for numbers and booleans.
    case 'number': return `n${key}`;
    case 'bigint': return `n${key}`;
    case 'boolean': return `n${key ? 1 : 0}`;
    default: break;
  }
  if (key instanceof Uint8Array) return `b${Array.from(key).join(',')}`;
  if (key instanceof PyTuple) return `t(${key.items.map(dictKey).join('|')})`;
  if (key instanceof PyGlobal) return `g${key.qualifiedName}`;
  throw new TypeError(`unhashable dict key of type ${describeValue(key)}`);
}

/** A short type name for error messages ("dict with 3 entries", "str", ...). */
export function describeValue(value: PyValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return `list of ${value.length}`;
  if (value instanceof PyTuple) return `tuple of ${value.items.length}`;
  if (value instanceof PySet) return 'set';
  if (value instanceof PyDict) return `dict with ${value.size} entries`;
  if (value instanceof PyGlobal) return value.qualifiedName;
  return value.hostKind;
}
