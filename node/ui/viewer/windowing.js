// Window/level: the node's CT presets, and a live preview while the reader right-drags.
// The preview remaps the 8-bit image already on screen from its window to the new one
// (exact inside the old window, clipped outside); on release the node renders it properly.

/** Same values as node/dicom/windowing.py PRESETS (Hounsfield units). */
export const PRESETS = [
  { name: "lung", label: "CT lung", center: -600, width: 1500 },
  { name: "mediastinum", label: "CT mediastinum", center: 50, width: 350 },
  { name: "bone", label: "CT bone", center: 500, width: 2000 },
  { name: "brain", label: "CT brain", center: 40, width: 80 },
  { name: "abdomen", label: "CT abdomen", center: 50, width: 400 },
];

/** The query parameters for a window: `{preset}`, `{center, width}` or null (the file's own). */
export function windowQuery(win) {
  if (!win) return "";
  if (win.preset) return `preset=${encodeURIComponent(win.preset)}`;
  return `window=${Math.round(win.center)},${Math.max(1, Math.round(win.width))}`;
}

export function windowKey(win) {
  return windowQuery(win) || "file";
}

export function numericWindow(win) {
  if (!win) return null;
  if (win.preset) {
    const preset = PRESETS.find((p) => p.name === win.preset);
    return preset ? { center: preset.center, width: preset.width } : null;
  }
  return { center: win.center, width: win.width };
}

/** Right-drag: horizontal movement changes the width, vertical the centre. */
export function dragWindow(start, dx, dy) {
  const scale = Math.max(1, start.width / 256);
  return {
    center: start.center - dy * scale,
    width: Math.max(1, start.width + dx * scale * 2),
  };
}

/** A 256-entry lookup table taking display values under `from` to display values under `to`. */
export function remapTable(from, to) {
  const table = new Uint8ClampedArray(256);
  const low = from.center - from.width / 2;
  const newLow = to.center - to.width / 2;
  for (let v = 0; v < 256; v += 1) {
    const value = low + (v / 255) * from.width;
    table[v] = ((value - newLow) / to.width) * 255;
  }
  return table;
}

/** Apply a lookup table to RGBA pixels (grey images: R = G = B). */
export function applyTable(source, target, table) {
  const input = source.data;
  const output = target.data;
  for (let i = 0; i < input.length; i += 4) {
    const value = table[input[i]];
    output[i] = value;
    output[i + 1] = value;
    output[i + 2] = value;
    output[i + 3] = 255;
  }
}
