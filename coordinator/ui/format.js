// Formatting the coordinator's figures for people: times, versions, unknowns said as such.

import { formatValue } from "./common/charts.js";

export const number = (v) => formatValue(v);
export const percent = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)}%`);
export const yesNo = (v) => (v ? "yes" : "no");

/** A timestamp as local date and time, or `unknown` (with why) when there is none. */
export function when(value, unknown = "unknown") {
  if (!value) return unknown;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

/** "3 min ago" style age of a timestamp (null when there is none). */
export function age(value, now = Date.now()) {
  if (!value) return null;
  const seconds = Math.max(0, Math.round((now - new Date(value).getTime()) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

export function bytes(value) {
  if (!Number.isFinite(value)) return "—";
  if (value < 1024) return `${value} B`;
  if (value < 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

/** `name@version`, or a dash. */
export function release(name, version) {
  return name ? `${name}@${version ?? "?"}` : "—";
}
