/**
 * Keeps only the last `maxBytes` of a child's output stream: an evaluation may print megabytes of
 * logs, and we need only the end (the metric is the last number; the stderr tail is the last lines).
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private dropped = false;

  constructor(private readonly maxBytes = 64 * 1024) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.byteLength;
    while (this.bytes - this.chunks[0].byteLength >= this.maxBytes) {
      this.bytes -= this.chunks.shift()!.byteLength;
      this.dropped = true;
    }
  }

  /**
   * The kept text. When the start was dropped, the first (partial) line is dropped too, so a number
   * or UTF-8 character cut in half never shows up as a different one.
   */
  text(): string {
    let buffer = Buffer.concat(this.chunks);
    let cut = false;
    if (buffer.byteLength > this.maxBytes) {
      buffer = buffer.subarray(buffer.byteLength - this.maxBytes);
      cut = true;
    }
    const text = buffer.toString('utf8');
    if (!(cut || this.dropped)) return text;
    const newline = text.indexOf('\n');
    return newline === -1 ? '' : text.slice(newline + 1);
  }
}

/** The last `lines` lines of `text`, without a trailing empty line. */
export function lastLines(text: string, lines: number): string {
  const all = text.replace(/\s+$/, '').split('\n');
  return all.slice(Math.max(0, all.length - lines)).join('\n');
}
