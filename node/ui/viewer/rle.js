// Brush masks on the wire: COCO-style uncompressed RLE in row-major (C) order, zeros first.

/** @param {Uint8Array} mask rows*cols, 0 or 1, index = row * cols + col */
export function encode(mask, rows, cols) {
  const counts = [];
  let current = 0;
  let run = 0;
  for (let i = 0; i < mask.length; i += 1) {
    const value = mask[i] ? 1 : 0;
    if (value !== current) {
      counts.push(run);
      run = 0;
      current = value;
    }
    run += 1;
  }
  counts.push(run);
  return { size: [rows, cols], counts };
}

export function decode(rle) {
  const [rows, cols] = rle.size;
  const mask = new Uint8Array(rows * cols);
  let position = 0;
  let value = 0;
  for (const count of rle.counts) {
    if (value) mask.fill(1, position, position + count);
    position += count;
    value = 1 - value;
  }
  return mask;
}

export function isEmpty(mask) {
  for (let i = 0; i < mask.length; i += 1) if (mask[i]) return false;
  return true;
}

/** Paint (1) or erase (0) discs along the segment a→b, in place (one stroke step). */
export function paintSegment(mask, rows, cols, a, b, radius, value) {
  const steps = Math.max(1, Math.ceil(Math.hypot(b.x - a.x, b.y - a.y) / Math.max(1, radius / 2)));
  let out = mask;
  for (let i = 0; i <= steps; i += 1) {
    const t = i / steps;
    out = paintDiscInPlace(out, rows, cols, a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, radius, value);
  }
  return out;
}

function paintDiscInPlace(mask, rows, cols, cx, cy, radius, value) {
  const r2 = radius * radius;
  for (let y = Math.max(0, Math.floor(cy - radius)); y <= Math.min(rows - 1, Math.ceil(cy + radius)); y += 1) {
    const dy = y + 0.5 - cy;
    for (let x = Math.max(0, Math.floor(cx - radius)); x <= Math.min(cols - 1, Math.ceil(cx + radius)); x += 1) {
      const dx = x + 0.5 - cx;
      if (dx * dx + dy * dy <= r2) mask[y * cols + x] = value;
    }
  }
  return mask;
}
