// Federated training: start a run (a coordinator-admin), the runs with their state, and one run
// round by round (sites answered, refused, missing; loss and evaluation; bytes) as a table and
// charts, refreshed while it runs.

import { announce, get, post, showError } from "./common/api.js";
import { lineChart } from "./common/charts.js";
import { field, h, replace } from "./common/dom.js";
import { navigate } from "./common/router.js";
import { section, table } from "./common/layout.js";
import { bytes, number, when, yesNo } from "./format.js";
import { can } from "./session.js";

const REFRESH_MS = 2000;
const AGGREGATIONS = ["fedavg", "fedmedian", "trimmed-mean", "krum"];
const COMPRESSIONS = [["", "as the plan says"], ["none", "none"], ["fp16", "fp16"], ["int8", "int8"]];
const EXAMPLE_PLAN = {
  name: "lesion-seg",
  task: "segmentation",
  labels: ["lesion"],
  update_clip_norm: 5.0,
  privacy: { noise_multiplier: 1.0, max_grad_norm: 1.0, delta: 1e-5 },
};

const names = (value) => (Array.isArray(value) ? value : Object.keys(value || {}));
const listed = (value) => (names(value).length ? names(value).join(", ") : "none");
/** Refused sites with their reasons (the clear path names them; SecAgg+ lists sites). */
const refusals = (value) => (Array.isArray(value)
  ? listed(value)
  : listed(Object.entries(value || {}).map(([site, why]) => `${site} (${why})`)));
const totalBytes = (value) => Object.values(value || {}).reduce((sum, n) => sum + (Number(n) || 0), 0);

export async function render(main) {
  const container = h("div", { class: "dashboard training" });
  main.append(container);
  container.append(h("h1", { text: "Training runs" }));
  let listing;
  try {
    listing = await get("/api/v1/training/runs");
  } catch (error) {
    showError(error);
    return;
  }
  const runs = [...listing.runs].reverse();
  if (listing.in_progress) {
    container.append(h("p", { class: "warn", id: "run-in-progress" },
      `Run ${listing.in_progress} is in progress (runs go one at a time): `,
      h("a", { href: `#/training/${encodeURIComponent(listing.in_progress)}`, text: "follow it" }), "."));
  }
  container.append(section("Runs (newest first)", table("Every training run and how it stands", [
    ["run_id", "Run"],
    ["model", "Model"],
    ["status", "Status"],
    ["rounds_completed", "Rounds", (v, row) => `${v} of ${row.rounds_requested}`],
    ["config", "Project", (v) => v?.project || "—"],
    ["config", "Aggregation", (v) => `${v?.aggregation || "fedavg"}${v?.["secure-aggregation"] ? " + SecAgg+" : ""}`],
    ["started_at", "Started", (v) => when(v)],
    ["ended_at", "Ended", (v, row) => (row.status === "running" ? "running" : when(v))],
    ["model_version", "Registered", (v, row) => (v ? `${row.model} v${v}` : "—")],
  ], runs, "No training run yet."),
  runs.length ? h("ul", { class: "round-links" }, runs.map((run) =>
    h("li", {}, h("a", { href: `#/training/${encodeURIComponent(run.run_id)}`, text: `Open ${run.run_id}` })))) : null));
  if (can("run_training")) container.append(await startSection());
  announce(`${runs.length} training run(s) loaded.`);
}

async function startSection() {
  let guidelines = [];
  try {
    guidelines = (await get("/api/v1/guidelines")).releases;
  } catch (error) {
    showError(error);
  }
  const withPlans = [...new Set(guidelines.map((r) => r.name))];
  const source = h("select", { name: "plan-source" },
    h("option", { value: "json", text: "a plan (JSON)" }),
    h("option", { value: "guideline", text: "a plan a guideline declares" }));
  const planText = h("textarea", { name: "plan", rows: 9, spellcheck: "false", class: "draft", text: JSON.stringify(EXAMPLE_PLAN, null, 2) });
  const guideline = h("select", { name: "guideline" }, withPlans.map((n) => h("option", { value: n, text: n })));
  const guidelineVersion = h("input", { name: "guideline-version", autocomplete: "off", placeholder: "newest" });
  const planName = h("input", { name: "plan-name", autocomplete: "off", spellcheck: "false" });
  const planFields = h("div", {}, field("Training plan (JSON)", planText, "The plan's schema: docs/learning.md. Checked before anything starts."));
  const guidelineFields = h("div", { class: "inline-form", hidden: true },
    field("Guideline", guideline), field("Guideline version", guidelineVersion, "Empty: its newest release."),
    field("Plan name", planName, "A training plan the release declares."));
  source.addEventListener("change", () => {
    planFields.hidden = source.value !== "json";
    guidelineFields.hidden = source.value === "json";
  });
  const project = h("input", { name: "project", required: true, autocomplete: "off", spellcheck: "false" });
  const rounds = h("input", { name: "rounds", type: "number", min: 1, step: 1, value: "1", required: true });
  const minSites = h("input", { name: "min-sites", type: "number", min: 1, step: 1, value: "1", required: true });
  const aggregation = h("select", { name: "aggregation" }, AGGREGATIONS.map((a) => h("option", { value: a, text: a })));
  const secure = h("input", { name: "secure-aggregation", type: "checkbox" });
  const compression = h("select", { name: "compression" }, COMPRESSIONS.map(([v, t]) => h("option", { value: v, text: t })));
  const fromModel = h("input", { name: "from-model", autocomplete: "off", spellcheck: "false", placeholder: "a fresh model" });
  const waitNodes = h("input", { name: "wait-nodes", type: "number", min: 0, step: "any", value: "30" });
  const replyTimeout = h("input", { name: "reply-timeout", type: "number", min: 1, step: "any", value: "300" });
  const submit = h("button", { type: "submit", class: "primary", text: "Start training run" });
  const form = h("form", { id: "start-run" },
    h("div", { class: "inline-form" }, field("Plan from", source)),
    planFields, guidelineFields,
    h("div", { class: "inline-form" },
      field("Project", project, "The project whose consensus labels train the model on each node."),
      field("Rounds", rounds), field("Minimum sites", minSites, "Updates a round needs."),
      field("Aggregation", aggregation, "Robust rules (median, trimmed mean, Krum) need clear updates."),
      field("Secure aggregation (SecAgg+)", secure, "FedAvg only; the plan needs update_clip_norm."),
      field("Compression", compression), field("Start from model", fromModel, "NAME or NAME:VERSION from the registry."),
      field("Wait for nodes (s)", waitNodes), field("Reply timeout (s)", replyTimeout)),
    h("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      project: project.value.trim(),
      rounds: Number(rounds.value),
      min_sites: Number(minSites.value),
      aggregation: aggregation.value,
      secure_aggregation: secure.checked,
      wait_nodes_s: Number(waitNodes.value),
      reply_timeout_s: Number(replyTimeout.value),
    };
    if (compression.value) body.compression = compression.value;
    if (fromModel.value.trim()) body.from_model = fromModel.value.trim();
    if (source.value === "json") {
      try {
        body.plan = JSON.parse(planText.value);
      } catch (error) {
        showError(new Error(`The plan is not valid JSON: ${error.message}`));
        planText.focus();
        return;
      }
    } else {
      body.guideline = { name: guideline.value, plan: planName.value.trim() };
      if (guidelineVersion.value.trim()) body.guideline.version = guidelineVersion.value.trim();
    }
    submit.disabled = true;
    try {
      const run = await post("/api/v1/training/runs", body);
      announce(`Training run ${run.run_id} started.`);
      navigate(`#/training/${encodeURIComponent(run.run_id)}`);
    } catch (error) {
      showError(error);
    } finally {
      submit.disabled = false;
    }
  });
  return section("Start a training run", form);
}

export async function renderRun(main, params) {
  const container = h("div", { class: "dashboard training" });
  main.append(container);
  container.append(h("p", {}, h("a", { href: "#/training", text: "← All training runs" })));
  const heading = h("h1", { text: `Training run ${params.id}` });
  const status = h("p", { id: "run-status", role: "status" });
  const body = h("div", { id: "run-body" });
  container.append(heading, status, body);
  let timer = null;
  let shownRounds = -1;
  let stopped = false;
  const refresh = async () => {
    let run;
    try {
      run = await get(`/api/v1/training/runs/${encodeURIComponent(params.id)}`);
    } catch (error) {
      showError(error);
      return;
    }
    if (stopped) return;
    status.textContent = statusLine(run);
    status.className = run.status === "completed" ? "ok" : run.status === "running" ? "" : "warn";
    if (run.rounds_completed !== shownRounds || run.status !== "running") {
      replace(body, summarySection(run), progressSection(run), chartSection(run));
      if (shownRounds >= 0 && run.rounds_completed !== shownRounds) announce(`Round ${run.rounds_completed} of ${run.rounds_requested} done.`);
      shownRounds = run.rounds_completed;
    }
    if (run.status === "running") timer = setTimeout(refresh, REFRESH_MS);
    else announce(`Training run ${run.run_id} ${run.status}.`);
  };
  await refresh();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

function statusLine(run) {
  const rounds = `${run.rounds_completed} of ${run.rounds_requested} round(s) done`;
  if (run.status === "running") return `Running: ${rounds}; this page refreshes every ${REFRESH_MS / 1000} s.`;
  if (run.status === "completed") return `Completed: ${rounds}; registered as ${run.model} v${run.model_version}.`;
  return `${run.status[0].toUpperCase()}${run.status.slice(1)}: ${rounds}. ${run.message || ""}`.trim();
}

function summarySection(run) {
  const config = run.config || {};
  return section("Run", table("The run's settings", [["what", "Setting"], ["value", "Value"]], [
    { what: "Model (plan)", value: `${run.model} (${run.plan?.task || "?"}, labels ${(run.plan?.labels || []).join(", ") || "?"})` },
    { what: "Project", value: config.project || "—" },
    { what: "Aggregation", value: config.aggregation || "fedavg" },
    { what: "Secure aggregation (SecAgg+)", value: yesNo(config["secure-aggregation"]) },
    { what: "DP-SGD", value: run.plan?.privacy ? `noise multiplier ${run.plan.privacy.noise_multiplier}, clip ${run.plan.privacy.max_grad_norm}` : "off" },
    { what: "Minimum sites per round", value: String(config["min-sites"] ?? "—") },
    { what: "Started", value: when(run.started_at) },
    { what: "Ended", value: run.status === "running" ? "running" : when(run.ended_at) },
    { what: "Message", value: run.message || "—" },
  ]));
}

function evaluationNames(history) {
  return [...new Set(history.flatMap((e) => Object.keys(e.evaluation_of_received?.pooled || {})))]
    .filter((k) => k !== "count").sort();
}

function progressSection(run) {
  const history = run.history || [];
  const metrics = evaluationNames(history);
  return section("Progress per round", table("Each completed round: the sites, the loss, the evaluation on the sites' validation consensus, the bytes", [
    ["round", "Round"],
    ["answered", "Answered", listed],
    ["refused", "Refused", refusals],
    ["missing", "Missing", listed],
    ["train_loss", "Train loss", (v) => (v === null || v === undefined ? "— (not revealed)" : number(v))],
    ...metrics.map((m) => [m, `Eval ${m}`, (_v, row) => number(row.evaluation_of_received?.pooled?.[m])]),
    ["bytes", "Bytes", (v) => bytes(totalBytes(v))],
    ["wall_s", "Time", (v, row) => `${number(v ?? row.exchange_s)} s`],
  ], history, run.status === "running" ? "No round completed yet: the nodes are training." : "No round completed."),
  h("p", { class: "muted small", text: "Evaluation figures are pooled from the sites that released them under their DP policy (noised); under SecAgg+ the coordinator sees no site's loss." }));
}

function chartSection(run) {
  const history = run.history || [];
  if (!history.length) return section("Charts", h("p", { class: "empty", text: "The charts appear after the first round." }));
  const windows = history.map((e) => `round ${e.round}`);
  const metrics = evaluationNames(history);
  const scores = metrics.filter((m) => m !== "loss");
  const charts = [];
  if (scores.length) {
    charts.push(lineChart({
      title: "Evaluation per round",
      description: `${scores.join(", ")} of the global model on the sites' validation consensus, pooled, per round.`,
      windows,
      series: scores.map((m) => ({ name: m, values: history.map((e) => e.evaluation_of_received?.pooled?.[m] ?? null) })),
    }));
  }
  const losses = [
    { name: "train loss", values: history.map((e) => e.train_loss ?? null) },
    { name: "evaluation loss", values: history.map((e) => e.evaluation_of_received?.pooled?.loss ?? null) },
  ].filter((line) => line.values.some(Number.isFinite));
  if (losses.length) {
    const top = Math.max(...losses.flatMap((line) => line.values.filter(Number.isFinite)));
    charts.push(lineChart({
      title: "Loss per round",
      description: "The training loss the sites reported and the pooled evaluation loss, per round.",
      windows,
      series: losses,
      max: top > 1 ? Math.ceil(top) : 1,
    }));
  }
  return section("Charts", charts.length ? h("div", { class: "pair" }, charts) : h("p", { class: "empty", text: "No figure to chart: no site released evaluation figures." }));
}
