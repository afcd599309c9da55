/**
 * What a text stream is, and whether a spinner may be drawn on it. Lives below both the CLI and the
 * trainer, which each render progress on such a stream.
 */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** A terminal's width; absent on pipes and files. */
  readonly columns?: number;
}

/**
 * Whether a spinner may be drawn on `stream`: a terminal that reports its width. A pseudo-terminal
 * of width 0 (`script`, some containers run with -t) would make ora's redraw clear lines forever.
 */
export function canDrawSpinner(stream: Pick<OutputStream, 'isTTY' | 'columns'>): boolean {
  return stream.isTTY === true && (stream.columns ?? 0) > 0;
}
