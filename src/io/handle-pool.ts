/**
 * Caps how many sources hold an open file descriptor at once. Sources reopen their file lazily on
 * the next read after close() (TensorSource contract), so closing the least recently used one is
 * always safe between reads. A blend visits snapshots in a fixed cycle; with more snapshots than
 * the cap each file is reopened once per window, a few microseconds against a read of megabytes,
 * and 2,000 snapshots run under `ulimit -n 256`.
 */

export interface Closable {
  close(): Promise<void>;
}

export class HandlePool<T extends Closable> {
  // A Map iterates in insertion order: re-inserting on use keeps the least recent first.
  private readonly open = new Map<T, true>();

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`handle pool capacity must be a positive integer, got ${capacity}`);
  }

  /**
   * Marks `item` as about to be read; closes the least recently used items beyond the capacity.
   * The caller must not have a read in flight on more than `capacity` items at once.
   */
  async use(item: T): Promise<void> {
    this.open.delete(item);
    this.open.set(item, true);
    while (this.open.size > this.capacity) {
      const oldest = this.open.keys().next().value as T;
      this.open.delete(oldest);
      await oldest.close();
    }
  }

  /** Items currently counted as open (for tests and diagnostics). */
  get size(): number {
    return this.open.size;
  }
}
