/**
 * WebAssembly memories shared between threads. Sized once and never grown, so typed-array views
 * made on them stay valid; a memory is at most 65,536 pages of 64 KiB (4 GiB, 32-bit addresses).
 */
export const PAGE_BYTES = 65536;
export const MAX_PAGES = 65536;

/** A shared memory of the fewest pages that hold `bytes`; `purpose` names the need if that exceeds 4 GiB. */
export function fixedSharedMemory(bytes: number, purpose: string): WebAssembly.Memory {
  const pages = Math.max(1, Math.ceil(bytes / PAGE_BYTES));
  if (pages > MAX_PAGES) throw new RangeError(`${purpose} needs ${bytes} bytes, more than WebAssembly's 4 GiB`);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}
