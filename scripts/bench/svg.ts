/**
 * A small SVG writer for the benchmark's charts (issue 18): grouped bar charts with spread bars, and line charts,
 * in panels stacked vertically, each with its own y scale. Pure: text in, text out.
 *
 * Why not a charting library: the well-kept ones that render SVG headless in Node (vega 6 and vega-lite 6) are
 * published as ES modules only (`"type": "module"`), while this project's scripts and tests run as CommonJS
 * (ts-node, ts-jest); the charts here are two plain shapes, so a tested writer of SVG 1.1 elements is smaller
 * than the bridge. Elements: https://www.w3.org/TR/SVG11/ (rect, line, polyline, circle, text, title, g).
 */

/** One series of bars (a server, or a server's limit). */
export interface BarSeries {
  readonly name: string;
  /** Fill colour (CSS colour). */
  readonly color: string;
  /** Drawn lighter with an outline (a reference, e.g. the physical limit). */
  readonly light?: boolean;
}

/** One bar: a series' value in a group, with its spread (min–max) when repeated. */
export interface Bar {
  readonly series: string;
  readonly value: number;
  readonly min?: number;
  readonly max?: number;
}

/** A group of bars side by side (e.g. one client count). */
export interface BarGroup {
  readonly label: string;
  readonly bars: readonly Bar[];
}

/** A panel of groups with its own y scale (e.g. one workload). */
export interface BarPanel {
  readonly title: string;
  readonly groups: readonly BarGroup[];
}

/** One line of a line panel. */
export interface LineSeries {
  readonly name: string;
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

/** A panel of lines with its own y scale. */
export interface LinePanel {
  readonly title: string;
  readonly xLabel: string;
  readonly series: readonly LineSeries[];
}

/** Escapes text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** The smallest 1, 2 or 5 x 10^k at or above `v` (an axis maximum); 1 for v <= 0. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A compact number: 1,234 → "1.2k", 150000 → "150k", 2500000 → "2.5M". */
export function compact(n: number): string {
  const a = Math.abs(n);
  const trim = (x: number) => String(Math.round(x * 10) / 10);
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e3) return `${trim(n / 1e3)}k`;
  return trim(n);
}

const FONT = 'font-family="sans-serif"';
const PANEL_HEIGHT = 200;
const TOP = 28;
const BOTTOM = 36;
const LEFT = 64;
const RIGHT = 16;

/** Grid lines of an axis up to `max` (a {@link niceMax}): 5 steps for 1 and 5 x 10^k, 4 for 2 x 10^k (round labels). */
export function tickCount(max: number): number {
  const lead = Math.round(max / 10 ** Math.floor(Math.log10(max)));
  return lead === 2 ? 4 : 5;
}

/** Legend and document frame shared by both chart kinds. */
function frame(
  width: number,
  height: number,
  title: string,
  subtitle: string,
  body: string[],
  legend: string[],
): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text class="title" x="${LEFT}" y="22" ${FONT} font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text class="subtitle" x="${LEFT}" y="40" ${FONT} font-size="11" fill="#555555">${escapeXml(subtitle)}</text>`,
    `<g class="legend">${legend.join("")}</g>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

function legendItems(items: readonly { name: string; color: string; light?: boolean }[], width: number): string[] {
  const out: string[] = [];
  let x = LEFT;
  let y = 52;
  for (const it of items) {
    const w = 22 + it.name.length * 6.5;
    if (x + w > width - RIGHT) {
      x = LEFT;
      y += 16;
    }
    const style = it.light === true ? `fill-opacity="0.35" stroke="${it.color}"` : "";
    out.push(
      `<rect x="${x}" y="${y}" width="12" height="12" fill="${it.color}" ${style}/><text x="${x + 16}" y="${y + 10}" ${FONT} font-size="11">${escapeXml(it.name)}</text>`,
    );
    x += w + 10;
  }
  return out;
}

function yAxis(top: number, height: number, width: number, max: number): string[] {
  const out: string[] = [];
  const ticks = tickCount(max);
  for (let i = 0; i <= ticks; i++) {
    const v = (max * i) / ticks;
    const y = top + height - (height * i) / ticks;
    out.push(
      `<line class="grid" x1="${LEFT}" y1="${y.toFixed(1)}" x2="${width - RIGHT}" y2="${y.toFixed(1)}" stroke="#e0e0e0"/>`,
      `<text class="tick" x="${LEFT - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" ${FONT} font-size="10">${compact(v)}</text>`,
    );
  }
  return out;
}

/**
 * A grouped bar chart, one panel per entry of `panels` (each scaled to its own largest value or spread), bars in the
 * order of `series`, a spread bar (min–max, with caps) on every bar that has one. Each bar carries a `<title>` with its
 * figures, for reading the exact values.
 */
export function barChartSvg(
  title: string,
  subtitle: string,
  series: readonly BarSeries[],
  panels: readonly BarPanel[],
): string {
  const barWidth = 14;
  const groupGap = 18;
  const maxGroups = Math.max(1, ...panels.map((p) => p.groups.length));
  const groupWidth = series.length * barWidth + groupGap;
  const width = Math.max(720, LEFT + RIGHT + maxGroups * groupWidth + 20);
  const legendRows = Math.ceil(legendItems(series, width).length / Math.max(1, Math.floor((width - LEFT) / 120)));
  const head = 60 + Math.min(3, legendRows) * 16;
  const panelTotal = TOP + PANEL_HEIGHT + BOTTOM;
  const height = head + panels.length * panelTotal;
  const colorOf = new Map(series.map((s) => [s.name, s]));
  const body: string[] = [];
  panels.forEach((panel, i) => {
    const top = head + i * panelTotal + TOP;
    const max = niceMax(Math.max(0, ...panel.groups.flatMap((g) => g.bars.map((b) => Math.max(b.value, b.max ?? 0)))));
    const y = (v: number) => top + PANEL_HEIGHT - (PANEL_HEIGHT * v) / max;
    body.push(`<g class="panel">`);
    body.push(
      `<text class="panel-title" x="${LEFT}" y="${top - 10}" ${FONT} font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
    body.push(...yAxis(top, PANEL_HEIGHT, width, max));
    panel.groups.forEach((group, gi) => {
      const gx = LEFT + 10 + gi * groupWidth;
      body.push(
        `<text class="group-label" x="${(gx + (series.length * barWidth) / 2).toFixed(1)}" y="${top + PANEL_HEIGHT + 16}" text-anchor="middle" ${FONT} font-size="11">${escapeXml(group.label)}</text>`,
      );
      series.forEach((s, si) => {
        const bar = group.bars.find((b) => b.series === s.name);
        if (bar === undefined) return;
        const x = gx + si * barWidth;
        const style = colorOf.get(s.name)?.light === true ? ` fill-opacity="0.35" stroke="${s.color}"` : "";
        const spread =
          bar.min !== undefined && bar.max !== undefined ? ` (min ${compact(bar.min)}, max ${compact(bar.max)})` : "";
        body.push(
          `<rect class="bar" x="${x + 1}" y="${y(bar.value).toFixed(1)}" width="${barWidth - 2}" height="${(top + PANEL_HEIGHT - y(bar.value)).toFixed(1)}" fill="${s.color}"${style}><title>${escapeXml(`${panel.title}, ${group.label}, ${s.name}: ${compact(bar.value)}${spread}`)}</title></rect>`,
        );
        if (bar.min !== undefined && bar.max !== undefined) {
          const cx = x + barWidth / 2;
          body.push(
            `<g class="spread" stroke="#222222"><line x1="${cx}" y1="${y(bar.min).toFixed(1)}" x2="${cx}" y2="${y(bar.max).toFixed(1)}"/>` +
              `<line x1="${cx - 3}" y1="${y(bar.min).toFixed(1)}" x2="${cx + 3}" y2="${y(bar.min).toFixed(1)}"/>` +
              `<line x1="${cx - 3}" y1="${y(bar.max).toFixed(1)}" x2="${cx + 3}" y2="${y(bar.max).toFixed(1)}"/></g>`,
          );
        }
      });
    });
    body.push(`</g>`);
  });
  return frame(width, height, title, subtitle, body, legendItems(series, width));
}

/** A line chart, one panel per entry of `panels` (own y scale, shared x range), points marked. */
export function lineChartSvg(title: string, subtitle: string, panels: readonly LinePanel[]): string {
  const width = 720;
  const names = [...new Map(panels.flatMap((p) => p.series.map((s) => [s.name, s.color] as const))).entries()];
  const head = 76;
  const panelTotal = TOP + PANEL_HEIGHT + BOTTOM;
  const height = head + panels.length * panelTotal;
  const xs = panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt.x)));
  const xMin = xs.length > 0 ? Math.min(...xs) : 0;
  const xMax = Math.max(...xs, xMin + 1);
  // 20 px inside the plot at both ends, so the first and last points are not on the axis
  const x = (v: number) => LEFT + 20 + ((width - LEFT - RIGHT - 40) * (v - xMin)) / (xMax - xMin);
  const body: string[] = [];
  panels.forEach((panel, i) => {
    const top = head + i * panelTotal + TOP;
    const max = niceMax(Math.max(0, ...panel.series.flatMap((s) => s.points.map((p) => p.y))));
    const y = (v: number) => top + PANEL_HEIGHT - (PANEL_HEIGHT * v) / max;
    body.push(`<g class="panel">`);
    body.push(
      `<text class="panel-title" x="${LEFT}" y="${top - 10}" ${FONT} font-size="13" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
    body.push(...yAxis(top, PANEL_HEIGHT, width, max));
    body.push(
      `<text class="axis-label" x="${width - RIGHT}" y="${top + PANEL_HEIGHT + 28}" text-anchor="end" ${FONT} font-size="11">${escapeXml(panel.xLabel)}</text>`,
    );
    for (const s of panel.series) {
      const pts = s.points.map((p) => `${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ");
      body.push(`<polyline class="line" fill="none" stroke="${s.color}" stroke-width="2" points="${pts}"/>`);
      for (const p of s.points)
        body.push(
          `<circle class="point" cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3" fill="${s.color}"><title>${escapeXml(`${panel.title}, ${s.name}, ${panel.xLabel} ${p.x}: ${compact(p.y)}`)}</title></circle>`,
        );
    }
    const ticks = [...new Set(panel.series.flatMap((s) => s.points.map((p) => p.x)))];
    for (const t of ticks)
      body.push(
        `<text class="tick" x="${x(t).toFixed(1)}" y="${top + PANEL_HEIGHT + 14}" text-anchor="middle" ${FONT} font-size="10">${t}</text>`,
      );
    body.push(`</g>`);
  });
  return frame(
    width,
    height,
    title,
    subtitle,
    body,
    legendItems(
      names.map(([name, color]) => ({ name, color })),
      width,
    ),
  );
}
