/**
 * A pickle virtual machine that can only build data. It interprets the opcodes of protocols 0-5
 * that plain containers, numbers and strings need; everything that could run code (GLOBAL,
 * REDUCE, NEWOBJ, BUILD, persistent ids) is delegated to a host that allowlists what it knows
 * and refuses the rest. INST/OBJ, extension codes and out-of-band buffers are refused outright.
 *
 * Hostile input is bounded: every length is checked against the bytes left before anything is
 * allocated, the stack and memo have caps, and each opcode does O(1) work apart from popping
 * to a mark (amortised linear), so time and memory are linear in the pickle's size.
 */
import { InputFileError } from '../errors.js';
import { PyDict, PySet, PyTuple, type PyValue } from './pickle-values.js';
import { OP, OPCODE_NAMES } from './pickle-opcodes.js';

export interface UnpicklerHost {
  /** Returns the value for `module.name` or throws if it is not allowlisted. */
  resolveGlobal(module: string, name: string): PyValue;
  /** REDUCE: `callable(*args)`. */
  call(callable: PyValue, args: PyTuple): PyValue;
  /** NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args)`. */
  newObject(cls: PyValue, args: PyTuple): PyValue;
  /** BUILD: `obj.__setstate__(state)`; returns the object that stays on the stack. */
  build(obj: PyValue, state: PyValue): PyValue;
  persistentLoad(pid: PyValue): PyValue;
}

export interface UnpickleLimits {
  readonly maxStack: number;
  readonly maxMemo: number;
}

export interface UnpickleOptions {
  /** Where the pickle starts in `data` (several pickles may follow one another, as in torch.save's legacy format). */
  readonly start?: number;
  readonly limits?: UnpickleLimits;
  /**
   * Values for NEXT_BUFFER, in order. A file scanner (pickle-scan.ts) swaps each bytes payload for
   * NEXT_BUFFER and hands its location here, so gigabytes of tensor data never enter memory.
   * Without it NEXT_BUFFER is refused, as a pickle read from disk has no out-of-band buffers.
   */
  readonly outOfBand?: readonly PyValue[];
}

/** A state dict needs about ten memo entries per tensor; these caps allow far more. */
const DEFAULT_LIMITS: UnpickleLimits = { maxStack: 1_000_000, maxMemo: 4_000_000 };
const MAX_LONG_BYTES = 1024;

/** Runs the pickle in `data` to its STOP and returns the result. `source` names it in errors. */
export function unpickle(data: Uint8Array, host: UnpicklerHost, source: string, limits = DEFAULT_LIMITS): PyValue {
  return unpickleFrom(data, host, source, { limits }).value;
}

/** Runs one pickle from `options.start` to its STOP; returns the result and the offset after STOP. */
export function unpickleFrom(data: Uint8Array, host: UnpicklerHost, source: string, options: UnpickleOptions = {}): { value: PyValue; end: number } {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const outOfBand = options.outOfBand;
  let nextBuffer = 0;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8');
  const stack: PyValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let pos = options.start ?? 0;

  const fail = (message: string): never => {
    throw new InputFileError(`${source}: ${message} (at byte ${pos} of the pickle)`);
  };
  const need = (n: number): number => {
    if (!(n >= 0) || pos + n > data.byteLength) fail(`truncated: needs ${n} more bytes, ${data.byteLength - pos} left`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = (): number => data[need(1)];
  const u16 = (): number => view.getUint16(need(2), true);
  const u32 = (): number => view.getUint32(need(4), true);
  const i32 = (): number => view.getInt32(need(4), true);
  const u64 = (): number => {
    const value = view.getBigUint64(need(8), true);
    if (value > BigInt(data.byteLength)) fail(`length ${value} exceeds the pickle size`);
    return Number(value);
  };
  const bytes = (n: number): Uint8Array => {
    const at = need(n);
    return data.slice(at, at + n);
  };
  const text = (n: number): string => {
    const at = need(n);
    return utf8.decode(data.subarray(at, at + n));
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line');
    const value = latin1.decode(data.subarray(pos, end));
    pos = end + 1;
    return value;
  };
  const push = (value: PyValue): void => {
    if (stack.length >= limits.maxStack) fail(`stack deeper than ${limits.maxStack}`);
    stack.push(value);
  };
  // Like CPython, a MARK starts a fresh stack: nothing below it can be popped or read until it is closed.
  const floor = (): number => (marks.length > 0 ? marks[marks.length - 1] : 0);
  const pop = (): PyValue => {
    if (stack.length <= floor()) fail('stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length <= floor()) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const at = marks.pop();
    if (at === undefined) return fail('no mark on the stack');
    return stack.splice(at);
  };
  const put = (index: number): void => {
    if (!memo.has(index) && memo.size >= limits.maxMemo) fail(`memo larger than ${limits.maxMemo}`);
    memo.set(index, top());
  };
  const get = (index: number): void => {
    if (!memo.has(index)) fail(`memo key ${index} not found`);
    push(memo.get(index) as PyValue);
  };
  const long = (n: number): PyValue => {
    const raw = bytes(n);
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]);
    if (n > 0 && raw[n - 1] & 0x80) value -= 1n << BigInt(8 * n);
    return smallInt(value);
  };
  const setItems = (dict: PyValue, items: PyValue[]): void => {
    if (!(dict instanceof PyDict)) fail('SETITEM(S) on something that is not a dict');
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    try {
      for (let i = 0; i < items.length; i += 2) (dict as PyDict).set(items[i], items[i + 1]);
    } catch (error) {
      fail((error as Error).message);
    }
  };
  const appendItems = (list: PyValue, items: PyValue[]): void => {
    if (Array.isArray(list)) {
      for (const item of items) list.push(item);
    } else if (list instanceof PySet) {
      list.items.push(...items);
    } else {
      fail('APPEND(S) on something that is not a list');
    }
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case OP.PROTO: if (u8() > 5) fail('pickle protocol newer than 5'); break;
      case OP.FRAME: u64(); break; // frames are only a buffering hint
      case OP.STOP: {
        const result = pop();
        return { value: result, end: pos };
      }
      case OP.MARK: marks.push(stack.length); break;
      case OP.POP: if (marks.length > 0 && stack.length === floor()) marks.pop(); else pop(); break;
      case OP.POP_MARK: popMark(); break;
      case OP.DUP: push(top()); break;
      case OP.NONE: push(null); break;
      case OP.NEWTRUE: push(true); break;
      case OP.NEWFALSE: push(false); break;
      case OP.BININT: push(i32()); break;
      case OP.BININT1: push(u8()); break;
      case OP.BININT2: push(u16()); break;
      case OP.LONG1: push(long(u8())); break;
      case OP.LONG4: {
        // Decoding is quadratic in the length; no state dict holds integers beyond 64 bits.
        const n = i32();
        if (n < 0 || n > MAX_LONG_BYTES) fail(`LONG4 of ${n} bytes (at most ${MAX_LONG_BYTES} supported)`);
        push(long(n));
        break;
      }
      case OP.INT: push(parseTextInt(line(), fail)); break;
      case OP.LONG: push(parseTextInt(line().replace(/L$/, ''), fail)); break;
      case OP.FLOAT: { const value = Number(line()); if (Number.isNaN(value)) fail('bad FLOAT'); push(value); break; }
      case OP.BINFLOAT: push(view.getFloat64(need(8), false)); break;
      case OP.SHORT_BINUNICODE: push(text(u8())); break;
      case OP.BINUNICODE: push(text(u32())); break;
      case OP.BINUNICODE8: push(text(u64())); break;
      case OP.SHORT_BINSTRING: { const at = need(u8()); push(latin1.decode(data.subarray(at, pos))); break; }
      case OP.BINSTRING: { const n = i32(); if (n < 0) fail('negative BINSTRING length'); const at = need(n); push(latin1.decode(data.subarray(at, pos))); break; }
      case OP.SHORT_BINBYTES: push(bytes(u8())); break;
      case OP.BINBYTES: push(bytes(u32())); break;
      case OP.BINBYTES8: case OP.BYTEARRAY8: push(bytes(u64())); break;
      case OP.EMPTY_TUPLE: push(new PyTuple([])); break;
      case OP.TUPLE1: push(new PyTuple([pop()])); break;
      case OP.TUPLE2: { const b = pop(); const a = pop(); push(new PyTuple([a, b])); break; }
      case OP.TUPLE3: { const c = pop(); const b = pop(); const a = pop(); push(new PyTuple([a, b, c])); break; }
      case OP.TUPLE: push(new PyTuple(popMark())); break;
      case OP.EMPTY_LIST: push([]); break;
      case OP.LIST: push(popMark()); break;
      case OP.APPEND: { const item = pop(); appendItems(top(), [item]); break; }
      case OP.APPENDS: { const items = popMark(); appendItems(top(), items); break; }
      case OP.EMPTY_DICT: push(new PyDict()); break;
      case OP.DICT: { const items = popMark(); const dict = new PyDict(); setItems(dict, items); push(dict); break; }
      case OP.SETITEM: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break; }
      case OP.SETITEMS: { const items = popMark(); setItems(top(), items); break; }
      case OP.EMPTY_SET: push(new PySet([])); break;
      case OP.ADDITEMS: { const items = popMark(); appendItems(top(), items); break; }
      case OP.FROZENSET: push(new PySet(popMark())); break;
      case OP.PUT: put(parseTextInt(line(), fail) as number); break;
      case OP.BINPUT: put(u8()); break;
      case OP.LONG_BINPUT: put(u32()); break;
      case OP.MEMOIZE: put(memo.size); break;
      case OP.GET: get(parseTextInt(line(), fail) as number); break;
      case OP.BINGET: get(u8()); break;
      case OP.LONG_BINGET: get(u32()); break;
      case OP.GLOBAL: { const module = line(); const name = line(); push(host.resolveGlobal(module, name)); break; }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(host.resolveGlobal(module as string, name as string));
        break;
      }
      case OP.REDUCE: { const args = pop(); const callable = pop(); push(host.call(callable, asTuple(args, 'REDUCE', fail))); break; }
      case OP.NEWOBJ: { const args = pop(); const cls = pop(); push(host.newObject(cls, asTuple(args, 'NEWOBJ', fail))); break; }
      case OP.NEWOBJ_EX: {
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.size > 0) fail('NEWOBJ_EX with keyword arguments is not supported');
        push(host.newObject(cls, asTuple(args, 'NEWOBJ_EX', fail)));
        break;
      }
      case OP.BUILD: { const state = pop(); const obj = pop(); push(host.build(obj, state)); break; }
      case OP.BINPERSID: push(host.persistentLoad(pop())); break;
      case OP.PERSID: push(host.persistentLoad(line())); break;
      case OP.NEXT_BUFFER:
        if (outOfBand === undefined || nextBuffer >= outOfBand.length) fail('NEXT_BUFFER without an out-of-band buffer');
        push(outOfBand![nextBuffer++]);
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} (${OPCODE_NAMES.get(op) ?? 'unknown'})`);
    }
  }
}


function asTuple(value: PyValue, opcode: string, fail: (message: string) => never): PyTuple {
  if (value instanceof PyTuple) return value;
  return fail(`${opcode} arguments are not a tuple`);
}

function smallInt(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function parseTextInt(text: string, fail: (message: string) => never): PyValue {
  // Protocol 0 writes booleans as I01/I00.
  if (text === '01') return true;
  if (text === '00') return false;
  if (!/^-?\d{1,400}$/.test(text)) return fail(`bad text integer ${JSON.stringify(text.slice(0, 40))}`);
  return smallInt(BigInt(text));
}
