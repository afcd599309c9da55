/**
 * CRC-32 (the zip polynomial, APPNOTE 4.4.7) of zip entries as they are read, in pieces and in any
 * order: the blend reads an entry window by window, and reads of one entry can complete out of order.
 * Each piece's CRC is computed once when its bytes arrive; neighbouring pieces are joined with
 * crc32Combine (zlib's method: appending n zero bits is a linear map over GF(2), squared up from one
 * bit), so no bytes are held. When the pieces cover the entry, the CRC is compared with the stored one.
 * Pure: no I/O.
 */
import * as zlib from 'node:zlib';

const POLYNOMIAL = 0xedb88320;

let table: Uint32Array | undefined;

/** Table-driven CRC-32, for Node versions without zlib.crc32 (added in 20.15). */
export function crc32Portable(bytes: Uint8Array, crc: number): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? POLYNOMIAL ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32 of `bytes`, continuing from `crc` (0 to start). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  return native !== undefined ? native(bytes, crc) >>> 0 : crc32Portable(bytes, crc);
}

function matrixTimes(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let i = 0; vector !== 0; i++, vector >>>= 1) if (vector & 1) sum ^= matrix[i];
  return sum >>> 0;
}

function matrixSquare(square: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = matrixTimes(matrix, matrix[n]);
}

/** CRC-32 of A followed by B, from crc(A), crc(B) and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = POLYNOMIAL; // the operator for one zero bit
  for (let n = 1, row = 1; n < 32; n++, row *= 2) odd[n] = row;
  matrixSquare(even, odd); // two zero bits
  matrixSquare(odd, even); // four zero bits
  let crc = crcA >>> 0;
  let length = lengthB;
  for (;;) {
    matrixSquare(even, odd); // one zero byte, then 4, 16, ...
    if (length % 2 === 1) crc = matrixTimes(even, crc);
    length = Math.floor(length / 2);
    if (length === 0) break;
    matrixSquare(odd, even);
    if (length % 2 === 1) crc = matrixTimes(odd, crc);
    length = Math.floor(length / 2);
    if (length === 0) break;
  }
  return (crc ^ crcB) >>> 0;
}

interface Piece {
  start: number;
  end: number;
  crc: number;
}

/** What became known about one entry's CRC by a read. */
export type CrcOutcome = { readonly kind: 'incomplete' | 'verified' } | { readonly kind: 'mismatch'; readonly computed: number };

export class EntryCrc {
  /** Disjoint byte ranges read so far with their CRCs, sorted by start; adjacent ones are joined. */
  private pieces: Piece[] = [];
  private verified = false;

  constructor(readonly size: number, readonly expected: number) {}

  /** Records `bytes` read at `offset` into the entry; overlaps with earlier reads are hashed once. */
  add(offset: number, bytes: Uint8Array): CrcOutcome {
    if (this.verified) return { kind: 'verified' };
    const end = offset + bytes.byteLength;
    let cursor = offset;
    const fresh: Piece[] = [];
    for (const piece of this.pieces) {
      if (piece.end <= cursor) continue;
      if (piece.start >= end) break;
      if (piece.start > cursor) fresh.push(this.hash(bytes, offset, cursor, piece.start));
      cursor = Math.max(cursor, piece.end);
    }
    if (cursor < end) fresh.push(this.hash(bytes, offset, cursor, end));
    if (fresh.length === 0) return { kind: 'incomplete' };
    this.pieces = join([...this.pieces, ...fresh].sort((a, b) => a.start - b.start));
    const [whole] = this.pieces;
    if (this.pieces.length !== 1 || whole.start !== 0 || whole.end !== this.size) return { kind: 'incomplete' };
    this.pieces = [];
    if (whole.crc !== this.expected >>> 0) return { kind: 'mismatch', computed: whole.crc };
    this.verified = true;
    return { kind: 'verified' };
  }

  private hash(bytes: Uint8Array, offset: number, start: number, end: number): Piece {
    return { start, end, crc: crc32(bytes.subarray(start - offset, end - offset)) };
  }
}

function join(sorted: Piece[]): Piece[] {
  const joined: Piece[] = [];
  for (const piece of sorted) {
    const last = joined[joined.length - 1];
    if (last !== undefined && last.end === piece.start) {
      last.crc = crc32Combine(last.crc, piece.crc, piece.end - piece.start);
      last.end = piece.end;
    } else {
      joined.push({ ...piece });
    }
  }
  return joined;
}
