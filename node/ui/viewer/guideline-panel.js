// The side panel: the guideline's labels (definitions, criteria, categories, rules),
// classification choices, "cannot assess", the confidence picker, the comment, and the list of
// the reader's annotations. Built once; `refresh()` updates values so keyboard focus stays put.

import { field, h, replace, uniqueId } from "../dom.js";
import { showHistory } from "./history.js";
import { colorFor } from "./overlays.js";

const KIND_NAMES = {
  classification: "classification",
  box: "box",
  polygon: "polygon",
  mask: "brush mask",
  keypoint: "keypoint",
  length: "length",
};

export class GuidelinePanel {
  /**
   * host: {set, guideline, currentLabel(), setLabel(name), selected(), select(key),
   *        goToSlice(n), defaults(), setDefaultConfidence(n), readOnly}
   */
  constructor(host) {
    this.host = host;
    const { guideline } = host;
    this.labels = guideline.labels || [];
    this.scale = guideline.confidence || { minimum: 1, maximum: 5, labels: {} };
    this.element = h("aside", { class: "panel", "aria-label": "Guideline and annotations" });
    this.labelRadios = new Map();
    this.classSelects = new Map();
    this.cannotBoxes = new Map();
    this.build();
  }

  build() {
    const { guideline } = this.host;
    const drawn = this.labels.filter((label) => label.kind !== "classification");
    const classified = this.labels.filter((label) => label.kind === "classification");
    const group = uniqueId("label");
    this.element.append(
      h(
        "details",
        { class: "about" },
        h("summary", {}, h("strong", { text: guideline.title || guideline.name }), h("span", { class: "muted", text: ` · v${guideline.version}` })),
        h("p", { class: "muted small", text: `Guideline ${guideline.name} version ${guideline.version}` }),
        guideline.description ? h("p", { class: "small", text: guideline.description }) : null,
      ),
    );
    if (drawn.length) {
      this.element.append(
        h(
          "fieldset",
          { class: "labels" },
          h("legend", { text: "Label to draw" }),
          drawn.map((label) => {
            const radio = h("input", { type: "radio", name: group, value: label.name, id: uniqueId("lbl") });
            radio.addEventListener("change", () => this.host.setLabel(label.name));
            this.labelRadios.set(label.name, radio);
            const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
            swatch.style.background = colorFor(label.name, this.labels);
            return h(
              "div",
              { class: "label-row" },
              h(
                "div",
                { class: "label-line" },
                radio,
                h("label", { for: radio.id }, swatch, ` ${label.name} `, h("span", { class: "muted", text: `(${KIND_NAMES[label.kind] || label.kind})` }),
                  label.required ? h("span", { class: "required", text: " required" }) : null),
                this.cannotAssess(label),
              ),
              this.definition(label),
            );
          }),
        ),
      );
    }
    if (classified.length) {
      this.element.append(
        h(
          "fieldset",
          { class: "labels" },
          h("legend", { text: "Classification" }),
          classified.map((label) => {
            const select = h(
              "select",
              { name: label.name },
              h("option", { value: "", text: "— not set —" }),
              (label.categories || []).map((c) => h("option", { value: c.code, text: `${c.code} — ${c.meaning}` })),
            );
            select.disabled = this.host.readOnly;
            select.addEventListener("change", () => this.setClassification(label, select.value));
            this.classSelects.set(label.name, select);
            return h(
              "div",
              { class: "label-row" },
              field(`${label.name}${label.required ? " (required)" : ""}`, select),
              this.cannotAssess(label),
              this.definition(label),
            );
          }),
        ),
      );
    }
    this.confidenceGroup = uniqueId("confidence");
    this.confidenceRadios = [];
    const choices = [];
    for (let value = this.scale.minimum; value <= this.scale.maximum; value += 1) {
      const radio = h("input", { type: "radio", name: this.confidenceGroup, value: String(value), id: uniqueId("conf") });
      radio.disabled = this.host.readOnly;
      radio.addEventListener("change", () => this.setConfidence(value));
      this.confidenceRadios.push(radio);
      const meaning = this.scale.labels?.[String(value)];
      choices.push(h("span", { class: "choice" }, radio, h("label", { for: radio.id, text: meaning ? `${value} ${meaning}` : String(value) })));
    }
    this.selectionTitle = h("p", { class: "small" });
    this.comment = h("textarea", { rows: "2", maxlength: "4000" });
    this.comment.disabled = this.host.readOnly;
    this.comment.addEventListener("change", () => {
      const item = this.host.selected();
      if (item && item.comment !== this.comment.value) this.host.set.update(item.key, { comment: this.comment.value });
    });
    this.historyBox = h("div", { class: "history-box", "aria-live": "polite" });
    this.historyButton = h("button", { type: "button", text: "History" });
    this.historyButton.addEventListener("click", () => {
      const aid = this.selectedServerId();
      if (aid !== null) showHistory(this.historyBox, aid);
    });
    this.deleteButton = h("button", { type: "button", text: "Delete annotation" });
    this.deleteButton.addEventListener("click", () => {
      const item = this.host.selected();
      if (item) {
        this.host.set.remove(item.key);
        this.host.select(null);
      }
    });
    // Right under the guideline's title: what is selected, its confidence and comment.
    this.element.insertBefore(
      h(
        "section",
        { class: "selection", "aria-label": "Selected annotation" },
        h("h3", { text: "Selected annotation" }),
        this.selectionTitle,
        h("fieldset", { class: "confidence" }, h("legend", { text: "Confidence (keys 1–5)" }), choices),
        field("Comment", this.comment),
        h("div", { class: "buttons" }, this.historyButton, this.host.readOnly ? null : this.deleteButton),
        this.historyBox,
      ),
      this.element.children[1] || null,
    );
    this.list = h("ul", { class: "annotation-list", "aria-label": "My annotations" });
    this.element.append(h("h3", { text: "Annotations" }), this.list);
  }

  cannotAssess(label) {
    const box = h("input", { type: "checkbox", id: uniqueId("cna") });
    box.disabled = this.host.readOnly;
    box.addEventListener("change", () => {
      const { set } = this.host;
      const existing = set.items.find((i) => i.label === label.name && i.cannot_assess && !i.geometry);
      if (box.checked && !existing) {
        set.add({ label: label.name, kind: label.kind, cannot_assess: true, geometry: null, ...this.host.defaults() });
      } else if (!box.checked && existing) set.remove(existing.key);
    });
    this.cannotBoxes.set(label.name, box);
    return h("span", { class: "choice small" }, box, h("label", { for: box.id, text: "Cannot assess" }));
  }

  definition(label) {
    const parts = [h("p", { text: label.definition })];
    if (label.criteria) parts.push(h("p", {}, h("strong", { text: "Criteria: " }), label.criteria));
    if (label.categories?.length) {
      parts.push(
        h("dl", { class: "categories" }, label.categories.flatMap((c) => [
          h("dt", { text: c.code }),
          h("dd", { text: c.definition ? `${c.meaning}: ${c.definition}` : c.meaning }),
        ])),
      );
    }
    if (label.boundary_rules) parts.push(h("p", {}, h("strong", { text: "Boundary rules: " }), label.boundary_rules));
    if (label.edge_cases?.length) {
      parts.push(h("p", {}, h("strong", { text: "Edge cases:" })), h("ul", {}, label.edge_cases.map((e) => h("li", { text: e }))));
    }
    if (label.examples?.length) {
      parts.push(h("p", {}, h("strong", { text: "Examples: " }), label.examples.join("; ")));
    }
    return h("details", { class: "definition" }, h("summary", { text: `Definition of ${label.name}` }), parts);
  }

  setClassification(label, value) {
    const { set } = this.host;
    const existing = set.items.find((i) => i.label === label.name && i.kind === "classification" && i.geometry);
    if (!value && existing) set.remove(existing.key);
    else if (value && existing) {
      set.update(existing.key, { geometry: { value } });
      this.host.select(existing.key); // the confidence picker now applies to it
    } else if (value) {
      const created = set.add({ label: label.name, kind: "classification", geometry: { value }, ...this.host.defaults() });
      this.host.select(created.key);
    }
  }

  setConfidence(value) {
    const item = this.host.selected();
    this.host.setDefaultConfidence(value);
    if (item && item.confidence !== value) this.host.set.update(item.key, { confidence: value });
    this.refresh();
  }

  /** Sync every control with the annotation set and the selection. */
  refresh() {
    const { set } = this.host;
    const current = this.host.currentLabel();
    for (const [name, radio] of this.labelRadios) radio.checked = name === current;
    for (const [name, select] of this.classSelects) {
      const item = set.items.find((i) => i.label === name && i.kind === "classification" && i.geometry);
      select.value = item ? item.geometry.value : "";
    }
    for (const [name, box] of this.cannotBoxes) {
      box.checked = set.items.some((i) => i.label === name && i.cannot_assess && !i.geometry);
    }
    const selected = this.host.selected();
    const confidence = selected ? selected.confidence : this.host.defaults().confidence;
    for (const radio of this.confidenceRadios) radio.checked = Number(radio.value) === confidence;
    this.selectionTitle.textContent = selected ? describe(selected) : "None — the confidence applies to new annotations.";
    if (document.activeElement !== this.comment) this.comment.value = selected?.comment || "";
    this.comment.disabled = this.host.readOnly || !selected;
    this.deleteButton.disabled = !selected;
    this.historyButton.disabled = this.selectedServerId() === null;
    if (this.historyKey !== selected?.key) {
      this.historyKey = selected?.key;
      replace(this.historyBox);
    }
    this.refreshList(selected);
  }

  /** The node's id of the selected annotation, or null while it is unsaved. */
  selectedServerId() {
    const selected = this.host.selected();
    const entry = selected ? this.host.set.server.get(selected.key) : null;
    return entry?.aid ?? null;
  }

  refreshList(selected) {
    const focusedKey = document.activeElement?.dataset?.key;
    const items = this.host.set.items;
    replace(
      this.list,
      items.length
        ? items.map((item) => {
            const button = h("button", {
              type: "button",
              class: item === selected ? "link selected" : "link",
              dataset: { key: item.key },
              "aria-pressed": item === selected ? "true" : "false",
              text: describe(item),
            });
            button.addEventListener("click", () => {
              this.host.select(item.key);
              const slice = sliceOf(item);
              if (slice !== null) this.host.goToSlice(slice);
            });
            return h("li", {}, button);
          })
        : h("li", { class: "muted", text: "None yet." }),
    );
    if (focusedKey) this.list.querySelector(`[data-key="${focusedKey}"]`)?.focus();
  }
}

export function sliceOf(item) {
  const g = item.geometry;
  if (!g) return null;
  if (g.slice !== undefined) return g.slice;
  if (g.masks) {
    const slices = Object.keys(g.masks).map(Number).sort((a, b) => a - b);
    return slices.length ? slices[0] : null;
  }
  return null;
}

export function describe(item) {
  const parts = [item.label, KIND_NAMES[item.kind] || item.kind];
  if (item.cannot_assess && !item.geometry) parts.push("cannot assess");
  else if (item.kind === "classification") parts.push(`= ${item.geometry.value}`);
  else if (item.kind === "mask") {
    const slices = Object.keys(item.geometry.masks).map((s) => Number(s) + 1);
    parts.push(`slice${slices.length > 1 ? "s" : ""} ${slices.sort((a, b) => a - b).join(", ")}`);
  } else if (item.geometry?.slice !== undefined) parts.push(`slice ${item.geometry.slice + 1}`);
  if (item.confidence) parts.push(`confidence ${item.confidence}`);
  return parts.join(" · ");
}
