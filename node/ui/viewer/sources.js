// Where a viewer's slices come from: a task's slices or a series' instances (DICOMweb
// /rendered, one SOP instance per slice), or a reformatted plane (the node's MPR API).

import { get } from "../api.js";

export const PLANES = ["axial", "coronal", "sagittal"];

function withWindow(base, key) {
  return key && key !== "file" ? `${base}?${key}` : base;
}

async function fileWindowOf(study, series, sop) {
  try {
    const [meta] = await get(`/dicom-web/studies/${study}/series/${series}/instances/${sop}/metadata`);
    const center = meta?.["00281050"]?.Value?.[0];
    const width = meta?.["00281051"]?.Value?.[0];
    if (Number.isFinite(center) && Number.isFinite(width)) return { center, width };
  } catch {
    // no metadata: the caller falls back to a soft-tissue window
  }
  return null;
}

/** Axial slices of a task: `slices` = [{sop_instance_uid, rows, columns, pixel_spacing}]. */
export function instanceSource(study, series, slices) {
  const base = `/dicom-web/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances`;
  return {
    name: "axial",
    count: slices.length,
    firstSop: slices[0]?.sop_instance_uid,
    aspect: aspectOf(slices[0]?.pixel_spacing),
    urlFor: (index, key) => withWindow(`${base}/${encodeURIComponent(slices[index].sop_instance_uid)}/rendered`, key),
    sizeOf: (index) => ({ rows: slices[index].rows, columns: slices[index].columns }),
    spacingOf: (index) => slices[index].pixel_spacing || null,
    fileWindow: (index) => fileWindowOf(study, series, slices[index].sop_instance_uid),
  };
}

function aspectOf(spacing) {
  if (!spacing || !spacing[0] || !spacing[1]) return 1;
  return spacing[0] / spacing[1];
}

/** The slices of a series as QIDO lists them, ordered by Instance Number. */
export async function seriesSlices(study, series) {
  const found = await get(`/dicom-web/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances`);
  const value = (item, tag) => item[tag]?.Value?.[0];
  return found
    .map((item) => ({
      sop_instance_uid: value(item, "00080018"),
      number: Number(value(item, "00200013") ?? 0),
      rows: Number(value(item, "00280010")),
      columns: Number(value(item, "00280011")),
      pixel_spacing: null,
    }))
    .sort((a, b) => a.number - b.number)
    .map((slice, index) => ({ ...slice, index }));
}

/** A coronal or sagittal reformat of a series (square pixels, head up). */
export async function mprSource(series, plane, study, firstSop) {
  const base = `/api/v1/series/${encodeURIComponent(series)}`;
  const volume = await get(`${base}/volume`);
  return {
    name: plane,
    count: volume.slices[plane],
    aspect: 1,
    urlFor: (index, key) => withWindow(`${base}/mpr/${plane}/${index}`, key),
    sizeOf: () => null,
    spacingOf: () => null,
    fileWindow: () => fileWindowOf(study, series, firstSop),
  };
}
