/**
 * A decile lift chart as a standalone SVG a person can open in a browser: per decile, the lift of
 * that decile (bars) and the cumulative lift (a line), against the baseline of 1 (no model).
 */
import type { DecileRow } from './metrics';

export interface LiftChartOptions {
  title: string;
  /** A line under the title (data set, model, how the scores were made). */
  subtitle?: string;
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { top: 64, right: 24, bottom: 48, left: 56 };

export function liftChartSvg(deciles: readonly DecileRow[], options: LiftChartOptions): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = niceCeiling(Math.max(1, ...deciles.map((d) => Math.max(d.lift, d.cumulativeLift))));
  const y = (v: number) => MARGIN.top + plotH - (v / top) * plotH;
  const slot = plotW / Math.max(1, deciles.length);
  const x = (i: number) => MARGIN.left + i * slot;
  const bars = deciles.map(
    (d, i) =>
      `<rect x="${fmt(x(i) + slot * 0.15)}" y="${fmt(y(d.lift))}" width="${fmt(slot * 0.7)}" height="${fmt(y(0) - y(d.lift))}" fill="#8fb8de"><title>decile ${d.decile}: lift ${d.lift.toFixed(2)}, ${fmt(d.positives)} of ${d.count}</title></rect>`,
  );
  const line = deciles.map((d, i) => `${fmt(x(i) + slot / 2)},${fmt(y(d.cumulativeLift))}`).join(' ');
  const ticks = Array.from({ length: 5 }, (_, i) => (top * i) / 4);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
    options.subtitle === undefined ? '' : `<text x="${MARGIN.left}" y="44" fill="#555">${escapeXml(options.subtitle)}</text>`,
    ...ticks.map((t) => `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fmt(y(t))}" y2="${fmt(y(t))}" stroke="#e5e5e5"/><text x="${MARGIN.left - 8}" y="${fmt(y(t) + 4)}" text-anchor="end">${t.toFixed(1)}</text>`),
    ...bars,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${fmt(y(1))}" y2="${fmt(y(1))}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<polyline points="${line}" fill="none" stroke="#d9534f" stroke-width="2.5"/>`,
    ...deciles.map((d, i) => `<circle cx="${fmt(x(i) + slot / 2)}" cy="${fmt(y(d.cumulativeLift))}" r="3" fill="#d9534f"><title>deciles 1-${d.decile}: cumulative lift ${d.cumulativeLift.toFixed(2)}, ${(d.captured * 100).toFixed(0)}% of positives</title></circle>`),
    ...deciles.map((d, i) => `<text x="${fmt(x(i) + slot / 2)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${d.decile}</text>`),
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">decile (1 = highest scores)</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">lift</text>`,
    `<g transform="translate(${WIDTH - MARGIN.right - 220} ${MARGIN.top - 4})"><rect width="12" height="12" fill="#8fb8de"/><text x="18" y="10">lift of the decile</text><line x1="110" x2="126" y1="6" y2="6" stroke="#d9534f" stroke-width="2.5"/><text x="132" y="10">cumulative lift</text></g>`,
    '</svg>',
    '',
  ]
    .filter((part) => part !== '')
    .join('\n');
}

/** The smallest of 1, 2, 2.5, 5 x 10^k at or above v. */
function niceCeiling(v: number): number {
  const power = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 2.5, 5, 10].find((m) => m * power >= v) ?? 10) * power;
}

const fmt = (v: number): string => (Math.round(v * 10) / 10).toString();

const escapeXml = (text: string): string => text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
