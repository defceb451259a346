// The quality dashboard. Placeholder: another part of the UI work replaces this module's body;
// keep the exported render(container, params) signature.

import { get } from "./api.js";
import { h } from "./dom.js";

export async function render(container, params = {}) {
  container.append(h("h1", { text: "Quality dashboard" }));
  const project = params.project;
  if (!project) {
    container.append(h("p", { text: "No quality data yet. Open #/dashboard/PROJECT for a project's figures." }));
    return;
  }
  try {
    const data = await get(`/api/quality/${encodeURIComponent(project)}`);
    container.append(h("pre", { class: "raw", text: JSON.stringify(data, null, 2) }));
  } catch {
    container.append(h("p", { text: "No quality data yet" }));
  }
}
