// The harmonization report of a guideline version: pooled within-site agreement per label with
// its 95% interval against the target, agreement version over version, the sites below target,
// and cross-site agreement on the shared calibration cases (site pairs as a heat map). Every chart
// has a table with the same figures; the whole report downloads as CSV or JSON.

import { announce, get, showError } from "./common/api.js";
import { barChart, heatMap, lineChart } from "./common/charts.js";
import { field, h, replace } from "./common/dom.js";
import { section, table } from "./common/layout.js";
import { navigate } from "./common/router.js";
import { number, when } from "./format.js";

export async function render(main, params = {}, query = new URLSearchParams()) {
  const container = h("div", { class: "dashboard report" });
  main.append(container);
  container.append(h("h1", { text: "Harmonization report" }));
  let releases;
  try {
    releases = (await get("/api/v1/guidelines")).releases;
  } catch (error) {
    showError(error);
    return;
  }
  const names = [...new Set(releases.map((r) => r.name))];
  if (!names.length) {
    container.append(h("p", { class: "empty", text: "No guideline published yet: publish one under Guidelines." }));
    return;
  }
  const guideline = params.guideline || names[0];
  const versions = releases.filter((r) => r.name === guideline).map((r) => r.version);
  const version = query.get("version") || versions[versions.length - 1];
  container.append(picker(names, guideline, versions, version));
  const path = `/api/v1/harmonization/${encodeURIComponent(guideline)}?version=${encodeURIComponent(version || "")}`;
  let report;
  try {
    report = await get(path);
  } catch (error) {
    showError(error);
    return;
  }
  container.append(
    summary(report, path),
    withinSection(report),
    trendSection(report),
    belowSection(report),
    calibrationSection(report),
    disagreementSection(report),
  );
  announce(`Report of ${report.guideline}@${report.version}: ${report.flagged_labels.length} label(s) flagged.`);
}

function picker(names, guideline, versions, version) {
  const nameSelect = h("select", { name: "report-guideline", onchange: (e) => navigate(`#/report/${encodeURIComponent(e.target.value)}`) },
    names.map((n) => h("option", { value: n, text: n, selected: n === guideline })));
  const versionSelect = h("select", { name: "report-version", onchange: (e) => navigate(`#/report/${encodeURIComponent(guideline)}?version=${encodeURIComponent(e.target.value)}`) },
    versions.map((v) => h("option", { value: v, text: v, selected: v === version })));
  return h("div", { class: "inline-form" }, field("Guideline", nameSelect), field("Version", versionSelect));
}

function summary(report, path) {
  const below = Object.entries(report.sites_below_target);
  return section(`${report.guideline}@${report.version}`,
    h("p", { id: "flagged", class: report.flagged_labels.length ? "warn" : "ok", text: report.flagged_labels.length
      ? `Labels below target, to revise: ${report.flagged_labels.join(", ")}.`
      : "Every measured label meets its target." }),
    h("p", { text: below.length ? `Sites below target: ${below.map(([s, labels]) => `${s} (${labels.join(", ")})`).join("; ")}.` : "No site below target." }),
    h("p", { class: "muted", text: `${report.rounds.length} statistics round(s) of this guideline; calibration sets: ${report.calibration_sets.join(", ") || "none"}.` }),
    report.notes.length ? h("ul", { class: "notes" }, report.notes.map((n) => h("li", { class: "muted", text: n }))) : null,
    h("ul", { class: "exports" },
      h("li", {}, h("a", { href: path.replace("?", "?format=csv&"), download: `harmonization-${report.guideline}-${report.version}.csv`, text: "Download CSV" })),
      h("li", {}, h("a", { href: path, download: `harmonization-${report.guideline}-${report.version}.json`, text: "Download JSON" }))));
}

const figureColumns = [
  ["metric", "Metric"], ["value", "Value", number], ["ci_low", "95% low", number], ["ci_high", "95% high", number], ["n", "n"],
];

function withinSection(report) {
  const rows = report.labels.map((l) => ({ label: l.label, kind: l.kind, target: l.target, flagged: l.flagged, ...l.within_site.pooled }));
  const items = rows.map((r) => ({ name: r.label, value: r.value ?? NaN, target: r.target, metric: r.metric, low: r.ci_low ?? NaN, high: r.ci_high ?? NaN }));
  const measured = items.filter((i) => Number.isFinite(i.value));
  return section("Within-site agreement per label (pooled over sites)",
    h("div", { class: "pair" },
      measured.length
        ? barChart({
          title: "Pooled within-site agreement per label, with 95% intervals and targets",
          description: `${measured.length} of ${items.length} label(s) measured in the newest round of this version; whiskers are 95% intervals, dashed marks the targets. ` +
            (report.flagged_labels.length ? `Flagged: ${report.flagged_labels.join(", ")}.` : "No label flagged."),
          items,
        })
        : h("p", { class: "empty", text: "No statistics round of this version yet." }),
      table("Pooled within-site figure per label", [["label", "Label"], ["kind", "Kind"], ...figureColumns,
        ["target", "Target", number], ["flagged", "Flagged", (v) => (v ? "yes" : "no")], ["note", "Note"]], rows)));
}

function trendSection(report) {
  const versions = [...new Set(report.labels.flatMap((l) => l.trend.map((p) => p.version)))];
  const series = report.labels.flatMap((l) => [
    { name: `${l.label} (within sites)`, values: versions.map((v) => l.trend.find((p) => p.version === v)?.within_site?.value ?? null) },
    { name: `${l.label} (calibration)`, values: versions.map((v) => l.trend.find((p) => p.version === v)?.cross_site?.value ?? null) },
  ]).filter((s) => s.values.some((v) => Number.isFinite(v)));
  const rows = report.labels.flatMap((l) => l.trend.map((p) => ({
    label: l.label, version: p.version,
    within: p.within_site?.value ?? null, cross: p.cross_site?.value ?? null, target: l.target,
    source: [p.round_id, p.set_id].filter(Boolean).join(", "),
  })));
  return section("Agreement version over version",
    h("div", { class: "pair" },
      series.length
        ? lineChart({
          title: "Agreement per label and guideline version",
          description: `${series.length} series over ${versions.length} version(s) (${versions.join(", ")}): within-site figures from the rounds, cross-site from the calibration sets.`,
          windows: versions,
          series,
        })
        : h("p", { class: "empty", text: "No figure in any version yet." }),
      table("Agreement per label and version", [["label", "Label"], ["version", "Version"],
        ["within", "Within sites", number], ["cross", "Calibration (all readers)", number], ["target", "Target", number],
        ["source", "Round / calibration set"]], rows)));
}

function belowSection(report) {
  const rows = report.labels.flatMap((l) => l.sites_below_target.map((entry) => ({ site: entry.site, label: l.label, target: l.target, reasons: entry.reasons.join("; ") })));
  return section("Sites below target",
    table("Sites whose within-site or calibration figures fall below a label's target", [
      ["site", "Site"], ["label", "Label"], ["target", "Target", number], ["reasons", "Why"],
    ], rows, "No site below target."));
}

function calibrationSection(report) {
  const labels = report.labels.filter((l) => l.cross_site);
  if (!labels.length) return section("Cross-site agreement on calibration cases", h("p", { class: "empty", text: "No calibration annotations of this version yet." }));
  const items = labels.map((l) => {
    const f = l.cross_site.all_readers;
    return { name: l.label, value: f.value ?? NaN, target: l.target, metric: f.metric, low: f.ci_low ?? NaN, high: f.ci_high ?? NaN };
  });
  const holder = h("div");
  const draw = (name) => {
    const label = labels.find((l) => l.label === name);
    const cross = label.cross_site;
    const sites = Object.keys(cross.sites).sort();
    const pairs = new Map(cross.site_pairs.map((p) => [[...p.sites].sort().join("\u0000"), p.figure.value]));
    const siteRows = Object.entries(cross.sites).map(([site, entry]) => ({
      site, within: entry.within.value, cross: entry.cross.value, metric: entry.cross.metric,
      readers: Object.keys(entry.readers).length,
    }));
    replace(holder, h("div", { class: "pair" },
      sites.length > 1
        ? heatMap({
          title: `Agreement between sites on ${name} (calibration set ${cross.set_id})`,
          description: `${cross.site_pairs.length} site pair(s) of ${sites.length} site(s); red low, green high.`,
          names: sites,
          value: (a, b) => pairs.get([a, b].sort().join("\u0000")) ?? null,
        })
        : h("p", { class: "empty", text: "One site annotated the calibration set: no site pair yet." }),
      table(`Calibration figures per site on ${name}`, [
        ["site", "Site"], ["metric", "Metric"], ["within", "Readers within the site", number],
        ["cross", "Against the other sites", number], ["readers", "Readers"],
      ], siteRows)));
  };
  const select = h("select", { name: "calibration-label", onchange: (e) => draw(e.target.value) },
    labels.map((l) => h("option", { value: l.label, text: l.label })));
  draw(labels[0].label);
  return section("Cross-site agreement on calibration cases",
    h("div", { class: "pair" },
      barChart({
        title: "All-reader agreement per label on the calibration cases, with 95% intervals",
        description: `${items.length} label(s) with calibration annotations; dashed marks are targets.`,
        items,
      }),
      table("All-reader calibration figure per label", [["name", "Label"], ["metric", "Metric"], ["value", "Value", number],
        ["low", "95% low", number], ["high", "95% high", number], ["target", "Target", number]], items)),
    field("Label", select), holder);
}

function disagreementSection(report) {
  const rows = report.labels.flatMap((l) => l.disagreement.categories.map((c) => ({
    label: l.label, pair: c.categories.join(" ↔ "), count: c.count, share: c.share,
  })));
  const cases = report.labels.flatMap((l) => l.disagreement.cases.map((c) => ({ label: l.label, case: c.case, value: c.value })));
  return section("Where readers disagree",
    table("Category pairs that disagree most", [["label", "Label"], ["pair", "Categories"], ["count", "Count"],
      ["share", "Share of disagreements", (v) => `${Math.round(v * 100)}%`]], rows, "No category disagreement recorded."),
    table("Calibration cases with the lowest agreement", [["label", "Label"], ["case", "Case"], ["value", "Agreement", number]],
      cases, "No calibration case scored."),
    h("p", { class: "muted small", text: `Generated ${when(new Date().toISOString())}.` }));
}
