// Drawing every annotation kind over the image, in image pixel coordinates.

const PALETTE = ["#ffb000", "#00d0ff", "#ff4fd8", "#7dff5a", "#ff6b3d", "#b48cff", "#ffe14d", "#3dffc5"];
const maskCanvases = new WeakMap(); // Uint8Array -> {canvas, color}

export function colorFor(label, labels) {
  const index = Math.max(0, labels.findIndex((l) => l.name === label));
  return PALETTE[index % PALETTE.length];
}

/** Forget the drawn copy of a mask painted in place (during a brush stroke). */
export function invalidateMask(mask) {
  maskCanvases.delete(mask);
}

function maskCanvas(mask, rows, cols, color) {
  const cached = maskCanvases.get(mask);
  if (cached && cached.color === color) return cached.canvas;
  const canvas = document.createElement("canvas");
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(cols, rows);
  const r = parseInt(color.slice(1, 3), 16);
  const g = parseInt(color.slice(3, 5), 16);
  const b = parseInt(color.slice(5, 7), 16);
  for (let i = 0; i < mask.length; i += 1) {
    if (!mask[i]) continue;
    const o = i * 4;
    image.data[o] = r;
    image.data[o + 1] = g;
    image.data[o + 2] = b;
    image.data[o + 3] = 110;
  }
  ctx.putImageData(image, 0, 0);
  maskCanvases.set(mask, { canvas, color });
  return canvas;
}

export function lengthMm(geometry, spacing) {
  if (geometry.length_mm !== undefined) return geometry.length_mm;
  if (!spacing) return null;
  const [rowMm, colMm] = spacing;
  return Math.hypot((geometry.x1 - geometry.x0) * colMm, (geometry.y1 - geometry.y0) * rowMm);
}

/**
 * @param {CanvasRenderingContext2D} ctx  transformed to image coordinates
 * @param {object} scene {items, slice, labels, selectedKey, size: {rows, columns}, spacing, draft}
 * @param {number} scale screen pixels per image pixel
 */
export function drawOverlays(ctx, scene, scale) {
  const line = 2 / scale;
  for (const item of scene.items) {
    if (!item.geometry) continue;
    const color = colorFor(item.label, scene.labels);
    const selected = item.key === scene.selectedKey;
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = selected ? line * 2 : line;
    ctx.setLineDash(selected ? [6 / scale, 3 / scale] : []);
    drawItem(ctx, item, scene, scale);
  }
  ctx.setLineDash([]);
  drawClassifications(ctx, scene, scale);
  if (scene.draft) {
    ctx.strokeStyle = "#ffffff";
    ctx.fillStyle = "#ffffff";
    ctx.lineWidth = line;
    drawItem(ctx, scene.draft, scene, scale);
  }
  if (scene.cursor) {
    ctx.strokeStyle = "rgba(255,255,255,0.8)";
    ctx.lineWidth = 1 / scale;
    ctx.beginPath();
    ctx.arc(scene.cursor.x, scene.cursor.y, scene.cursor.radius, 0, Math.PI * 2);
    ctx.stroke();
  }
}

/** Whole-task classifications (and "cannot assess" labels) as text in the image's top-left corner. */
function drawClassifications(ctx, scene, scale) {
  const lines = scene.items
    .filter((item) => item.kind === "classification" || (item.cannot_assess && !item.geometry))
    .map((item) => (item.geometry ? `${item.label}: ${item.geometry.value}` : `${item.label}: cannot assess`));
  lines.forEach((text, i) => {
    ctx.fillStyle = colorFor(text.split(":")[0], scene.labels);
    caption(ctx, text, 4 / scale, (18 + i * 16) / scale, scale);
  });
}

function drawItem(ctx, item, scene, scale) {
  const g = item.geometry;
  if (item.kind === "mask") {
    const mask = g.masks?.[scene.slice];
    if (mask) {
      const { rows, columns } = scene.size;
      ctx.drawImage(maskCanvas(mask, rows, columns, ctx.strokeStyle), 0, 0);
    }
    return;
  }
  if (g.slice !== undefined && g.slice !== scene.slice) return;
  if (item.kind === "box") {
    ctx.strokeRect(Math.min(g.x0, g.x1), Math.min(g.y0, g.y1), Math.abs(g.x1 - g.x0), Math.abs(g.y1 - g.y0));
    caption(ctx, item.label, Math.min(g.x0, g.x1), Math.min(g.y0, g.y1), scale);
  } else if (item.kind === "polygon") {
    const points = g.points || [];
    if (!points.length) return;
    ctx.beginPath();
    ctx.moveTo(points[0][0], points[0][1]);
    for (const [x, y] of points.slice(1)) ctx.lineTo(x, y);
    if (!item.open) ctx.closePath();
    ctx.stroke();
    for (const [x, y] of points) ctx.fillRect(x - 2 / scale, y - 2 / scale, 4 / scale, 4 / scale);
    caption(ctx, item.label, points[0][0], points[0][1], scale);
  } else if (item.kind === "keypoint") {
    ctx.beginPath();
    ctx.arc(g.x, g.y, 5 / scale, 0, Math.PI * 2);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(g.x - 8 / scale, g.y);
    ctx.lineTo(g.x + 8 / scale, g.y);
    ctx.moveTo(g.x, g.y - 8 / scale);
    ctx.lineTo(g.x, g.y + 8 / scale);
    ctx.stroke();
    caption(ctx, item.label, g.x + 6 / scale, g.y - 6 / scale, scale);
  } else if (item.kind === "length") {
    ctx.beginPath();
    ctx.moveTo(g.x0, g.y0);
    ctx.lineTo(g.x1, g.y1);
    ctx.stroke();
    for (const [x, y] of [[g.x0, g.y0], [g.x1, g.y1]]) {
      ctx.fillRect(x - 2 / scale, y - 2 / scale, 4 / scale, 4 / scale);
    }
    const mm = lengthMm(g, scene.spacing);
    const text = mm === null ? `${Math.hypot(g.x1 - g.x0, g.y1 - g.y0).toFixed(1)} px` : `${mm.toFixed(1)} mm`;
    caption(ctx, text, (g.x0 + g.x1) / 2, (g.y0 + g.y1) / 2, scale);
  }
}

function caption(ctx, text, x, y, scale) {
  ctx.save();
  ctx.font = `${12 / scale}px system-ui, sans-serif`;
  ctx.lineWidth = 3 / scale;
  ctx.strokeStyle = "rgba(0,0,0,0.8)";
  ctx.strokeText(text, x + 2 / scale, y - 4 / scale);
  ctx.fillText(text, x + 2 / scale, y - 4 / scale);
  ctx.restore();
}

/** The topmost annotation on `slice` within `tolerance` image pixels of `point`, or null. */
export function hitTest(items, point, slice, tolerance, columns) {
  for (const item of [...items].reverse()) {
    const g = item.geometry;
    if (!g) continue;
    if (item.kind === "mask") {
      const mask = g.masks?.[slice];
      const x = Math.floor(point.x);
      if (mask && x >= 0 && x < columns && mask[Math.floor(point.y) * columns + x]) return item;
      continue;
    }
    if (g.slice !== slice) continue;
    if (item.kind === "box") {
      const inside =
        point.x >= Math.min(g.x0, g.x1) - tolerance && point.x <= Math.max(g.x0, g.x1) + tolerance &&
        point.y >= Math.min(g.y0, g.y1) - tolerance && point.y <= Math.max(g.y0, g.y1) + tolerance;
      if (inside) return item;
    } else if (item.kind === "polygon" && insidePolygon(point, g.points)) return item;
    else if (item.kind === "keypoint" && Math.hypot(point.x - g.x, point.y - g.y) <= tolerance * 2) return item;
    else if (item.kind === "length" && segmentDistance(point, g) <= tolerance) return item;
  }
  return null;
}

function insidePolygon(point, points) {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i, i += 1) {
    const [xi, yi] = points[i];
    const [xj, yj] = points[j];
    if (yi > point.y !== yj > point.y && point.x < ((xj - xi) * (point.y - yi)) / (yj - yi) + xi) {
      inside = !inside;
    }
  }
  return inside;
}

function segmentDistance(p, g) {
  const dx = g.x1 - g.x0;
  const dy = g.y1 - g.y0;
  const t = Math.max(0, Math.min(1, ((p.x - g.x0) * dx + (p.y - g.y0) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(p.x - (g.x0 + t * dx), p.y - (g.y0 + t * dy));
}
