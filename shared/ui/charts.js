// Small inline-SVG charts for the quality dashboards (node and coordinator): bars with target
// marks and optional 95% interval whiskers, a heat map and lines over time. No libraries. Every chart is an <svg role="img"> named by its <title> and
// described by its <desc>; the dashboard shows the same figures as tables next to each chart.
// Colours are presentation attributes (the UI's CSP allows no inline styles).

import { uniqueId } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const TEXT = "#e8eaee";
const MUTED = "#a3abb8";
const LINE = "#343a45";
const BAR = "#4da3ff";
const BELOW = "#ff6b6b";
const TARGET = "#ffcf5a";
/** Line colours, distinguishable on the dark theme and for common colour-vision deficiencies. */
export const PALETTE = ["#4da3ff", "#ffb347", "#5ad27a", "#e377c2", "#bcbd22", "#17becf", "#c5b0d5"];

function svg(tag, attrs = {}, text) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  if (text !== undefined) element.textContent = text;
  return element;
}

/** An <svg role="img"> with its <title> and <desc>; CSS may shrink it (max-width), never grow it. */
function frame(width, height, title, description) {
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    preserveAspectRatio: "xMinYMin meet",
    class: "chart",
  });
  const titleId = uniqueId("chart-title");
  const descId = uniqueId("chart-desc");
  root.append(svg("title", { id: titleId }, title), svg("desc", { id: descId }, description));
  root.setAttribute("aria-labelledby", `${titleId} ${descId}`);
  return root;
}

export function formatValue(value, digits = 2) {
  return value === null || value === undefined || Number.isNaN(value) ? "—" : Number(value).toFixed(digits);
}

function axisY(root, { left, top, height, width, max }) {
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const y = top + height - (tick / max) * height;
    root.append(
      svg("line", { x1: left, x2: left + width, y1: y, y2: y, stroke: LINE, "stroke-width": 1 }),
      svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", fill: MUTED, "font-size": 11 }, tick.toFixed(2)),
    );
  }
}

/**
 * Vertical bars, one per item `{name, value, target, metric, low, high}`, with each item's target
 * as a horizontal mark and, when `low` and `high` are numbers, its interval as a whisker; bars
 * below their target are drawn in the warning colour.
 */
export function barChart({ title, description, items, max = 1 }) {
  const left = 44;
  const top = 12;
  const plotHeight = 180;
  const slot = 72;
  const width = left + Math.max(items.length, 1) * slot + 12;
  const height = top + plotHeight + 46;
  const root = frame(width, height, title, description);
  axisY(root, { left, top, height: plotHeight, width: width - left - 8, max });
  items.forEach((item, i) => {
    const x = left + i * slot + 14;
    const barWidth = slot - 28;
    const value = Number.isFinite(item.value) ? Math.max(0, Math.min(item.value, max)) : null;
    const below = value !== null && item.target !== undefined && value < item.target;
    const group = svg("g");
    if (value !== null) {
      const barHeight = (value / max) * plotHeight;
      const rect = svg("rect", {
        x,
        y: top + plotHeight - barHeight,
        width: barWidth,
        height: barHeight,
        fill: below ? BELOW : BAR,
      });
      rect.append(svg("title", {}, `${item.name}: ${item.metric || ""} ${formatValue(item.value)} (target ${formatValue(item.target)})`));
      group.append(rect);
      let labelY = top + plotHeight - barHeight - 4;
      if (Number.isFinite(item.low) && Number.isFinite(item.high)) {
        const yOf = (v) => top + plotHeight - (Math.max(0, Math.min(v, max)) / max) * plotHeight;
        const cx = x + barWidth / 2;
        const whisker = svg("g", { class: "interval" });
        whisker.append(
          svg("line", { x1: cx, x2: cx, y1: yOf(item.low), y2: yOf(item.high), stroke: TEXT, "stroke-width": 1.5 }),
          svg("line", { x1: cx - 6, x2: cx + 6, y1: yOf(item.low), y2: yOf(item.low), stroke: TEXT, "stroke-width": 1.5 }),
          svg("line", { x1: cx - 6, x2: cx + 6, y1: yOf(item.high), y2: yOf(item.high), stroke: TEXT, "stroke-width": 1.5 }),
        );
        whisker.append(svg("title", {}, `${item.name}: 95% interval ${formatValue(item.low)} to ${formatValue(item.high)}`));
        group.append(whisker);
        labelY = Math.min(labelY, yOf(item.high) - 4);
      }
      group.append(
        svg("text", { x: x + barWidth / 2 + (Number.isFinite(item.high) ? 14 : 0), y: labelY, "text-anchor": "middle", fill: TEXT, "font-size": 11 }, formatValue(item.value)),
      );
    } else {
      group.append(svg("text", { x: x + barWidth / 2, y: top + plotHeight - 4, "text-anchor": "middle", fill: MUTED, "font-size": 11 }, "n/a"));
    }
    if (item.target !== undefined && item.target !== null) {
      const y = top + plotHeight - (item.target / max) * plotHeight;
      group.append(svg("line", { x1: x - 6, x2: x + barWidth + 6, y1: y, y2: y, stroke: TARGET, "stroke-width": 2, "stroke-dasharray": "5 3" }));
    }
    group.append(svg("text", { x: x + barWidth / 2, y: top + plotHeight + 16, "text-anchor": "middle", fill: TEXT, "font-size": 11 }, shorten(item.name, 11)));
    group.append(svg("text", { x: x + barWidth / 2, y: top + plotHeight + 30, "text-anchor": "middle", fill: MUTED, "font-size": 10 }, item.metric || ""));
    root.append(group);
  });
  return root;
}

function shorten(text, length) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** Cell colour from red (0) through yellow to green (1); grey when undefined. */
export function heatColour(value) {
  if (!Number.isFinite(value)) return "#3a3f48";
  const v = Math.max(0, Math.min(1, value));
  const hue = Math.round(v * 120);
  return `hsl(${hue}, 55%, ${28 + v * 10}%)`;
}

/** A square heat map of `value(rowName, colName)` (null for no figure) over `names`. */
export function heatMap({ title, description, names, value }) {
  const cell = 46;
  const left = 96;
  const top = 84;
  const size = Math.max(names.length, 1) * cell;
  const root = frame(left + size + 8, top + size + 8, title, description);
  names.forEach((name, i) => {
    root.append(
      svg("text", { x: left - 6, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", fill: TEXT, "font-size": 11 }, shorten(name, 13)),
      svg("text", {
        x: left + i * cell + cell / 2,
        y: top - 6,
        "text-anchor": "start",
        fill: TEXT,
        "font-size": 11,
        transform: `rotate(-45 ${left + i * cell + cell / 2} ${top - 6})`,
      }, shorten(name, 13)),
    );
    names.forEach((other, j) => {
      const figure = i === j ? null : value(name, other);
      const x = left + j * cell;
      const y = top + i * cell;
      const rect = svg("rect", { x, y, width: cell - 2, height: cell - 2, fill: i === j ? "#262c36" : heatColour(figure) });
      rect.append(svg("title", {}, i === j ? name : `${name} × ${other}: ${formatValue(figure)}`));
      root.append(rect);
      if (i !== j) {
        root.append(svg("text", { x: x + cell / 2 - 1, y: y + cell / 2 + 4, "text-anchor": "middle", fill: TEXT, "font-size": 11 }, formatValue(figure)));
      }
    });
  });
  return root;
}

/**
 * Lines over ordered windows: `windows` (x labels), `series` [{name, values: [number|null]}],
 * optional `targets` [{name, value}] drawn dashed in each series' colour.
 */
export function lineChart({ title, description, windows, series, targets = [], max = 1 }) {
  const left = 44;
  const top = 12;
  const plotHeight = 180;
  const step = 84;
  const plotWidth = Math.max(windows.length - 1, 1) * step;
  const legendTop = top + plotHeight + 40;
  const height = legendTop + series.length * 16 + 6;
  // wide enough for the legend's longest name (about 6.5 px a character at 11 px)
  const legendWidth = left + 24 + Math.max(0, ...series.map((line) => line.name.length)) * 6.5;
  const root = frame(Math.max(left + plotWidth + 40, legendWidth), height, title, description);
  axisY(root, { left, top, height: plotHeight, width: plotWidth + 20, max });
  const xAt = (i) => left + 10 + (windows.length === 1 ? plotWidth / 2 : i * step);
  const yAt = (v) => top + plotHeight - (Math.max(0, Math.min(v, max)) / max) * plotHeight;
  windows.forEach((name, i) => {
    root.append(svg("text", { x: xAt(i), y: top + plotHeight + 16, "text-anchor": "middle", fill: MUTED, "font-size": 11 }, name));
  });
  series.forEach((line, s) => {
    const colour = PALETTE[s % PALETTE.length];
    const target = targets.find((t) => t.name === line.name);
    if (target && Number.isFinite(target.value)) {
      root.append(svg("line", { x1: left, x2: left + plotWidth + 20, y1: yAt(target.value), y2: yAt(target.value), stroke: colour, "stroke-width": 1, "stroke-dasharray": "2 4" }));
    }
    let path = "";
    line.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      path += `${path ? "L" : "M"}${xAt(i).toFixed(1)},${yAt(v).toFixed(1)} `;
    });
    if (path) root.append(svg("path", { d: path.trim(), fill: "none", stroke: colour, "stroke-width": 2 }));
    line.values.forEach((v, i) => {
      if (!Number.isFinite(v)) return;
      const dot = svg("circle", { cx: xAt(i), cy: yAt(v), r: 4, fill: colour });
      dot.append(svg("title", {}, `${line.name}, ${windows[i]}: ${formatValue(v)}`));
      root.append(dot);
    });
    const y = legendTop + s * 16;
    root.append(
      svg("line", { x1: left, x2: left + 18, y1: y - 4, y2: y - 4, stroke: colour, "stroke-width": 3 }),
      svg("text", { x: left + 24, y, fill: TEXT, "font-size": 11 }, line.name),
    );
  });
  return root;
}
