// A slice viewer: one canvas, a slice slider, window/level, zoom and pan, cached + prefetched
// slices. Tools (left button) are plugged in by the page; the right button sets window/level,
// the middle button pans, the wheel scrolls slices (Ctrl+wheel zooms).

import { h, uniqueId } from "../dom.js";
import { ImageCache } from "./image-cache.js";
import { Viewport } from "./viewport.js";
import { applyTable, dragWindow, numericWindow, remapTable, windowKey } from "./windowing.js";

const STATS_LIMIT = 5000;

/**
 * A source of slices: {count, urlFor(index, windowKey), sizeOf(index) -> {rows, columns},
 * aspect, name}. `options.cache` may share one ImageCache between synchronized viewers.
 */
export class SliceViewer extends EventTarget {
  constructor(source, { label = "Image", overlay = () => {}, cache = null, cacheOptions = {} } = {}) {
    super();
    this.label = label;
    this.index = 0;
    this.direction = 1;
    this.window = null; // null: the file's own window; {preset} or {center, width}
    this.fileWindow = null; // {center, width} of the file, learned lazily for right-drag
    this.requestedAt = 0;
    this.stats = { draws: [], frames: 0 };
    this.pointer = null; // tool callbacks {down, move, up, dblclick}
    this.preview = null;

    this.canvas = h("canvas", {
      class: "viewer-canvas",
      tabindex: "0",
      role: "img",
      "aria-label": `${label}: image viewer`,
    });
    this.slider = h("input", { type: "range", min: "0", max: "0", value: "0", id: uniqueId("slice") });
    this.readout = h("span", { class: "viewer-readout", "aria-live": "off" });
    this.element = h(
      "div",
      { class: "viewer" },
      h("div", { class: "viewer-stage" }, this.canvas),
      h(
        "div",
        { class: "viewer-bar" },
        h("label", { for: this.slider.id, text: "Slice" }),
        this.slider,
        this.readout,
      ),
    );
    this.viewport = new Viewport(this.canvas, (ctx, vp) => overlay(ctx, vp, this));
    this.viewport.onDraw = (time) => this.recordDraw(time);
    this.ownCache = !cache;
    this.cacheOptions = cacheOptions;
    this.cache = cache || new ImageCache(() => "", cacheOptions);
    this.setSource(source);
    this.bindEvents();
  }

  setSource(source) {
    this.source = source;
    if (!this.ownCache && this.cache.urlFor !== source.urlFor) {
      // a shared cache serves one source; another plane gets a cache of its own
      this.cache = new ImageCache(source.urlFor, this.cacheOptions);
      this.ownCache = true;
    }
    if (this.ownCache) {
      this.cache.clear();
      this.cache.urlFor = source.urlFor;
    }
    this.cache.setCount(source.count);
    this.cache.setWindow(windowKey(this.window));
    this.slider.max = String(Math.max(0, source.count - 1));
    this.index = Math.min(this.index, Math.max(0, source.count - 1));
    this.viewport.image = null;
    this.fileWindow = null;
    this.learnFileWindow().catch(() => {}); // so the first right-drag starts from it at once
    this.show(this.index, { force: true });
  }

  destroy() {
    this.viewport.destroy();
  }

  bindEvents() {
    this.slider.addEventListener("input", () => this.setSlice(Number(this.slider.value)));
    this.canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    this.canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        if (event.ctrlKey) {
          this.viewport.zoomBy(event.deltaY < 0 ? 1.15 : 1 / 1.15, event);
          this.emitView();
          return;
        }
        // One slice per mouse-wheel notch (about 100 px); trackpads' small deltas add up.
        const pixels = event.deltaMode === 1 ? event.deltaY * 33 : event.deltaY;
        this.wheelRest = (this.wheelRest || 0) + pixels;
        if (Math.abs(this.wheelRest) < 50) return;
        const steps = Math.sign(this.wheelRest) * Math.max(1, Math.round(Math.abs(this.wheelRest) / 100));
        this.wheelRest = 0;
        this.step(steps);
      },
      { passive: false },
    );
    this.canvas.addEventListener("pointerdown", (event) => this.pointerDown(event));
    this.canvas.addEventListener("pointermove", (event) => this.pointerMove(event));
    this.canvas.addEventListener("pointerup", (event) => this.pointerUp(event));
    this.canvas.addEventListener("pointercancel", (event) => this.pointerUp(event));
    this.canvas.addEventListener("dblclick", (event) => this.pointer?.dblclick?.(this.viewport.toImage(event)));
  }

  screen(event) {
    return { x: event.clientX, y: event.clientY };
  }

  pointerDown(event) {
    this.canvas.focus({ preventScroll: true });
    this.canvas.setPointerCapture(event.pointerId);
    if (event.button === 2) this.startWindowDrag(event);
    else if (event.button === 1) this.drag = { type: "pan", last: this.screen(event) };
    else if (event.button === 0 && this.pointer) {
      this.drag = { type: "tool" };
      this.pointer.down(this.viewport.toImage(event), this.screen(event));
    } else if (event.button === 0) this.drag = { type: "pan", last: this.screen(event) };
  }

  pointerMove(event) {
    const drag = this.drag;
    if (drag?.type === "window-pending") return;
    if (drag?.type === "window") this.moveWindowDrag(event);
    else if (drag?.type === "pan") {
      const at = this.screen(event);
      this.viewport.panBy(at.x - drag.last.x, at.y - drag.last.y);
      drag.last = at;
      this.emitView();
    } else if (this.pointer) this.pointer.move(this.viewport.toImage(event), this.screen(event), Boolean(drag));
  }

  pointerUp(event) {
    const drag = this.drag;
    this.drag = null;
    if (drag?.type === "window") this.endWindowDrag(drag);
    else if (drag?.type === "tool") this.pointer?.up(this.viewport.toImage(event));
  }

  // Window/level by right-drag: a live preview, then the node renders the new window.
  async startWindowDrag(event) {
    const pending = { type: "window-pending" };
    this.drag = pending;
    const start = numericWindow(this.window) || (await this.learnFileWindow());
    const image = this.viewport.image;
    if (this.drag !== pending || !image) return; // released before the file's window was known
    const scratch = document.createElement("canvas");
    scratch.width = this.viewport.width;
    scratch.height = this.viewport.height;
    const ctx = scratch.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(image, 0, 0);
    this.drag = {
      type: "window",
      origin: this.screen(event),
      start,
      current: start,
      scratch,
      source: ctx.getImageData(0, 0, scratch.width, scratch.height),
      target: ctx.createImageData(scratch.width, scratch.height),
      pending: false,
    };
  }

  moveWindowDrag(event) {
    const drag = this.drag;
    const at = this.screen(event);
    drag.current = dragWindow(drag.start, at.x - drag.origin.x, at.y - drag.origin.y);
    if (drag.pending) return;
    drag.pending = true;
    requestAnimationFrame(() => {
      drag.pending = false;
      applyTable(drag.source, drag.target, remapTable(drag.start, drag.current));
      drag.scratch.getContext("2d").putImageData(drag.target, 0, 0);
      this.viewport.image = drag.scratch;
      this.viewport.draw();
      this.updateReadout(drag.current);
    });
  }

  endWindowDrag(drag) {
    if (!drag?.current || drag.current === drag.start) {
      this.show(this.index, { force: true });
      return;
    }
    this.setWindow({ center: Math.round(drag.current.center), width: Math.round(drag.current.width) });
  }

  async learnFileWindow() {
    if (this.fileWindow) return this.fileWindow;
    this.fileWindow = (await this.source.fileWindow?.(this.index)) || { center: 40, width: 400 };
    return this.fileWindow;
  }

  /** `win`: null (the file's window), {preset: "lung"} or {center, width}. */
  setWindow(win, { silent = false } = {}) {
    this.window = win;
    this.cache.setWindow(windowKey(win));
    this.show(this.index, { force: true });
    if (!silent) this.dispatchEvent(new CustomEvent("window", { detail: win }));
  }

  step(delta) {
    this.setSlice(this.index + delta);
  }

  setSlice(index, { silent = false } = {}) {
    const clamped = Math.max(0, Math.min(this.source.count - 1, Math.round(index)));
    if (clamped === this.index && this.viewport.image) return;
    this.direction = clamped >= this.index ? 1 : -1;
    this.index = clamped;
    this.requestedAt = performance.now();
    this.show(clamped);
    if (!silent) this.dispatchEvent(new CustomEvent("slice", { detail: clamped }));
  }

  show(index, { force = false } = {}) {
    this.slider.value = String(index);
    this.updateReadout();
    const ready = this.cache.peek(index);
    if (ready && !force) {
      this.present(index, ready);
    } else {
      this.cache
        .get(index)
        .then((image) => {
          if (index === this.index) this.present(index, image);
        })
        .catch((error) => this.dispatchEvent(new CustomEvent("error", { detail: error })));
    }
    this.cache.prefetch(index, this.direction);
  }

  present(index, image) {
    const size = this.source.sizeOf(index) || { rows: image.height, columns: image.width };
    this.pendingDraw = { index, requestedAt: this.requestedAt };
    this.viewport.setImage(image, { width: size.columns, height: size.rows, aspect: this.source.aspect || 1 });
  }

  recordDraw(time) {
    this.stats.frames += 1;
    const pending = this.pendingDraw;
    if (!pending) return;
    this.pendingDraw = null;
    if (this.stats.draws.length < STATS_LIMIT) {
      this.stats.draws.push({ index: pending.index, requested: pending.requestedAt, drawn: time });
    }
  }

  redraw() {
    this.viewport.draw();
  }

  zoomBy(factor) {
    this.viewport.zoomBy(factor);
    this.emitView();
  }

  resetView() {
    this.viewport.resetView();
    this.emitView();
  }

  emitView() {
    this.updateReadout();
    this.dispatchEvent(
      new CustomEvent("view", { detail: { zoom: this.viewport.zoom, panX: this.viewport.panX, panY: this.viewport.panY } }),
    );
  }

  setView({ zoom, panX, panY }) {
    Object.assign(this.viewport, { zoom, panX, panY });
    this.viewport.draw();
    this.updateReadout();
  }

  updateReadout(liveWindow) {
    const win = liveWindow || numericWindow(this.window);
    const windowText = win ? `W ${Math.round(win.width)} L ${Math.round(win.center)}` : "file window";
    const zoom = Math.round(this.viewport.zoom * 100);
    this.readout.textContent = `${this.index + 1} / ${this.source.count} · ${windowText} · ${zoom}%`;
    this.slider.setAttribute("aria-valuetext", `Slice ${this.index + 1} of ${this.source.count}`);
    this.canvas.setAttribute("aria-label", `${this.label}: slice ${this.index + 1} of ${this.source.count}`);
  }
}
