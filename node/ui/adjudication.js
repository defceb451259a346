import { h } from "./dom.js";
export async function render(container) { container.append(h("h1", { text: "adjudication" })); }
export async function renderTask(container) { container.append(h("h1", { text: "adjudication" })); }
