import { extname } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-output.js';
import type { TopLevelSpec } from 'vega-lite';
import { buildPlotSpec, PLOT_FONT, type PlotOptions } from './plot-spec.js';
import type { SweepReport } from './report.js';

/**
 * `--plot FILE`: renders the sweep figure to SVG (vega + vega-lite, headless) or PNG (that SVG
 * rasterised by resvg, a prebuilt binary shipped inside its npm package). The chart libraries
 * take ~0.7 s to import, so they are loaded here on first use only: importing this module is cheap,
 * and a sweep without --plot never pays for them.
 */

export type PlotFormat = 'svg' | 'png';

/** The format named by the file's extension; UsageError for anything else (check before the sweep). */
export function plotFormatOf(file: string, flag = '--plot'): PlotFormat {
  const extension = extname(file).toLowerCase();
  if (extension === '.svg') return 'svg';
  if (extension === '.png') return 'png';
  throw new UsageError(
    `${flag} ${file}: cannot tell the image format from the extension '${extension || '(none)'}'`,
    'use a file name ending in .svg or .png',
  );
}

/** The figure as SVG text. */
export async function renderSweepSvg(report: SweepReport, options: PlotOptions = {}): Promise<string> {
  return renderVegaLiteSvg(buildPlotSpec(report, options));
}

/** Any Vega-Lite figure as SVG text (also `plan --plot`'s). */
export async function renderVegaLiteSvg(vegaLiteSpec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const { spec } = vegaLite.compile(vegaLiteSpec);
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** The figure as PNG bytes, at `scale` times the SVG's pixel size (2: crisp on print and HiDPI). */
export async function renderSweepPng(report: SweepReport, options: PlotOptions & { scale?: number } = {}): Promise<Uint8Array> {
  return svgToPng(await renderSweepSvg(report, options), options.scale);
}

async function svgToPng(svg: string, scale = 2): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: PLOT_FONT.split(',')[0].trim() },
  });
  return resvg.render().asPng();
}

/**
 * Renders and writes the figure atomically (temporary file + rename: never a half-written image).
 * Without `force` an existing file is an OutputError, as for every other output.
 */
export async function writeSweepPlot(
  report: SweepReport,
  file: string,
  options: PlotOptions & { force?: boolean } = {},
): Promise<PlotFormat> {
  return writeVegaLitePlot(buildPlotSpec(report, options), file, options);
}

/** Renders any Vega-Lite figure to FILE (.svg or .png), atomically, as writeSweepPlot does. */
export async function writeVegaLitePlot(spec: TopLevelSpec, file: string, options: { force?: boolean } = {}): Promise<PlotFormat> {
  const format = plotFormatOf(file);
  const svg = await renderVegaLiteSvg(spec);
  await writeFileAtomic(file, format === 'svg' ? svg : await svgToPng(svg), { force: options.force });
  return format;
}
