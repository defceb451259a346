// Page pieces both dashboards use: a titled card section and a data table (every chart has one
// beside it with the same figures).

import { h, uniqueId } from "./dom.js";

/** A `<section class="card">` headed by an `<h2>` that names it. */
export function section(title, ...children) {
  const id = uniqueId("section");
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id, text: title }), ...children);
}

/**
 * A captioned table. `columns` are `[key, title, format?]`; `format(value, row)` returns text.
 * An empty `rows` shows one cell saying `empty`.
 */
export function table(caption, columns, rows, empty = "No figures yet.") {
  return h("div", { class: "table-wrap" },
    h("table", {},
      h("caption", { class: "muted", text: caption }),
      h("thead", {}, h("tr", {}, columns.map(([, title]) => h("th", { scope: "col", text: title })))),
      h("tbody", {}, rows.length
        ? rows.map((row) => h("tr", {}, columns.map(([key, , format]) => h("td", { text: format ? format(row[key], row) : String(row[key] ?? "—") }))))
        : h("tr", {}, h("td", { colspan: columns.length, class: "empty", text: empty })))));
}
