// Adjudication: the queue, and one task's readers side by side on synchronized viewers with
// the agreement figures; the adjudicator accepts one reader's annotations or draws the final ones.

import { announce, get, post, showError } from "./api.js";
import { h, replace } from "./dom.js";
import { navigate } from "./router.js";
import { bindShortcuts, guidelineOf, shortcutsHelp } from "./task.js";
import { AnnotationSet, itemFromStored, newKey } from "./viewer/annotation-set.js";
import { Annotator } from "./viewer/annotator.js";
import { describe, sliceOf } from "./viewer/guideline-panel.js";
import { ImageCache } from "./viewer/image-cache.js";
import { drawOverlays } from "./viewer/overlays.js";
import { instanceSource } from "./viewer/sources.js";
import { SliceViewer } from "./viewer/viewer.js";

export async function render(container) {
  container.append(h("h1", { text: "Adjudication queue" }));
  let answer;
  try {
    answer = await get("/api/adjudication/queue");
  } catch (error) {
    showError(error);
    return;
  }
  const tasks = answer.tasks || [];
  if (!tasks.length) {
    container.append(h("p", { class: "empty", text: "No task is waiting for adjudication." }));
    return;
  }
  container.append(
    h("ul", { class: "queue" }, tasks.map((task) =>
      h("li", {},
        h("a", { href: `#/adjudication/${task.id}`, text: `${task.description || `Task ${task.id}`} (${task.project})` }),
        ` — readers: ${(task.readers || []).map((r) => r.username).join(", ")}`),
    )),
  );
}

function figureText(figure, labels) {
  const label = labels.find((l) => l.name === figure.label);
  const value = figure.value === null || figure.value === undefined ? "n/a" : Number(figure.value).toFixed(2);
  const threshold = label?.adjudication_threshold;
  return {
    text: `${figure.label}: ${figure.metric} ${value}${threshold !== undefined ? ` (threshold ${threshold})` : ""}`,
    below: threshold !== undefined && figure.value !== null && figure.value < threshold,
  };
}

export async function renderTask(container, params) {
  let task;
  try {
    task = await get(`/api/tasks/${encodeURIComponent(params.id)}/adjudication`);
  } catch (error) {
    showError(error);
    container.append(h("p", {}, h("a", { href: "#/adjudication", text: "Back to the adjudication queue" })));
    return undefined;
  }
  const guideline = guidelineOf(task);
  const labels = guideline.labels || [];
  const slices = task.slices || [];
  const source = instanceSource(task.study_instance_uid, task.series_instance_uid, slices);
  const cache = new ImageCache(source.urlFor);
  const readers = Object.entries(task.readers_annotations || {});
  const viewers = [];
  let syncing = false;

  const final = new AnnotationSet(task.id, (index) => slices[index]);
  const resolve = h("button", { type: "button", class: "primary", text: "Resolve with the final annotations" });
  const annotator = new Annotator({
    source,
    study: task.study_instance_uid,
    series: task.series_instance_uid,
    guideline,
    set: final,
    cache,
    label: "Final annotations",
    onSave: () => resolve.click(),
  });
  viewers.push(annotator.viewer);

  const cards = readers.map(([reader, annotations]) => {
    const items = annotations.filter((a) => !a.deleted).map((a) => itemFromStored(newKey(), a));
    const viewer = new SliceViewer(source, {
      label: `Reader ${reader}`,
      cache,
      overlay: (ctx, vp, v) =>
        drawOverlays(ctx, { items, slice: v.index, labels, selectedKey: null, size: source.sizeOf(v.index), spacing: source.spacingOf(v.index) }, vp.scale()),
    });
    viewers.push(viewer);
    const accept = h("button", { type: "button", text: `Accept ${reader}'s annotations` });
    accept.addEventListener("click", () => {
      final.commit(items.map((item) => ({ ...item, key: newKey() })));
      announce(`Final annotations now ${reader}'s`);
    });
    return h(
      "section",
      { class: "reader", "aria-label": `Reader ${reader}` },
      h("h2", { text: `Reader ${reader}` }),
      viewer.element,
      h("ul", { class: "annotation-list" }, items.length ? items.map((i) => h("li", { text: describe(i) })) : h("li", { text: "No annotations" })),
      accept,
    );
  });

  // Start where the readers drew, then keep slice, window and zoom/pan in step on every viewer.
  const drawnSlices = readers
    .flatMap(([, annotations]) => annotations.map((a) => sliceOf(itemFromStored("probe", a))))
    .filter((slice) => slice !== null);
  if (drawnSlices.length) {
    const first = Math.min(...drawnSlices);
    for (const viewer of viewers) viewer.setSlice(first, { silent: true });
  }
  for (const viewer of viewers) {
    viewer.addEventListener("slice", (event) => {
      if (syncing) return;
      syncing = true;
      for (const other of viewers) if (other !== viewer) other.setSlice(event.detail, { silent: true });
      syncing = false;
    });
    viewer.addEventListener("window", (event) => {
      if (syncing) return;
      syncing = true;
      for (const other of viewers) if (other !== viewer) other.setWindow(event.detail, { silent: true });
      syncing = false;
    });
    viewer.addEventListener("view", (event) => {
      if (syncing) return;
      syncing = true;
      for (const other of viewers) if (other !== viewer) other.setView(event.detail);
      syncing = false;
    });
  }

  resolve.addEventListener("click", async () => {
    resolve.disabled = true;
    try {
      const payloads = final.items.map((item) => final.payload(item));
      const consensus = await post(`/api/tasks/${encodeURIComponent(task.id)}/adjudication`, { annotations: payloads });
      announce(`Task resolved: ${consensus.status}`);
      replace(container, h("h1", { text: "Adjudication recorded" }),
        h("p", { role: "status", class: "resolved", text: `Task ${task.id} is now ${consensus.status}, with ${consensus.labels?.length ?? 0} labels in its consensus.` }),
        h("a", { href: "#/adjudication", text: "Back to the adjudication queue" }));
      window.setTimeout(() => navigate("#/adjudication"), 4000);
    } catch (error) {
      showError(error);
    } finally {
      resolve.disabled = false;
    }
  });

  // The label-level figures (mean_<metric>, compared with the threshold) first; pairs folded away.
  const all = task.agreement || [];
  const means = all.filter((f) => String(f.metric).startsWith("mean_"));
  const figures = (means.length ? means : all).map((f) => figureText(f, labels));
  const pairs = means.length ? all.filter((f) => !means.includes(f)) : [];
  container.append(
    h("div", { class: "page-head" },
      h("h1", { text: `Adjudicate: ${task.description || `task ${task.id}`}` }),
      h("span", { class: "spacer" }), resolve, shortcutsHelp()),
    h("section", { "aria-label": "Agreement" },
      h("div", { class: "agreement" }, figures.length
        ? figures.map((f) => h("span", { class: f.below ? "figure below" : "figure", text: f.below ? `${f.text} — below` : f.text }))
        : h("span", { class: "muted", text: "No agreement figures." })),
      pairs.length
        ? h("details", { class: "small" }, h("summary", { text: "Per reader pair" }),
          h("ul", {}, pairs.map((f) => h("li", { text: `${figureText(f, labels).text.replace(/ \(threshold.*\)$/, "")} · ${(f.readers || []).join(" vs ")}` }))))
        : null),
    h("div", { class: "readers" }, cards),
    h("h2", { text: "Final annotations" }),
    h("p", { class: "muted small", text: "Accept one reader's annotations above, then edit them, or draw your own. Viewers scroll, window and zoom together." }),
    h("div", { class: "final" }, annotator.element),
  );
  const unbind = bindShortcuts(annotator);
  window.harmoniaViewer = annotator;
  return () => {
    unbind();
    for (const viewer of viewers) viewer.destroy();
    if (window.harmoniaViewer === annotator) window.harmoniaViewer = null;
  };
}
