// Drawing tools: what a press, a drag and a release do for each tool. The mouse drives them
// on the canvas, and so does the keyboard cursor (Shift+arrows to move it, Space to press).

import { invalidateMask } from "./overlays.js";
import { isEmpty, paintSegment } from "./rle.js";

/** Tool name -> annotation kind it draws, shortcut key, and its button label. */
export const TOOLS = [
  { name: "select", key: "v", kind: null, label: "Select / pan" },
  { name: "box", key: "b", kind: "box", label: "Box" },
  { name: "polygon", key: "p", kind: "polygon", label: "Polygon" },
  { name: "brush", key: "m", kind: "mask", label: "Brush" },
  { name: "keypoint", key: "k", kind: "keypoint", label: "Keypoint" },
  { name: "length", key: "l", kind: "length", label: "Length" },
  { name: "eraser", key: "e", kind: null, label: "Eraser" },
];

const CLOSE_DISTANCE_PX = 8;

/**
 * `host` gives: set (AnnotationSet), slice(), size() {rows, columns}, labelFor(kind),
 * brushRadius(), defaults() {confidence}, select(key), hit(point, tolerancePx),
 * scale() (screen px per image px), redraw(), setDraft(item|null), pan(dx, dy), message(text).
 */
export class ToolController {
  constructor(host) {
    this.host = host;
    this.tool = "select";
    this.active = null; // the gesture in progress
    this.polygon = null; // points of a polygon being drawn
  }

  setTool(name) {
    this.cancel();
    this.tool = name;
  }

  cancel() {
    this.active = null;
    this.polygon = null;
    this.host.setDraft(null);
  }

  clamp(point) {
    const { rows, columns } = this.host.size();
    return { x: Math.min(columns, Math.max(0, point.x)), y: Math.min(rows, Math.max(0, point.y)) };
  }

  inside(point) {
    const { rows, columns } = this.host.size();
    return point.x >= 0 && point.y >= 0 && point.x <= columns && point.y <= rows;
  }

  newItem(kind, geometry) {
    const label = this.host.labelFor(kind);
    if (!label) {
      this.host.message(`The guideline has no ${kind} label to draw.`);
      return null;
    }
    const item = this.host.set.add({ label, kind, geometry, ...this.host.defaults() });
    this.host.select(item.key);
    return item;
  }

  /** A press at `point` (image coordinates); `screen` is {x, y} in CSS pixels for panning. */
  press(point, screen) {
    const slice = this.host.slice();
    switch (this.tool) {
      case "select": {
        const hit = this.host.hit(point, 4);
        this.host.select(hit ? hit.key : null);
        this.active = { type: "pan", last: screen };
        break;
      }
      case "box":
      case "length":
        if (!this.inside(point)) return;
        this.active = { type: this.tool, from: this.clamp(point) };
        break;
      case "keypoint":
        if (this.inside(point)) this.newItem("keypoint", { slice, ...round(this.clamp(point)) });
        break;
      case "polygon":
        this.addPolygonPoint(point);
        break;
      case "brush":
      case "eraser":
        this.startStroke(point);
        break;
      default:
        break;
    }
  }

  move(point, screen) {
    const gesture = this.active;
    if (this.tool === "polygon" && this.polygon) {
      this.host.setDraft(this.polygonDraft(this.clamp(point)));
      return;
    }
    if (!gesture) return;
    if (gesture.type === "pan") {
      this.host.pan(screen.x - gesture.last.x, screen.y - gesture.last.y);
      gesture.last = screen;
    } else if (gesture.type === "box" || gesture.type === "length") {
      const to = this.clamp(point);
      this.host.setDraft({
        kind: gesture.type,
        label: "",
        geometry: { slice: this.host.slice(), x0: gesture.from.x, y0: gesture.from.y, x1: to.x, y1: to.y },
      });
    } else if (gesture.type === "stroke") {
      this.paint(gesture, point);
    }
  }

  release(point) {
    const gesture = this.active;
    this.active = null;
    if (!gesture) return;
    const slice = this.host.slice();
    if (gesture.type === "box" || gesture.type === "length") {
      this.host.setDraft(null);
      const to = this.clamp(point);
      const from = gesture.from;
      if (Math.hypot(to.x - from.x, to.y - from.y) * this.host.scale() < 3) return;
      if (gesture.type === "box") {
        this.newItem("box", {
          slice,
          ...round({ x0: Math.min(from.x, to.x), y0: Math.min(from.y, to.y), x1: Math.max(from.x, to.x), y1: Math.max(from.y, to.y) }),
        });
      } else {
        this.newItem("length", { slice, ...round({ x0: from.x, y0: from.y, x1: to.x, y1: to.y }) });
      }
    } else if (gesture.type === "stroke") {
      this.endStroke(gesture);
    }
  }

  // Polygon: each press adds a vertex; pressing near the first vertex, Enter or a double-click closes.
  addPolygonPoint(point) {
    if (!this.inside(point)) return;
    const p = this.clamp(point);
    if (this.polygon && this.polygon.length >= 3) {
      const [x0, y0] = this.polygon[0];
      if (Math.hypot(p.x - x0, p.y - y0) * this.host.scale() <= CLOSE_DISTANCE_PX) {
        this.finishPolygon();
        return;
      }
    }
    this.polygon = [...(this.polygon || []), [round1(p.x), round1(p.y)]];
    this.host.setDraft(this.polygonDraft());
  }

  polygonDraft(hover) {
    const points = hover ? [...this.polygon, [hover.x, hover.y]] : this.polygon;
    return { kind: "polygon", label: "", open: true, geometry: { slice: this.host.slice(), points } };
  }

  finishPolygon() {
    const points = this.polygon || [];
    this.polygon = null;
    this.host.setDraft(null);
    if (points.length < 3) {
      this.host.message("A polygon needs at least 3 points.");
      return false;
    }
    this.newItem("polygon", { slice: this.host.slice(), points });
    return true;
  }

  undoPolygonPoint() {
    if (!this.polygon) return false;
    this.polygon = this.polygon.slice(0, -1);
    if (!this.polygon.length) this.cancel();
    else this.host.setDraft(this.polygonDraft());
    return true;
  }

  // Brush and eraser: one stroke is one undo step. The stroke copies the slice's mask once
  // (so the undo snapshot keeps the old one), then paints that copy in place.
  startStroke(point) {
    const slice = String(this.host.slice());
    const { set } = this.host;
    if (this.tool === "eraser") {
      const hit = this.host.hit(point, 4);
      if (hit && hit.kind !== "mask") {
        set.remove(hit.key);
        this.host.select(null);
        return;
      }
      const targets = set.items.filter((item) => item.kind === "mask" && item.geometry?.masks?.[slice]);
      if (!targets.length) return;
      set.commit(set.items.map((item) => (targets.includes(item) ? withSliceCopy(item, slice, false, this.host.size()) : item)));
      const keys = new Set(targets.map((t) => t.key));
      this.active = { type: "stroke", value: 0, slice, keys, last: point };
    } else {
      const label = this.host.labelFor("mask");
      if (!label) {
        this.host.message("The guideline has no mask label to paint.");
        return;
      }
      // Paint into the selected mask of the label (an AI draft being edited), else its first one.
      const isTarget = (item) => item.kind === "mask" && item.label === label;
      const chosen = set.find(this.host.selectedKey?.());
      const existing = chosen && isTarget(chosen) ? chosen : set.items.find(isTarget);
      let key;
      if (existing) {
        set.commit(set.items.map((item) => (item === existing ? withSliceCopy(item, slice, true, this.host.size()) : item)));
        key = existing.key;
      } else {
        const { rows, columns } = this.host.size();
        const created = this.newItem("mask", {
          masks: { [slice]: new Uint8Array(rows * columns) },
          key_slices: [Number(slice)],
          interpolate: false,
        });
        if (!created) return;
        key = created.key;
      }
      this.host.select(key);
      this.active = { type: "stroke", value: 1, slice, keys: new Set([key]), last: point };
    }
    this.paint(this.active, point);
  }

  paint(gesture, point) {
    const { rows, columns } = this.host.size();
    const radius = this.host.brushRadius();
    for (const item of this.host.set.items) {
      if (!gesture.keys.has(item.key)) continue;
      const mask = item.geometry.masks[gesture.slice];
      paintSegment(mask, rows, columns, gesture.last, point, radius, gesture.value);
      invalidateMask(mask);
    }
    gesture.last = point;
    this.host.redraw();
  }

  endStroke(gesture) {
    if (gesture.value) return;
    // After erasing: drop emptied slices, and masks with nothing left (same undo step).
    const { set } = this.host;
    const items = [];
    for (const item of set.items) {
      if (!gesture.keys.has(item.key) || !isEmpty(item.geometry.masks[gesture.slice])) {
        items.push(item);
        continue;
      }
      const masks = { ...item.geometry.masks };
      delete masks[gesture.slice];
      if (!Object.keys(masks).length) continue;
      const keySlices = item.geometry.key_slices.filter((s) => String(s) !== gesture.slice);
      items.push({ ...item, geometry: { ...item.geometry, masks, key_slices: keySlices } });
    }
    set.items = items;
    set.changed();
  }
}

function withSliceCopy(item, slice, markKey, size) {
  const masks = { ...item.geometry.masks };
  const current = masks[slice];
  masks[slice] = current ? current.slice() : new Uint8Array(size.rows * size.columns);
  let keySlices = item.geometry.key_slices;
  if (markKey && !keySlices.includes(Number(slice))) keySlices = [...keySlices, Number(slice)].sort((a, b) => a - b);
  return { ...item, geometry: { ...item.geometry, masks, key_slices: keySlices } };
}

function round1(value) {
  return Math.round(value * 10) / 10;
}

function round(values) {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, round1(v)]));
}
