// The annotation page of one task (#/task/ID), and a plain series viewer (#/series/STUDY/SERIES).

import { announce, get, post, showError } from "./api.js";
import { h } from "./dom.js";
import { DraftLayer } from "./drafts.js";
import { navigate, setLeaveGuard } from "./router.js";
import { AnnotationSet } from "./viewer/annotation-set.js";
import { Annotator } from "./viewer/annotator.js";
import { instanceSource, seriesSlices } from "./viewer/sources.js";

/** The guideline's content: the task carries {name, version, sha256, guideline: {...}}. */
export function guidelineOf(task) {
  return task.guideline?.guideline || task.guideline || { labels: [] };
}

/** Install page-wide shortcuts for an annotator; returns the cleanup. */
export function bindShortcuts(annotator, extra = () => false) {
  const onKey = (event) => {
    if (extra(event) || annotator.handleKey(event)) event.preventDefault();
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}

function rejection(task) {
  return task.review_status === "rejected" || task.my_status === "rejected" ? task.review_reason || "a reviewer rejected it" : "";
}

export async function render(container, params) {
  let task;
  try {
    task = await get(`/api/tasks/${encodeURIComponent(params.id)}`);
  } catch (error) {
    showError(error);
    container.append(h("p", {}, "This task could not be opened. ", h("a", { href: "#/worklist", text: "Back to the worklist" })));
    return undefined;
  }
  const slices = task.slices || [];
  const set = new AnnotationSet(task.id, (index) => slices[index]);
  set.load(task.annotations || []);
  // Done parts are read-only; overseers (admins, reviewers who are not readers) only look.
  const readOnly = task.my_status !== null && task.my_status !== undefined ? task.my_status === "done" : true;
  const drafts = new DraftLayer({ taskId: task.id, set, labels: guidelineOf(task).labels, readOnly });
  const annotator = new Annotator({
    decorate: (ctx, scene, scale) => drafts.draw(ctx, scene, scale),
    source: instanceSource(task.study_instance_uid, task.series_instance_uid, slices),
    study: task.study_instance_uid,
    series: task.series_instance_uid,
    guideline: guidelineOf(task),
    set,
    readOnly,
    label: task.description || "Series",
  });
  window.harmoniaViewer = annotator; // the benchmark and end-to-end tests read its stats

  const complete = h("button", { type: "button", class: "primary", text: "Mark task done" });
  complete.disabled = readOnly;
  complete.addEventListener("click", async () => {
    complete.disabled = true;
    try {
      if (set.isDirty() && !(await annotator.save())) return;
      await post(`/api/tasks/${encodeURIComponent(task.id)}/complete`, {});
      announce("Task done");
      navigate("#/worklist");
    } catch (error) {
      showError(error);
    } finally {
      complete.disabled = readOnly;
    }
  });

  const reason = rejection(task);
  container.append(
    ...[
    h(
      "div",
      { class: "page-head" },
      h("h1", { text: task.description || `Task ${task.id}` }),
      h("span", { class: "muted", text: `${task.project ?? ""} · ${task.modality ?? ""} · ${slices.length} slices · ${String(task.status ?? "").replace(/_/g, " ")}` }),
      h("span", { class: "spacer" }),
      h("a", { href: "#/worklist", text: "Worklist" }),
      complete,
      shortcutsHelp(),
    ),
    reason ? h("p", { class: "reject-reason", role: "note", text: `A reviewer sent this back: ${reason}` }) : null,
    readOnly
      ? h("p", {
          class: "muted",
          text: task.my_status === "done" ? "You marked this task done; it is shown read-only." : "You are not a reader of this task; it is shown read-only.",
        })
      : null,
    annotator.element,
    ].filter(Boolean),
  );
  // Shortcuts are live before the drafts arrive: a reader's first keys must not be lost.
  const unbind = bindShortcuts(annotator, (event) => drafts.handleKey(event));
  drafts.attach(annotator);
  await drafts.load();
  const beforeUnload = (event) => {
    if (set.isDirty()) event.preventDefault();
  };
  window.addEventListener("beforeunload", beforeUnload);
  setLeaveGuard(() => !set.isDirty());
  return () => {
    unbind();
    window.removeEventListener("beforeunload", beforeUnload);
    annotator.destroy();
    if (window.harmoniaViewer === annotator) window.harmoniaViewer = null;
  };
}

/** A series without a task: viewing only (window/level, zoom, scrolling, MPR). */
export async function renderSeries(container, params, query) {
  let slices;
  try {
    slices = await seriesSlices(params.study, params.series);
  } catch (error) {
    showError(error);
    return undefined;
  }
  const cacheOptions = query.get("cache") === "off" ? { capacity: 0 } : {};
  const annotator = new Annotator({
    source: instanceSource(params.study, params.series, slices),
    study: params.study,
    series: params.series,
    set: null,
    cacheOptions,
    label: "Series",
  });
  window.harmoniaViewer = annotator;
  container.append(h("h1", { class: "visually-hidden", text: "Series viewer" }), annotator.element);
  const unbind = bindShortcuts(annotator);
  return () => {
    unbind();
    annotator.destroy();
    if (window.harmoniaViewer === annotator) window.harmoniaViewer = null;
  };
}

export function shortcutsHelp() {
  const rows = [
    ["B P M K L", "box, polygon, brush, keypoint, length"],
    ["V / E", "select-pan / eraser"],
    ["[ ]", "brush size"],
    ["↑ ↓ PgUp PgDn Home End, wheel", "slices"],
    ["Ctrl+wheel, + − 0", "zoom, fit"],
    ["Right-drag", "window/level"],
    ["Shift+A / C / S", "axial, coronal, sagittal"],
    ["1–5", "confidence"],
    ["Ctrl+Z / Ctrl+Shift+Z", "undo / redo"],
    ["Ctrl+S", "save"],
    ["Enter / Esc", "close polygon / cancel"],
    ["Shift+arrows, Space", "keyboard cursor, click (on the image)"],
    ["Delete", "delete the selected annotation"],
  ];
  return h(
    "details",
    { class: "shortcuts" },
    h("summary", { text: "Shortcuts" }),
    h("dl", {}, rows.flatMap(([keys, what]) => [h("dt", { text: keys }), h("dd", { text: what })])),
  );
}
