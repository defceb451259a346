// Round history: every stored statistics round (who answered, refused or was missing, bytes,
// time), and one round in full: each site's participation and privacy charge, the pooled
// figures per label (chart and table) and the pooled diversity histograms.

import { announce, get, showError } from "./common/api.js";
import { barChart } from "./common/charts.js";
import { h } from "./common/dom.js";
import { section, table } from "./common/layout.js";
import { bytes, number, percent, release, when, yesNo } from "./format.js";

export async function render(main) {
  const container = h("div", { class: "dashboard" });
  main.append(container);
  container.append(h("h1", { text: "Statistics rounds" }));
  let rounds;
  try {
    rounds = (await get("/api/v1/rounds")).rounds;
  } catch (error) {
    showError(error);
    return;
  }
  container.append(section("Round history (newest first)", table("Stored statistics rounds", [
    ["round_id", "Round", (v) => v],
    ["started_at", "Started", (v) => when(v)],
    ["project", "Project"],
    ["guideline", "Guideline", (v, row) => release(v, row.version)],
    ["noise", "Noised", yesNo],
    ["answered", "Answered", (v) => String(v.length)],
    ["refused", "Refused", (v) => (v.length ? v.join(", ") : "0")],
    ["missing", "Missing", (v) => (v.length ? v.join(", ") : "0")],
    ["bytes_total", "Bytes released", bytes],
    ["total_wall_time_s", "Time", (v, row) => `${number(v ?? row.wall_time_s)} s`],
  ], rounds, "No round stored yet: run 'harmonia-coordinator round stats --project NAME'."),
  rounds.length ? h("ul", { class: "round-links" }, rounds.map((r) =>
    h("li", {}, h("a", { href: `#/rounds/${encodeURIComponent(r.round_id)}`, text: `Open ${r.round_id}` })))) : null));
  announce(`${rounds.length} round(s) loaded.`);
}

const FIGURES = [
  ["kappa", "κ (Cohen)"], ["alpha", "α (Krippendorff)"], ["pooled_dice", "pooled Dice"], ["pooled_f1", "pooled F1"],
];

export async function renderRound(main, params) {
  const container = h("div", { class: "dashboard" });
  main.append(container);
  container.append(h("p", {}, h("a", { href: "#/rounds", text: "← All rounds" })));
  let result;
  try {
    result = await get(`/api/v1/rounds/${encodeURIComponent(params.id)}`);
  } catch (error) {
    container.append(h("h1", { text: `Round ${params.id}` }));
    showError(error);
    return;
  }
  container.append(h("h1", { text: `Round ${result.round_id}` }));
  const sites = Object.entries(result.sites || {}).map(([site, entry]) => ({ site, ...entry }));
  container.append(
    section("Summary",
      h("p", { text: `Project ${result.project}, guideline ${release(result.guideline, result.version)}, started ${when(result.started_at)}.` }),
      h("p", { text: `${(result.answered || []).length} site(s) answered; missing or refused: ${(result.missing || []).join(", ") || "none"}.` }),
      h("p", { class: "muted", text: result.noise
        ? `Noised statistics (Gaussian mechanism, noise multiplier ${result.noise_multiplier}): pooled figures carry the noise.`
        : "Noise-free statistics (development sites only)." }),
      h("p", { class: "muted", text: `Round ${number(result.wall_time_s)} s on the ServerApp${result.total_wall_time_s ? `, ${number(result.total_wall_time_s)} s with submission` : ""}.` })),
    section("Sites", table("Each site's participation and what it released", [
      ["site", "Site"], ["status", "Status"],
      ["message", "Message", (v, row) => v || row.error || "—"],
      ["kinds", "Released", (v) => (v && v.length ? v.join(", ") : "—")],
      ["bytes_total", "Bytes", bytes],
      ["epsilon", "ε charged", (v) => (v && v.length ? v.map((e) => number(e)).join(" + ") : "—")],
      ["mechanism", "Mechanism", (v) => (v && v.length ? [...new Set(v)].join(", ") : "—")],
      ["skipped", "Skipped", (v) => (v && v.length ? v.join(", ") : "—")],
    ], sites, "No site took part.")),
    figureSection(result),
    histogramSection(result),
  );
  announce(`Round ${result.round_id} loaded.`);
}

function figureSection(result) {
  const rows = Object.entries(result.figures || {}).map(([label, figures]) => ({ label, ...figures }));
  const items = rows.flatMap((row) => FIGURES.filter(([key]) => row[key] !== undefined && row[key] !== null)
    .slice(0, 1).map(([key, name]) => ({ name: row.label, value: row[key], metric: name })));
  return section("Pooled agreement per label",
    items.length
      ? barChart({
        title: "Pooled agreement per label in this round",
        description: `${items.length} label(s), computed once from the sum of the sites' statistics.`,
        items,
      })
      : h("p", { class: "empty", text: "No agreement figure: no site released agreement statistics." }),
    table("Pooled figures per label", [
      ["label", "Label"], ["kappa", "κ", number], ["percent_agreement", "% agreement", percent],
      ["alpha", "α", number], ["pooled_dice", "Pooled Dice", number], ["pooled_f1", "Pooled F1", number],
      ["n_pairs", "Reader pairs × items"],
    ], rows));
}

function histogramSection(result) {
  const histograms = Object.entries(result.histograms || {});
  if (!histograms.length) return section("Diversity", h("p", { class: "empty", text: "No diversity histogram released." }));
  return section("Diversity (pooled histograms)", histograms.map(([name, histogram]) => {
    const bins = histogram.categories
      ? histogram.categories.map(String)
      : histogram.counts.map((_, i) => `${histogram.edges[i]}–${histogram.edges[i + 1]}`);
    return table(name, [["bin", "Bin"], ["count", "Count", (v) => number(v)]],
      bins.map((bin, i) => ({ bin, count: histogram.counts[i] })));
  }));
}
