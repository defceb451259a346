// The quality dashboard: agreement per label (bars with targets), reader pairs (heat map),
// drift over time (lines), reader performance, per-version figures and the automated
// checks' findings, from GET /api/quality/{project}. Every chart has a data table beside it,
// and every view can be downloaded as CSV or JSON.

import { announce, get, showError } from "./api.js";
import { assistSection } from "./assist-panel.js";
import { barChart, formatValue, heatMap, lineChart } from "./charts.js";
import { section, table } from "./common/layout.js";
import { field, h, replace } from "./dom.js";
import { navigate } from "./router.js";

const VIEWS = [
  ["labels", "Labels"],
  ["pairs", "Reader pairs"],
  ["readers", "Readers"],
  ["drift", "Drift"],
  ["checks", "Findings"],
];

const STYLESHEET = new URL("./dashboard.css", import.meta.url).href;

function useStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  document.head.append(h("link", { rel: "stylesheet", href: STYLESHEET }));
}

export async function render(main, params = {}, query = new URLSearchParams()) {
  useStylesheet();
  const container = h("div", { class: "dashboard" });
  main.append(container);
  container.append(h("h1", { text: "Quality dashboard" }));
  if (!params.project) {
    await renderPicker(container);
    return;
  }
  const project = params.project;
  const period = query.get("period") === "week" ? "week" : "month";
  const status = h("p", { class: "muted", role: "status", text: `Loading ${project}…` });
  container.append(status);
  let data;
  try {
    data = await get(`/api/quality/${encodeURIComponent(project)}?period=${period}`);
  } catch (error) {
    status.textContent = "";
    showError(error);
    return;
  }
  status.remove();
  container.append(
    summary(data, period),
    exports(project, period),
    labelSection(data),
    pairSection(data),
    driftSection(data),
    readerSection(data),
    versionSection(data),
    findingSection(data),
    assistSection(project),
  );
  announce(`Quality figures of ${project} loaded: ${data.findings.length} finding(s).`);
}

async function renderPicker(container) {
  let answer;
  try {
    answer = await get("/api/projects");
  } catch (error) {
    showError(error);
    return;
  }
  const projects = answer.projects || [];
  if (!projects.length) {
    container.append(h("p", { class: "empty", text: "No project yet: an admin creates one from a guideline." }));
    return;
  }
  container.append(
    h("p", { text: "Choose a project:" }),
    h("ul", {}, projects.map((p) =>
      h("li", {}, h("a", { href: `#/dashboard/${encodeURIComponent(p.name)}`, text: p.name }),
        ` — ${p.task_count ?? "?"} task(s)`))),
  );
}

function summary(data, period) {
  const counts = Object.entries(data.tasks.by_status || {}).map(([s, n]) => `${n} ${s}`).join(", ");
  const select = h("select", {
    onchange: (event) => navigate(`#/dashboard/${encodeURIComponent(data.project)}?period=${event.target.value}`),
  },
  h("option", { value: "month", text: "Months", selected: period === "month" }),
  h("option", { value: "week", text: "Weeks", selected: period === "week" }));
  return section(
    `${data.project} — guideline ${data.guideline}`,
    h("p", { text: `${data.tasks.total} task(s)${counts ? ` (${counts})` : ""}; readers: ${data.readers.join(", ") || "none yet"}.` }),
    h("p", { class: "muted", text: `Figures as of ${new Date(data.generated_at).toLocaleString()}. Pooled over tasks from summable statistics (see docs/quality.md).` }),
    field("Drift windows", select),
  );
}

function exports(project, period) {
  const base = `/api/quality/${encodeURIComponent(project)}`;
  const links = [["", "Everything"], ...VIEWS].flatMap(([view, name]) => {
    const path = view ? `${base}/${view}` : base;
    return ["csv", "json"].map((fmt) => h("li", {},
      h("a", {
        href: `${path}?format=${fmt}&period=${period}`,
        download: `quality-${project}-${view || "summary"}.${fmt}`,
        text: `${name} (${fmt.toUpperCase()})`,
      })));
  });
  return section("Export", h("ul", { class: "exports" }, links));
}

const number = (v) => formatValue(v);
const percent = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)}%`);
const yesNo = (v) => (v ? "yes" : "no");

function labelSection(data) {
  const items = data.labels.map((row) => ({ name: row.label, value: row.value ?? NaN, target: row.target, metric: row.metric }));
  const below = data.labels.filter((row) => row.below_target).map((row) => row.label);
  return section("Agreement per label", h("div", { class: "pair" },
    barChart({
      title: "Agreement per label against its target",
      description: `Pooled agreement of ${items.length} label(s); dashed marks are the guideline's targets. ` +
        (below.length ? `Below target: ${below.join(", ")}.` : "Every measured label meets its target."),
      items,
    }),
    table("Agreement per label (alpha for classifications, pooled Dice for masks, pooled F1 for objects)", [
      ["label", "Label"], ["kind", "Kind"], ["metric", "Metric"], ["value", "Value", number],
      ["target", "Target", number], ["below_target", "Below target", yesNo],
      ["n_tasks", "Tasks"], ["n_comparisons", "Comparisons"], ["mean_case", "Mean per case", number],
      ["percent_agreement", "% agreement", percent], ["note", "Note"],
    ], data.labels),
  ));
}

function pairSection(data) {
  const labels = [...new Set(data.pairs.map((p) => p.label))];
  const holder = h("div");
  const draw = (label) => {
    const rows = data.pairs.filter((p) => p.label === label);
    const names = [...new Set(rows.flatMap((p) => [p.reader_a, p.reader_b]))].sort();
    const lookup = new Map(rows.map((p) => [[p.reader_a, p.reader_b].sort().join("\u0000"), p.value]));
    replace(holder, h("div", { class: "pair" },
      heatMap({
        title: `Agreement between reader pairs on ${label}`,
        description: `${rows.length} pair(s) of ${names.length} reader(s); ${rows[0]?.metric || ""} per pair, red low, green high.`,
        names,
        value: (a, b) => lookup.get([a, b].sort().join("\u0000")) ?? null,
      }),
      table(`Reader pairs on ${label}`, [
        ["reader_a", "Reader A"], ["reader_b", "Reader B"], ["metric", "Metric"], ["value", "Value", number],
        ["n_tasks", "Tasks"], ["percent_agreement", "% agreement", percent],
      ], rows),
    ));
  };
  if (!labels.length) return section("Reader pairs", h("p", { class: "empty", text: "No completed task has two readers yet." }));
  const select = h("select", { onchange: (event) => draw(event.target.value) },
    labels.map((label) => h("option", { value: label, text: label })));
  draw(labels[0]);
  return section("Reader pairs", field("Label", select), holder);
}

function driftSection(data) {
  const points = data.drift.points;
  const windows = [...new Set(points.map((p) => p.window))].sort();
  const labels = [...new Set(points.map((p) => p.label))];
  const series = labels.map((label) => ({
    name: label,
    values: windows.map((w) => points.find((p) => p.label === label && p.window === w)?.value ?? null),
  }));
  const targets = labels.map((label) => ({ name: label, value: points.find((p) => p.label === label)?.target }));
  const flags = data.drift.flags;
  return section(`Agreement over time (by ${data.drift.period})`,
    windows.length
      ? lineChart({
        title: `Agreement per label by ${data.drift.period}`,
        description: `${labels.length} label(s) over ${windows.length} window(s), ${windows[0]} to ${windows[windows.length - 1]}; dotted lines are targets. ` +
          (flags.length ? `${flags.length} flag(s) on the latest window.` : "No flag on the latest window."),
        windows,
        series,
        targets,
      })
      : h("p", { class: "empty", text: "No completed task yet." }),
    flags.length ? h("ul", { class: "flags" }, flags.map((f) => h("li", { class: "reject-reason", text: f.message }))) : null,
    table("Agreement per label and window", [
      ["label", "Label"], ["window", "Window"], ["metric", "Metric"], ["value", "Value", number],
      ["n_comparisons", "Comparisons"], ["mean_case", "Mean per case", number], ["se_case", "SE", number],
    ], points),
  );
}

function readerSection(data) {
  const overall = data.reader_figures.filter((r) => !r.label);
  const masks = data.reader_figures.filter((r) => r.kind === "mask" && r.staple_tasks);
  const classes = data.reader_figures.filter((r) => r.kind === "classification" && r.consensus_items);
  return section("Readers",
    table("Each reader over all labels", [
      ["reader", "Reader"], ["tasks", "Tasks"], ["annotations", "Annotations"],
      ["agreement_with_others", "Agreement with others", number], ["agreement_of_rest", "Others among themselves", number],
      ["cannot_assess_rate", "Cannot assess", percent], ["mean_confidence", "Mean confidence", number],
      ["low_confidence_rate", "Low confidence", percent],
    ], overall),
    table("STAPLE sensitivity and specificity per mask label (pooled over tasks)", [
      ["reader", "Reader"], ["label", "Label"], ["staple_sensitivity", "Sensitivity", number],
      ["staple_specificity", "Specificity", number], ["staple_tasks", "Tasks"],
    ], masks),
    table("Agreement with the consensus per classification label", [
      ["reader", "Reader"], ["label", "Label"], ["consensus_agreement", "% agreement", percent],
      ["consensus_kappa", "Kappa", number], ["consensus_items", "Tasks"],
    ], classes),
  );
}

function versionSection(data) {
  return section("Per guideline version", table("Agreement per label and guideline version", [
    ["guideline_version", "Version"], ["label", "Label"], ["metric", "Metric"], ["value", "Value", number],
    ["target", "Target", number], ["n_tasks", "Tasks"],
  ], data.versions));
}

function findingSection(data) {
  const findings = data.findings;
  if (!findings.length) return section("Findings", h("p", { class: "empty", text: "No check fired." }));
  return section(`Findings (${findings.length})`,
    h("ul", { class: "findings" }, findings.map((f) => h("li", { dataset: { severity: f.severity } },
      h("strong", { text: `${f.severity.toUpperCase()} ` }),
      h("span", { class: "muted", text: `${f.check} · ${f.subject_type} ${f.subject}: ` }),
      f.message))),
    table("Findings", [
      ["severity", "Severity"], ["check", "Check"], ["subject_type", "About"], ["subject", "Subject"],
      ["label", "Label"], ["figure", "Figure", number], ["threshold", "Threshold", number],
    ], findings),
  );
}
