// The viewer's toolbar: tools, plane, window preset, zoom, brush size, undo/redo, save and the
// save state. Every control is a labelled native control, so it works by keyboard alone.

import { h, uniqueId } from "../dom.js";
import { PLANES } from "./sources.js";
import { TOOLS } from "./tools.js";
import { PRESETS } from "./windowing.js";

export const SAVE_TEXT = {
  saved: "Saved",
  unsaved: "Unsaved changes",
  saving: "Saving…",
  failed: "Save failed",
};

/** `actions`: {tool(name), plane(name), preset(value), zoom(factor|0), brush(delta), undo, redo, save} */
export function buildToolbar(actions, { readOnly = false, kinds = new Set(), saving = true } = {}) {
  const toolButtons = new Map();
  const tools = h(
    "div",
    { class: "toolgroup", role: "toolbar", "aria-label": "Annotation tools" },
    TOOLS.filter((tool) => !tool.kind || kinds.has(tool.kind))
      .filter((tool) => !readOnly || tool.name === "select")
      .map((tool) => {
        const button = h("button", {
          type: "button",
          class: "tool",
          "aria-pressed": "false",
          "aria-keyshortcuts": tool.key.toUpperCase(),
          title: `${tool.label} (${tool.key.toUpperCase()})`,
          "aria-label": `${tool.label} (${tool.key.toUpperCase()})`,
          dataset: { tool: tool.name },
          text: `${tool.label} `,
        }, h("kbd", { text: tool.key.toUpperCase() }));
        button.addEventListener("click", () => actions.tool(tool.name));
        toolButtons.set(tool.name, button);
        return button;
      }),
  );

  const planeName = uniqueId("plane");
  const planeRadios = new Map();
  const planes = h(
    "fieldset",
    { class: "toolgroup planes" },
    h("legend", { class: "visually-hidden", text: "Plane" }),
    PLANES.map((plane) => {
      const radio = h("input", { type: "radio", name: planeName, value: plane, id: uniqueId("pl") });
      radio.addEventListener("change", () => actions.plane(plane));
      planeRadios.set(plane, radio);
      return h("span", { class: "choice" }, radio, h("label", { for: radio.id, text: plane[0].toUpperCase() + plane.slice(1) }));
    }),
  );

  const preset = h(
    "select",
    { id: uniqueId("preset"), "aria-label": "Window preset" },
    h("option", { value: "", text: "File window" }),
    PRESETS.map((p) => h("option", { value: p.name, text: `${p.label} (W ${p.width} L ${p.center})` })),
    h("option", { value: "custom", text: "Custom (right-drag)", disabled: true }),
  );
  preset.addEventListener("change", () => actions.preset(preset.value));

  const zoom = h(
    "div",
    { class: "toolgroup", role: "group", "aria-label": "Zoom" },
    button("−", "Zoom out (-)", () => actions.zoom(1 / 1.25)),
    button("+", "Zoom in (+)", () => actions.zoom(1.25)),
    button("Fit", "Fit to window (0)", () => actions.zoom(0)),
  );

  const brush = h("input", { type: "number", min: "1", max: "60", value: "6", id: uniqueId("brush"), class: "narrow" });
  brush.addEventListener("change", () => actions.brush(0));

  const interpolate = h("input", { type: "checkbox", id: uniqueId("interp") });
  interpolate.addEventListener("change", () => actions.interpolate(interpolate.checked));

  const undo = button("Undo", "Undo (Ctrl+Z)", actions.undo);
  const redo = button("Redo", "Redo (Ctrl+Shift+Z)", actions.redo);
  const save = button("Save", "Save (Ctrl+S)", actions.save, "primary");
  const state = h("span", { class: "save-state", role: "status", "aria-live": "polite", id: "save-state", text: "Saved" });

  const element = h(
    "div",
    { class: "toolbar" },
    readOnly ? null : tools,
    planes,
    h("span", { class: "toolgroup" }, preset),
    zoom,
    readOnly
      ? null
      : h(
          "span",
          { class: "toolgroup" },
          h("label", { for: brush.id, text: "Brush size" }),
          brush,
          h("span", { class: "choice" }, interpolate, h("label", { for: interpolate.id, text: "Interpolate key slices" })),
        ),
    readOnly ? null : h("span", { class: "toolgroup" }, undo, redo, saving ? save : null, saving ? state : null),
  );

  return {
    element,
    setTool(name) {
      for (const [toolName, b] of toolButtons) b.setAttribute("aria-pressed", String(toolName === name));
    },
    setPlane(name) {
      for (const [planeName2, radio] of planeRadios) radio.checked = planeName2 === name;
    },
    setPreset(value) {
      preset.value = value;
    },
    brushSize: () => Math.max(1, Math.min(60, Number(brush.value) || 6)),
    setBrushSize(value) {
      brush.value = String(Math.max(1, Math.min(60, value)));
    },
    setInterpolate(value) {
      interpolate.checked = Boolean(value);
    },
    setSaveState(kind, reason, canUndo, canRedo) {
      state.textContent = kind === "failed" ? `${SAVE_TEXT.failed}: ${reason}` : SAVE_TEXT[kind];
      state.dataset.state = kind;
      save.disabled = kind === "saving";
      undo.disabled = !canUndo;
      redo.disabled = !canRedo;
    },
  };
}

function button(text, title, onClick, className = "") {
  const b = h("button", { type: "button", class: className, "aria-label": title, title, text });
  b.addEventListener("click", onClick);
  return b;
}
