// The reader's annotations of one task: immutable items, undo/redo, and saving as revisions.
//
// Items are never changed in place: an edit replaces the item object, so an undo snapshot is
// just the previous array, and "unsaved" means "not the object that was last saved".
// Server identity (annotation id, head revision) lives beside the items, so undoing past a
// save never re-creates an annotation the node already has.

import { ApiError, del, post, put } from "../api.js";
import { decode, encode, isEmpty } from "./rle.js";

const HISTORY_LIMIT = 200;
let nextKey = 1;

export function newKey() {
  nextKey += 1;
  return `a${nextKey}`;
}

export class AnnotationSet extends EventTarget {
  /** @param {string|number} taskId  @param {(slice: number) => {rows: number, columns: number}} sizeOf */
  constructor(taskId, sizeOf) {
    super();
    this.taskId = taskId;
    this.sizeOf = sizeOf;
    this.items = [];
    this.server = new Map(); // key -> {aid, revision, saved}
    this.undoStack = [];
    this.redoStack = [];
    this.saving = false;
    this.failure = "";
  }

  /** Adopt the annotations the node returned for this task (the reader's own). */
  load(annotations) {
    this.items = [];
    this.server.clear();
    for (const stored of annotations || []) {
      if (stored.deleted || stored.tombstone) continue;
      this.adopt(newKey(), stored);
    }
    this.undoStack = [];
    this.redoStack = [];
    this.changed();
  }

  adopt(key, stored) {
    const item = itemFromStored(key, stored);
    const index = this.items.findIndex((i) => i.key === key);
    if (index >= 0) this.items = this.items.map((i) => (i.key === key ? item : i));
    else this.items = [...this.items, item];
    this.server.set(key, {
      aid: stored.annotation_id ?? stored.id,
      revision: stored.revision,
      saved: item,
    });
    return item;
  }

  find(key) {
    return this.items.find((item) => item.key === key);
  }

  commit(items) {
    this.undoStack.push(this.items);
    if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
    this.redoStack = [];
    this.items = items;
    this.failure = "";
    this.changed();
  }

  add(item) {
    const created = { confidence: null, comment: "", cannot_assess: false, ...item, key: newKey() };
    this.commit([...this.items, created]);
    return created;
  }

  update(key, changes) {
    let updated = null;
    this.commit(
      this.items.map((item) => {
        if (item.key !== key) return item;
        updated = { ...item, ...changes };
        return updated;
      }),
    );
    return updated;
  }

  remove(key) {
    this.commit(this.items.filter((item) => item.key !== key));
  }

  undo() {
    if (!this.undoStack.length) return false;
    this.redoStack.push(this.items);
    this.items = this.undoStack.pop();
    this.changed();
    return true;
  }

  redo() {
    if (!this.redoStack.length) return false;
    this.undoStack.push(this.items);
    this.items = this.redoStack.pop();
    this.changed();
    return true;
  }

  /** What saving would send: creations, updates and deletions. */
  pending() {
    const current = new Set(this.items.map((item) => item.key));
    return {
      create: this.items.filter((item) => !this.server.has(item.key)),
      update: this.items.filter((item) => this.server.has(item.key) && this.server.get(item.key).saved !== item),
      remove: [...this.server.keys()].filter((key) => !current.has(key)),
    };
  }

  isDirty() {
    const { create, update, remove } = this.pending();
    return create.length + update.length + remove.length > 0;
  }

  /** "saved" | "unsaved" | "saving" | "failed" */
  state() {
    if (this.saving) return "saving";
    if (this.failure) return "failed";
    return this.isDirty() ? "unsaved" : "saved";
  }

  /** Send every change as a revision; stops at the first refusal and reports it. */
  async save() {
    if (this.saving) return false;
    this.saving = true;
    this.failure = "";
    this.changed();
    const { create, update, remove } = this.pending();
    try {
      for (const key of remove) {
        const { aid, revision } = this.server.get(key);
        await del(`/api/annotations/${encodeURIComponent(aid)}?base_revision=${revision}`);
        this.server.delete(key);
      }
      for (const item of update) {
        const { aid, revision } = this.server.get(item.key);
        const stored = await put(`/api/annotations/${encodeURIComponent(aid)}`, {
          base_revision: revision,
          ...this.payload(item),
        });
        this.replaceSaved(item, stored);
      }
      for (const item of create) {
        const stored = await post(`/api/tasks/${encodeURIComponent(this.taskId)}/annotations`, this.payload(item));
        this.replaceSaved(item, stored);
      }
      return true;
    } catch (error) {
      this.failure =
        error instanceof ApiError && error.status === 409
          ? `${error.detail} — reload the task to see the newer revision`
          : error.detail || error.message || String(error);
      return false;
    } finally {
      this.saving = false;
      this.changed();
    }
  }

  /** Keep the saved item (unless the reader edited it meanwhile) and the node's new revision. */
  replaceSaved(sent, stored) {
    const entry = {
      aid: stored.annotation_id ?? stored.id ?? this.server.get(sent.key)?.aid,
      revision: stored.revision,
      saved: sent,
    };
    this.server.set(sent.key, entry);
    // The node fills interpolated mask slices and computes length_mm: take its geometry then
    // (otherwise keep the sent item, so undoing to it is not an unsaved change).
    const serverShaped =
      (sent.kind === "mask" && sent.geometry?.interpolate) ||
      (sent.kind === "length" && stored.geometry?.length_mm !== sent.geometry?.length_mm);
    if (serverShaped && stored.geometry && this.find(sent.key) === sent) {
      const fresh = { ...itemFromStored(sent.key, { ...sent, ...stored }) };
      this.items = this.items.map((item) => (item === sent ? fresh : item));
      entry.saved = fresh;
    }
  }

  payload(item) {
    const base = {
      label: item.label,
      kind: item.kind,
      confidence: item.confidence ?? undefined,
      comment: item.comment || "",
      cannot_assess: Boolean(item.cannot_assess),
    };
    if (item.cannot_assess && !item.geometry) return { ...base, geometry: {} };
    if (item.kind !== "mask") return { ...base, geometry: item.geometry };
    const slices = {};
    for (const [slice, mask] of Object.entries(item.geometry.masks)) {
      if (isEmpty(mask)) continue;
      const { rows, columns } = this.sizeOf(Number(slice));
      slices[slice] = encode(mask, rows, columns);
    }
    const keySlices = item.geometry.key_slices.filter((s) => String(s) in slices);
    return {
      ...base,
      geometry: { slices, key_slices: keySlices, interpolate: Boolean(item.geometry.interpolate) },
    };
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}

/** A UI item from an annotation as the node returns it (masks decoded). */
export function itemFromStored(key, stored) {
  const item = {
    key,
    label: stored.label,
    kind: stored.kind,
    confidence: stored.confidence ?? null,
    comment: stored.comment || "",
    cannot_assess: Boolean(stored.cannot_assess),
    geometry: stored.geometry && Object.keys(stored.geometry).length ? stored.geometry : null,
  };
  if (item.kind === "mask" && item.geometry) {
    const masks = {};
    for (const [slice, rle] of Object.entries(item.geometry.slices || {})) masks[slice] = decode(rle);
    item.geometry = {
      masks,
      key_slices: (item.geometry.key_slices || Object.keys(masks)).map(Number),
      interpolate: Boolean(item.geometry.interpolate),
    };
  }
  return item;
}
