// Rendering a guideline diff (GET /api/v1/guidelines/{name}/diff, or a draft's diff against the
// newest release): labels added, removed and changed, field by field, and what needs re-review.

import { h } from "./common/dom.js";

function show(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function changeList(changes) {
  return h("ul", { class: "changes" }, changes.map((c) => h("li", { dataset: { group: c.group || "" } },
    h("strong", { text: `${c.field}` }),
    c.group ? h("span", { class: "muted", text: ` (${c.group})` }) : null,
    ": ",
    h("del", { text: show(c.from) }),
    " → ",
    h("ins", { text: show(c.to) }))));
}

/** The diff as a list a person reads top to bottom. */
export function renderDiff(diff) {
  const labels = diff.labels;
  const parts = [
    h("p", { class: "diff-title", text: `${diff.name}: ${diff.from} → ${diff.to}` }),
  ];
  const nothing = !labels.added.length && !labels.removed.length && !labels.changed.length && !diff.guideline.length;
  if (nothing) parts.push(h("p", { class: "empty", text: "No difference in labels or guideline fields." }));
  if (labels.added.length) parts.push(h("p", {}, h("strong", { text: "Labels added: " }), labels.added.join(", ")));
  if (labels.removed.length) parts.push(h("p", {}, h("strong", { text: "Labels removed: " }), labels.removed.join(", ")));
  for (const change of labels.changed) {
    const categories = change.categories;
    parts.push(h("div", { class: "label-change" },
      h("h3", { text: `Label ${change.label}${change.meaning_changed ? " — meaning changed" : ""}` }),
      change.changes.length ? changeList(change.changes) : null,
      categories.added.length ? h("p", { text: `Categories added: ${categories.added.join(", ")}` }) : null,
      categories.removed.length ? h("p", { text: `Categories removed: ${categories.removed.join(", ")}` }) : null,
      categories.changed.map((c) => h("div", {}, h("p", { text: `Category ${c.code}:` }), changeList(c.changes)))));
  }
  if (diff.guideline.length) parts.push(h("h3", { text: "Guideline fields" }), changeList(diff.guideline));
  parts.push(h("p", { class: diff.rereview_labels.length ? "warn" : "muted" },
    diff.rereview_labels.length
      ? `Re-review needed on: ${diff.rereview_labels.join(", ")} (nodes flag the annotations this touches).`
      : "No label's meaning changed: existing annotations stay valid."));
  return h("div", { class: "diff", id: "diff-result" }, parts);
}
