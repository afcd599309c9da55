/** Rows of the benchmark and their text table (the JSON form is the same objects). */

export interface BlendRow {
  readonly case: string;
  readonly cache: 'warm' | 'cold';
  readonly targets: number;
  /** --threads given to ema-synth: the most it may use (it uses fewer below 2^25 multiply-adds per thread, e.g. in --quick). */
  readonly threads: number;
  readonly snapshots: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  /** Median wall time of ema-synth (discovery, solve, blend, commit), in-process. */
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly readMs: number;
  /** Node itself merely reading the same bytes (node-read-child.ts): the floor of any Node program. */
  readonly nodeReadMs: number;
  readonly writeMs: number;
  readonly peakRssBytes: number;
  readonly repeats: number;
}

export interface OtherRow {
  readonly name: string;
  readonly ms: number | null;
  readonly note: string;
}

export function ratio(row: BlendRow): number {
  return row.wallMs / (row.readMs + row.writeMs);
}

/** wall / (Node's own read + dd): what our work adds beyond I/O that Node cannot avoid. */
export function nodeRatio(row: BlendRow): number {
  return row.wallMs / (row.nodeReadMs + row.writeMs);
}

export function throughput(row: BlendRow): number {
  return row.inputBytes / 1e9 / (row.wallMs / 1000);
}

/** CPU seconds (all threads of the process) per GB of snapshots read. */
export function cpuPerGB(row: BlendRow): number {
  return row.cpuMs / 1000 / (row.inputBytes / 1e9);
}

/** Throughput against the same case, cache and K on one thread in this run ('-' without one). */
export function speedUp(row: BlendRow, rows: readonly BlendRow[]): string {
  const single = rows.find((r) => r.case === row.case && r.cache === row.cache && r.targets === row.targets && r.threads === 1);
  return single === undefined || single === row ? '-' : `${(single.wallMs / row.wallMs).toFixed(2)}x`;
}

const HEAD = ['case', 'cache', 'K', 'threads', 'read GB', 'wall s', 'cpu s', 'cpu s/GB', 'GB/s', 'vs 1 thread', 'cat s', 'node read s', 'dd K s', 'ratio', 'vs node', 'peak RSS'];

export function renderTable(rows: readonly BlendRow[], others: readonly OtherRow[]): string {
  const cells = rows.map((r) => [
    r.case, r.cache, String(r.targets), String(r.threads), (r.inputBytes / 1e9).toFixed(2), (r.wallMs / 1000).toFixed(2), (r.cpuMs / 1000).toFixed(2),
    cpuPerGB(r).toFixed(2), throughput(r).toFixed(2), speedUp(r, rows), (r.readMs / 1000).toFixed(2), (r.nodeReadMs / 1000).toFixed(2), (r.writeMs / 1000).toFixed(2), `${ratio(r).toFixed(2)}x`,
    `${nodeRatio(r).toFixed(2)}x`, `${Math.round(r.peakRssBytes / 2 ** 20)} MB`,
  ]);
  const widths = HEAD.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]): string => row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  const out = [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  out.push('', 'ratio = wall / (cat of the snapshots + dd of K outputs with fsync), both measured in this run;',
    'vs node = wall / (Node merely reading the snapshots as the engine does + dd); vs 1 thread = throughput / that of 1 thread, same case and K;',
    'cpu s/GB = CPU time of the whole process (all threads) per GB of snapshots', '');
  for (const other of others) out.push(`${other.name.padEnd(34)} ${other.ms === null ? '       -' : `${(other.ms / 1000).toFixed(2).padStart(8)} s`}  ${other.note}`);
  return `${out.join('\n')}\n`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The same table as Markdown, for BENCHMARKS.md (`npm run bench -- --markdown`). */
export function renderMarkdown(rows: readonly BlendRow[], others: readonly OtherRow[]): string {
  const out = [
    '| case | cache | K | threads | read GB | wall s | cpu s | cpu s/GB | GB/s | vs 1 thread | cat s | node read s | dd K outputs s | ratio | vs node | peak RSS |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.case} | ${r.cache} | ${r.targets} | ${r.threads} | ${(r.inputBytes / 1e9).toFixed(2)} | ${(r.wallMs / 1000).toFixed(2)} | ${(r.cpuMs / 1000).toFixed(2)} | `
      + `${cpuPerGB(r).toFixed(2)} | ${throughput(r).toFixed(2)} | ${speedUp(r, rows)} | ${(r.readMs / 1000).toFixed(2)} | ${(r.nodeReadMs / 1000).toFixed(2)} | ${(r.writeMs / 1000).toFixed(2)} | ${ratio(r).toFixed(1)}x | ${nodeRatio(r).toFixed(1)}x | ${Math.round(r.peakRssBytes / 2 ** 20)} MB |`),
    '',
    '| other | time | note |',
    '| --- | ---: | --- |',
    ...others.map((o) => `| ${o.name} | ${o.ms === null ? '-' : `${(o.ms / 1000).toFixed(2)} s`} | ${o.note.replace(/\|/g, '\\|')} |`),
  ];
  return `${out.join('\n')}\n`;
}
