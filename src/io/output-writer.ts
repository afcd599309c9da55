/**
 * The one interface every output format implements (safetensors, EDM2 pickles): tensor bytes
 * arrive in layout order, in chunks of any size; commit() makes the file appear complete at its
 * final path (atomic-output.ts), abort() leaves nothing behind. Callers handle --force,
 * interrupts and progress once, whatever the format.
 */
export interface OutputWriter {
  readonly path: string;
  write(bytes: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  /** Discards the output; safe after commit() (a no-op) and after failures. */
  abort(): Promise<void>;
}
