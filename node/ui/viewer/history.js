// An annotation's revision history (append-only on the node): the list, and what changed
// between its first and latest revision.

import { get, showError } from "../api.js";
import { h, replace } from "../dom.js";

function when(iso) {
  return iso ? iso.replace("T", " ").slice(0, 16) : "";
}

function value(v) {
  const text = JSON.stringify(v);
  return text && text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

/** Show the history of annotation `aid` in `container`. */
export async function showHistory(container, aid) {
  replace(container, h("p", { class: "muted small", text: "Loading the history…" }));
  try {
    const { revisions } = await get(`/api/annotations/${encodeURIComponent(aid)}/revisions`);
    const items = revisions.map((r) =>
      h("li", { text: `r${r.revision} · ${r.author} · ${when(r.created_at)}${r.tombstone ? " · deleted" : ""}` }),
    );
    const parts = [h("ol", { class: "history small", "aria-label": "Revisions" }, items)];
    if (revisions.length > 1) {
      const last = revisions[revisions.length - 1].revision;
      const diff = await get(`/api/annotations/${encodeURIComponent(aid)}/diff?from=1&to=${last}`);
      const changes = (diff.changes || []).map((c) => h("li", { text: `${c.path}: ${value(c.from)} → ${value(c.to)}` }));
      for (const [slice, counts] of Object.entries(diff.mask || {})) {
        changes.push(h("li", { text: `mask slice ${Number(slice) + 1}: +${counts.added} / −${counts.removed} pixels` }));
      }
      parts.push(
        h("p", { class: "small", text: `Changes from r1 to r${last}:` }),
        h("ul", { class: "history small" }, changes.length ? changes : h("li", { text: "none" })),
      );
    }
    replace(container, ...parts);
  } catch (error) {
    replace(container);
    showError(error);
  }
}
