// The annotator's keyboard shortcuts (the table is in docs/annotator-guide.md). Shortcuts do not
// fire while the reader types in a text field, except Ctrl+S.

import { announce } from "../api.js";
import { isTyping } from "../dom.js";
import { TOOLS } from "./tools.js";

const KEYBOARD_STEP = 4; // image pixels per Shift+arrow press of the keyboard cursor

/** Handle a shortcut; returns true when the key was used. */
export function handleKey(annotator, event) {
  const key = event.key;
  const ctrl = event.ctrlKey || event.metaKey;
  if (ctrl && key.toLowerCase() === "s") {
    annotator.save();
    return true;
  }
  if (isTyping(event)) return false;
  if (ctrl && key.toLowerCase() === "z") {
    if (event.shiftKey) annotator.redo();
    else annotator.undo();
    return true;
  }
  if (ctrl && key.toLowerCase() === "y") {
    annotator.redo();
    return true;
  }
  if (ctrl || event.altKey) return false;
  const onCanvas = event.target === annotator.viewer.canvas;
  if (onCanvas && event.shiftKey && key.startsWith("Arrow")) return moveCursor(annotator, key);
  if (onCanvas && key === " " && annotator.tools && annotator.plane === "axial") return cursorPress(annotator, event);
  const viewer = annotator.viewer;
  const inRange = event.target instanceof HTMLInputElement && event.target.type === "range";
  const inChoice = event.target instanceof HTMLInputElement && event.target.type === "radio";
  switch (key) {
    case "ArrowDown":
      if (inRange || inChoice) return false;
      viewer.step(1);
      return true;
    case "ArrowUp":
      if (inRange || inChoice) return false;
      viewer.step(-1);
      return true;
    case "PageDown":
      viewer.step(10);
      return true;
    case "PageUp":
      viewer.step(-10);
      return true;
    case "Home":
      if (inRange) return false;
      viewer.setSlice(0);
      return true;
    case "End":
      if (inRange) return false;
      viewer.setSlice(viewer.source.count - 1);
      return true;
    case "+":
    case "=":
      viewer.zoomBy(1.25);
      return true;
    case "-":
      viewer.zoomBy(1 / 1.25);
      return true;
    case "0":
      viewer.resetView();
      return true;
    case "[":
      annotator.toolbar.setBrushSize(annotator.toolbar.brushSize() - 1);
      announce(`Brush size ${annotator.toolbar.brushSize()}`);
      viewer.redraw();
      return true;
    case "]":
      annotator.toolbar.setBrushSize(annotator.toolbar.brushSize() + 1);
      announce(`Brush size ${annotator.toolbar.brushSize()}`);
      viewer.redraw();
      return true;
    case "Escape":
      if (annotator.tools?.polygon || annotator.draft) annotator.tools.cancel();
      else annotator.select(null);
      return true;
    case "Enter":
      if (annotator.tools?.tool === "polygon" && annotator.tools.polygon) {
        annotator.tools.finishPolygon();
        return true;
      }
      return false;
    case "Delete":
    case "Backspace":
      if (annotator.tools?.undoPolygonPoint()) return true;
      if (annotator.selectedKey && !annotator.readOnly) {
        annotator.set.remove(annotator.selectedKey);
        annotator.select(null);
        return true;
      }
      return false;
    default:
      break;
  }
  if (/^[1-9]$/.test(key) && annotator.panel && !annotator.readOnly) {
    const value = Number(key);
    const scale = annotator.guideline.confidence || { minimum: 1, maximum: 5 };
    if (value >= scale.minimum && value <= scale.maximum) {
      annotator.panel.setConfidence(value);
      announce(`Confidence ${value}`);
      return true;
    }
  }
  const tool = TOOLS.find((t) => t.key === key.toLowerCase());
  if (tool && annotator.tools && !event.shiftKey) {
    annotator.setTool(tool.name);
    announce(`${tool.label} tool`);
    return true;
  }
  const plane = { a: "axial", c: "coronal", s: "sagittal" }[key.toLowerCase()];
  if (plane && event.shiftKey) {
    annotator.setPlane(plane);
    return true;
  }
  return false;
}

function moveCursor(annotator, key) {
  const { rows, columns } = annotator.axial.sizeOf(annotator.viewer.index);
  const step = KEYBOARD_STEP;
  const dx = { ArrowLeft: -step, ArrowRight: step }[key] || 0;
  const dy = { ArrowUp: -step, ArrowDown: step }[key] || 0;
  annotator.cursor = {
    x: Math.min(columns, Math.max(0, annotator.cursor.x + dx)),
    y: Math.min(rows, Math.max(0, annotator.cursor.y + dy)),
  };
  if (annotator.tools) annotator.tools.move(annotator.cursor, { x: 0, y: 0 });
  annotator.viewer.redraw();
  return true;
}

/** Space: a click at the keyboard cursor; for box and length, the first Space starts the drag. */
function cursorPress(annotator, event) {
  if (event.repeat) return true;
  const tool = annotator.tools.tool;
  const point = { ...annotator.cursor };
  if ((tool === "box" || tool === "length") && annotator.tools.active) {
    annotator.tools.release(point);
  } else {
    annotator.tools.press(point, { x: 0, y: 0 });
    if (tool !== "box" && tool !== "length") annotator.tools.release(point);
  }
  annotator.viewer.redraw();
  return true;
}
