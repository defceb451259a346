// The annotator: a slice viewer, the drawing tools, the guideline panel and the toolbar,
// tied together with the keyboard shortcuts. With `set` omitted it is a plain image viewer.

import { announce, showError } from "../api.js";
import { h } from "../dom.js";
import { GuidelinePanel } from "./guideline-panel.js";
import { drawOverlays, hitTest } from "./overlays.js";
import { mprSource } from "./sources.js";
import { buildToolbar } from "./toolbar.js";
import { handleKey } from "./keyboard.js";
import { TOOLS, ToolController } from "./tools.js";
import { SliceViewer } from "./viewer.js";

export class Annotator {
  /**
   * options: {source (axial), series, study, guideline, set (AnnotationSet) or null,
   *           readOnly, cacheOptions, label, decorate (ctx, scene, scale) drawn after the set}
   */
  constructor(options) {
    this.options = options;
    this.axial = options.source;
    this.set = options.set || null;
    this.readOnly = options.readOnly || !this.set;
    this.guideline = options.guideline || { labels: [], confidence: { minimum: 1, maximum: 5 } };
    this.labels = this.guideline.labels || [];
    this.plane = "axial";
    this.selectedKey = null;
    this.draft = null;
    this.cursor = null; // keyboard cursor in image coordinates, when the canvas has focus
    this.keyPressed = false; // Space held as a press of the keyboard cursor
    this.confidence = null;
    this.interpolate = false;
    this.label = this.labels.find((l) => l.kind !== "classification")?.name || null;

    this.viewer = new SliceViewer(this.axial, {
      label: options.label || "Image",
      overlay: (ctx, vp) => this.drawOverlay(ctx, vp),
      cacheOptions: options.cacheOptions,
      cache: options.cache || null,
    });
    this.viewer.addEventListener("error", (event) => showError(event.detail));
    this.viewer.addEventListener("slice", () => {
      this.tools?.cancel();
      this.panel?.refresh();
    });
    const kinds = new Set(this.labels.map((l) => l.kind));
    this.toolbar = buildToolbar(
      {
        tool: (name) => this.setTool(name),
        plane: (name) => this.setPlane(name),
        preset: (value) => this.viewer.setWindow(value ? { preset: value } : null),
        zoom: (factor) => (factor ? this.viewer.zoomBy(factor) : this.viewer.resetView()),
        brush: () => this.viewer.redraw(),
        interpolate: (value) => this.setInterpolate(value),
        undo: () => this.undo(),
        redo: () => this.redo(),
        save: () => this.save(),
      },
      { readOnly: this.readOnly, kinds, saving: !options.onSave },
    );
    this.viewer.addEventListener("window", (event) => {
      this.toolbar.setPreset(event.detail?.preset || (event.detail ? "custom" : ""));
    });
    this.toolbar.setPlane("axial");

    if (this.set) {
      this.tools = new ToolController(this.toolHost());
      this.panel = new GuidelinePanel(this.panelHost());
      this.set.addEventListener("change", () => this.onSetChange());
      this.setTool(this.readOnly ? "select" : TOOLS.find((t) => t.kind && kinds.has(t.kind))?.name || "select");
    }
    this.element = h(
      "div",
      { class: "annotator" },
      this.toolbar.element,
      h("div", { class: "annotator-body" }, this.viewer.element, this.panel ? this.panel.element : null),
    );
    this.bindCanvasKeys();
    this.onSetChange();
  }

  destroy() {
    this.viewer.destroy();
  }

  // ----- hosts for the tool controller and the panel -----
  toolHost() {
    return {
      set: this.set,
      slice: () => this.viewer.index,
      size: () => this.axial.sizeOf(this.viewer.index),
      labelFor: (kind) => this.labelFor(kind),
      brushRadius: () => this.toolbar.brushSize(),
      defaults: () => this.defaults(),
      select: (key) => this.select(key),
      selectedKey: () => this.selectedKey,
      hit: (point, tolerancePx) =>
        hitTest(this.set.items, point, this.viewer.index, tolerancePx / this.viewer.viewport.scale(),
          this.axial.sizeOf(this.viewer.index).columns),
      scale: () => this.viewer.viewport.scale(),
      redraw: () => this.viewer.redraw(),
      setDraft: (item) => {
        this.draft = item;
        this.viewer.redraw();
      },
      pan: (dx, dy) => {
        this.viewer.viewport.panBy(dx, dy);
        this.viewer.emitView(); // synchronized viewers pan along
      },
      message: (text) => announceAndShow(text),
    };
  }

  panelHost() {
    return {
      set: this.set,
      guideline: this.guideline,
      readOnly: this.readOnly,
      currentLabel: () => this.label,
      setLabel: (name) => {
        this.label = name;
        const kind = this.labels.find((l) => l.name === name)?.kind;
        const tool = TOOLS.find((t) => t.kind === kind);
        if (tool && this.tools.tool !== tool.name) this.setTool(tool.name, { keepLabel: true });
      },
      selected: () => (this.selectedKey ? this.set.find(this.selectedKey) : null),
      select: (key) => this.select(key),
      goToSlice: (index) => this.viewer.setSlice(index),
      defaults: () => this.defaults(),
      setDefaultConfidence: (value) => {
        this.confidence = value;
      },
    };
  }

  defaults() {
    return { confidence: this.confidence };
  }

  labelFor(kind) {
    const current = this.labels.find((l) => l.name === this.label);
    if (current && current.kind === kind) return current.name;
    return this.labels.find((l) => l.kind === kind)?.name || null;
  }

  // ----- actions -----
  setTool(name, { keepLabel = false } = {}) {
    if (!this.tools) return;
    if (this.readOnly && name !== "select") return;
    const tool = TOOLS.find((t) => t.name === name);
    if (!tool) return;
    if (tool.kind && !keepLabel) {
      const label = this.labelFor(tool.kind);
      if (!label) {
        announceAndShow(`The guideline has no ${tool.kind} label; the ${tool.label} tool is not available.`);
        return;
      }
      this.label = label;
    }
    this.tools.setTool(name);
    this.toolbar.setTool(name);
    this.viewer.canvas.dataset.tool = name;
    this.panel?.refresh();
    this.viewer.redraw();
  }

  async setPlane(plane) {
    if (plane === this.plane) return;
    try {
      const source =
        plane === "axial"
          ? this.axial
          : await mprSource(this.options.series, plane, this.options.study, this.axial.firstSop);
      if (this.plane === "axial") this.axialIndex = this.viewer.index; // come back to it
      this.plane = plane;
      this.tools?.cancel();
      this.viewer.pointer = plane === "axial" && this.tools ? this.pointerHandlers() : null;
      this.viewer.index = plane === "axial" ? (this.axialIndex ?? 0) : Math.floor(source.count / 2);
      this.viewer.setSource(source);
      this.toolbar.setPlane(plane);
      announce(plane === "axial" ? "Axial plane" : `${plane} plane: annotations are drawn on the axial plane`);
    } catch (error) {
      this.toolbar.setPlane(this.plane);
      showError(error);
    }
  }

  setInterpolate(value) {
    this.interpolate = value;
    const mask = this.set?.items.find((i) => i.kind === "mask" && i.label === this.labelFor("mask"));
    if (mask && mask.geometry.interpolate !== value) {
      this.set.update(mask.key, { geometry: { ...mask.geometry, interpolate: value } });
    }
  }

  select(key) {
    this.selectedKey = key;
    this.panel?.refresh();
    this.viewer.redraw();
  }

  undo() {
    this.tools?.cancel();
    if (this.set?.undo()) announce("Undone");
  }

  redo() {
    this.tools?.cancel();
    if (this.set?.redo()) announce("Redone");
  }

  async save() {
    if (this.options.onSave) return this.options.onSave();
    if (!this.set || this.readOnly) return true;
    const ok = await this.set.save();
    announce(ok ? "Saved" : `Save failed: ${this.set.failure}`);
    return ok;
  }

  onSetChange() {
    if (!this.set) return;
    if (this.selectedKey && !this.set.find(this.selectedKey)) this.selectedKey = null;
    const mask = this.set.items.find((i) => i.kind === "mask" && i.label === this.labelFor("mask"));
    if (mask) this.toolbar.setInterpolate(mask.geometry.interpolate);
    this.toolbar.setSaveState(
      this.set.state(),
      this.set.failure,
      this.set.undoStack.length > 0,
      this.set.redoStack.length > 0,
    );
    this.panel?.refresh();
    this.viewer.redraw();
  }

  pointerHandlers() {
    return {
      down: (point, screen) => this.tools.press(point, screen),
      move: (point, screen) => {
        this.cursor = point; // the brush outline follows the mouse, and Space clicks there
        this.tools.move(point, screen);
        if (this.tools.tool === "brush" || this.tools.tool === "eraser") this.viewer.redraw();
      },
      up: (point) => this.tools.release(point),
      dblclick: () => {
        if (this.tools.tool === "polygon") this.tools.finishPolygon();
      },
    };
  }

  drawOverlay(ctx, viewport) {
    if (!this.set || this.plane !== "axial") return;
    const index = this.viewer.index;
    const scene = {
      items: this.set.items,
      slice: index,
      labels: this.labels,
      selectedKey: this.selectedKey,
      size: this.axial.sizeOf(index),
      spacing: this.axial.spacingOf(index),
      draft: this.draft,
      cursor: null,
    };
    if (this.cursor && document.activeElement === this.viewer.canvas) {
      const radius = this.tools.tool === "brush" || this.tools.tool === "eraser" ? this.toolbar.brushSize() : 3;
      scene.cursor = { ...this.cursor, radius };
    }
    drawOverlays(ctx, scene, viewport.scale());
    this.options.decorate?.(ctx, scene, viewport.scale()); // e.g. AI drafts (drafts.js)
  }

  // ----- keyboard -----
  bindCanvasKeys() {
    const canvas = this.viewer.canvas;
    canvas.addEventListener("focus", () => {
      if (!this.cursor) {
        const { rows, columns } = this.axial.sizeOf(this.viewer.index);
        this.cursor = { x: columns / 2, y: rows / 2 };
      }
      this.viewer.redraw();
    });
    canvas.addEventListener("blur", () => this.viewer.redraw());
    if (this.tools) this.viewer.pointer = this.pointerHandlers();
  }

  /** Handle a shortcut; returns true when the key was used (see keyboard.js). */
  handleKey(event) {
    return handleKey(this, event);
  }
}

function announceAndShow(text) {
  announce(text);
  showError(text);
}
