// AI drafts in the task page: the model's proposals drawn over the image as dashed outlines with
// an "AI draft" badge, and a list in the side panel to accept, edit or reject each one. Nothing
// here ever saves a draft on its own: Accept asks the node to save it as the reader's annotation,
// Edit copies it into the reader's own unsaved annotations (saved, and linked to the draft, when
// the reader saves), Reject records the reader's no. Keys (when not typing): A accept, D edit,
// R reject the current draft, N go to the next undecided draft.

import { announce, get, post, showError } from "./api.js";
import { h, isTyping, replace } from "./dom.js";
import { itemFromStored, newKey } from "./viewer/annotation-set.js";
import { colorFor } from "./viewer/overlays.js";
import { decode } from "./viewer/rle.js";

const STYLESHEET = new URL("./drafts.css", import.meta.url).href;
const DASH = 5;
const outlines = new WeakMap(); // decoded mask -> Path2D of its boundary

function useStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  document.head.append(h("link", { rel: "stylesheet", href: STYLESHEET }));
}

const STATUS_TEXT = {
  draft: "AI draft",
  editing: "editing — save to keep your version",
  accepted: "accepted",
  edited: "edited",
  rejected: "rejected",
};

function percent(p) {
  return p === null || p === undefined ? "" : ` · ${Math.round(p * 100)}%`;
}

/** The slice a draft sits on (its first key slice for masks), or null for whole-task drafts. */
function sliceOf(draft) {
  const g = draft.geometry || {};
  if (draft.kind === "mask") return Number((g.key_slices || Object.keys(g.slices || {}))[0]);
  return g.slice === undefined ? null : Number(g.slice);
}

/**
 * The boundary of a decoded mask as one dashed path: edges between inside and outside pixels,
 * every other pair of them (a line dash would restart on each one-pixel edge and look solid).
 */
function outline(mask, rows, columns) {
  const cached = outlines.get(mask);
  if (cached) return cached;
  const path = new Path2D();
  const at = (x, y) => x >= 0 && y >= 0 && x < columns && y < rows && mask[y * columns + x];
  for (let y = 0; y < rows; y += 1) {
    for (let x = 0; x < columns; x += 1) {
      if (!mask[y * columns + x] || Math.floor((x + y) / 2) % 2) continue;
      if (!at(x, y - 1)) { path.moveTo(x, y); path.lineTo(x + 1, y); }
      if (!at(x, y + 1)) { path.moveTo(x, y + 1); path.lineTo(x + 1, y + 1); }
      if (!at(x - 1, y)) { path.moveTo(x, y); path.lineTo(x, y + 1); }
      if (!at(x + 1, y)) { path.moveTo(x + 1, y); path.lineTo(x + 1, y + 1); }
    }
  }
  outlines.set(mask, path);
  return path;
}

function badge(ctx, text, x, y, scale) {
  ctx.save();
  ctx.setLineDash([]);
  ctx.font = `bold ${11 / scale}px system-ui, sans-serif`;
  const width = ctx.measureText(text).width + 8 / scale;
  const height = 15 / scale;
  ctx.fillStyle = "rgba(10, 12, 16, 0.85)";
  ctx.fillRect(x, y - height, width, height);
  ctx.strokeStyle = "#ffd54a";
  ctx.lineWidth = 1 / scale;
  ctx.strokeRect(x, y - height, width, height);
  ctx.fillStyle = "#ffd54a";
  ctx.fillText(text, x + 4 / scale, y - 4 / scale);
  ctx.restore();
}

export class DraftLayer {
  /** options: {taskId, set (AnnotationSet), labels, readOnly} */
  constructor({ taskId, set, labels, readOnly }) {
    useStylesheet();
    this.taskId = taskId;
    this.set = set;
    this.labels = labels || [];
    this.readOnly = readOnly;
    this.enabled = false;
    this.drafts = [];
    this.current = null; // id of the draft the keys act on
    this.editing = new Map(); // draft id -> key of the reader's copy in the set
    this.busy = false;
    this.annotator = null;
    this.list = h("ul", { class: "draft-list", "aria-label": "AI drafts" });
    this.reason = h("input", { type: "text", class: "draft-reason", placeholder: "Reason (optional)", "aria-label": "Reason for rejecting" });
    this.element = h("section", { class: "drafts", "aria-labelledby": "drafts-title", hidden: true },
      h("h2", { id: "drafts-title", text: "AI drafts" }),
      h("p", { class: "muted draft-help", text: "Model proposals, never saved unless you accept them or save your edit. Keys: A accept, D edit, R reject, N next." }),
      this.list,
      h("label", { class: "draft-reason-label" }, "Why reject? ", this.reason));
    this.set?.addEventListener("change", () => this.linkSavedEdits());
  }

  async load() {
    try {
      const answer = await get(`/api/tasks/${encodeURIComponent(this.taskId)}/proposals`);
      this.enabled = Boolean(answer.enabled);
      this.drafts = answer.proposals || [];
    } catch (error) {
      showError(error);
      this.drafts = [];
    }
    this.current = this.drafts.find((d) => d.status === "draft")?.id ?? null;
    this.render();
  }

  /** Put the list at the top of the annotator's side panel; drawing goes through draw(). */
  attach(annotator) {
    this.annotator = annotator;
    const panel = annotator.panel?.element;
    if (panel) panel.prepend(this.element);
    else annotator.element.append(this.element);
    annotator.viewer.redraw();
  }

  find(id) {
    return this.drafts.find((d) => d.id === id);
  }

  undecided() {
    return this.drafts.filter((d) => d.status === "draft");
  }

  statusOf(draft) {
    return this.editing.has(draft.id) && draft.status === "draft" ? "editing" : draft.status;
  }

  // ----- drawing -----

  /** Draw the undecided drafts of the shown slice (called after the reader's own overlays). */
  draw(ctx, scene, scale) {
    if (!this.drafts.length) return;
    const line = 2 / scale;
    let row = 0;
    for (const draft of this.drafts) {
      if (this.statusOf(draft) !== "draft") continue;
      const color = colorFor(draft.label, this.labels);
      const current = draft.id === this.current;
      ctx.save();
      ctx.strokeStyle = color;
      ctx.lineWidth = current ? line * 1.8 : line;
      ctx.setLineDash([DASH / scale, DASH / scale]);
      const g = draft.geometry || {};
      if (draft.kind === "mask") {
        const rle = g.slices?.[String(scene.slice)];
        if (rle) {
          const mask = this.decoded(draft, scene.slice, rle);
          ctx.stroke(outline(mask, rle.size[0], rle.size[1]));
          const top = this.topLeft(mask, rle.size[1]);
          if (top) badge(ctx, `AI draft${percent(draft.probability)}`, top.x, top.y, scale);
        }
      } else if (draft.kind === "box" && Number(g.slice) === scene.slice) {
        const x = Math.min(g.x0, g.x1);
        const y = Math.min(g.y0, g.y1);
        ctx.strokeRect(x, y, Math.abs(g.x1 - g.x0), Math.abs(g.y1 - g.y0));
        badge(ctx, `AI draft${percent(draft.probability)}`, x, y, scale);
      } else if (draft.kind === "classification") {
        badge(ctx, `AI draft: ${draft.label} ${g.value}${percent(draft.probability)}`, 4 / scale, (scene.size.rows || 0) - (4 + row * 18) / scale, scale);
        row += 1;
      }
      ctx.restore();
    }
  }

  decoded(draft, slice, rle) {
    draft.decoded = draft.decoded || {};
    if (!draft.decoded[slice]) draft.decoded[slice] = decode(rle);
    return draft.decoded[slice];
  }

  topLeft(mask, columns) {
    for (let i = 0; i < mask.length; i += 1) {
      if (mask[i]) return { x: i % columns, y: Math.floor(i / columns) };
    }
    return null;
  }

  // ----- the list -----

  render() {
    this.element.hidden = !this.enabled || !this.drafts.length;
    replace(this.list, ...this.drafts.map((draft) => this.row(draft)));
    this.annotator?.viewer.redraw();
  }

  row(draft) {
    const status = this.statusOf(draft);
    const where = sliceOf(draft);
    const title = `${draft.label} (${draft.kind})${where === null ? "" : ` · slice ${where + 1}`}${percent(draft.probability)}`;
    const open = status === "draft" && !this.readOnly;
    const button = (text, action, key) => {
      const b = h("button", { type: "button", text, "aria-keyshortcuts": key, dataset: { action } });
      b.disabled = !open || this.busy;
      b.addEventListener("click", () => this.act(action, draft.id));
      return b;
    };
    let detail = "";
    if (draft.status === "edited" || draft.status === "accepted") detail = draft.dice === null ? "" : ` · Dice ${draft.dice.toFixed(2)}`;
    if (draft.status === "rejected" && draft.reason) detail = ` · ${draft.reason}`;
    const item = h("li", {
      class: `draft${draft.id === this.current ? " current" : ""}`,
      dataset: { draftId: String(draft.id), status },
    },
    h("button", { type: "button", class: "link draft-title", text: title, onclick: () => this.focus(draft.id) }),
    h("span", { class: `draft-status status-${status}`, text: `${STATUS_TEXT[status] || status}${detail}` }),
    h("span", { class: "draft-model muted", text: `${draft.model.name}@${draft.model.version}` }),
    h("div", { class: "draft-actions" },
      button("Accept", "accept", "A"), button("Edit", "edit", "D"), button("Reject", "reject", "R")));
    return item;
  }

  focus(id) {
    this.current = id;
    const draft = this.find(id);
    const slice = draft ? sliceOf(draft) : null;
    if (slice !== null && this.annotator) this.annotator.viewer.setSlice(slice);
    this.render();
  }

  next() {
    const open = this.undecided();
    if (!open.length) {
      announce("No undecided AI draft left");
      return;
    }
    const index = open.findIndex((d) => d.id === this.current);
    this.focus(open[(index + 1) % open.length].id);
    announce(`AI draft ${this.find(this.current).label}`);
  }

  /** The page's extra shortcuts; true when a key was used. */
  handleKey(event) {
    if (!this.enabled || !this.drafts.length || isTyping(event)) return false;
    if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey) return false;
    const action = { a: "accept", d: "edit", r: "reject", n: "next" }[event.key.toLowerCase()];
    if (!action) return false;
    if (action === "next") this.next();
    else if (this.current !== null) this.act(action, this.current);
    return true;
  }

  // ----- actions -----

  async act(action, id) {
    const draft = this.find(id);
    if (!draft || draft.status !== "draft" || this.readOnly || this.busy) return;
    if (action === "edit") {
      this.startEdit(draft);
      return;
    }
    if (this.editing.has(id)) return; // being edited: save or undo the copy instead
    this.busy = true;
    this.render();
    try {
      if (action === "accept") {
        const answer = await post(`/api/proposals/${encodeURIComponent(id)}/accept`, {});
        this.set.adopt(newKey(), answer.annotation);
        this.set.changed();
        this.replace(answer.proposal);
        announce(`AI draft ${draft.label} accepted as your annotation`);
      } else if (action === "reject") {
        const answer = await post(`/api/proposals/${encodeURIComponent(id)}/reject`, { reason: this.reason.value });
        this.reason.value = "";
        this.replace(answer.proposal);
        announce(`AI draft ${draft.label} rejected`);
      }
    } catch (error) {
      showError(error);
    } finally {
      this.busy = false;
      this.moveOn();
    }
  }

  /** Copy the draft into the reader's own annotations, unsaved, to change with the tools. */
  startEdit(draft) {
    if (this.editing.has(draft.id)) return;
    const copy = itemFromStored("draft", { label: draft.label, kind: draft.kind, geometry: draft.geometry });
    const { key: _ignored, ...fields } = copy;
    const item = this.set.add({ ...fields, fromProposal: draft.id });
    this.editing.set(draft.id, item.key);
    if (this.annotator) {
      this.annotator.select(item.key);
      const tool = { mask: "brush", box: "select", classification: "select" }[draft.kind] || "select";
      this.annotator.setTool(tool);
    }
    announce(`Editing AI draft ${draft.label}: change it, then save`);
    this.moveOn();
  }

  /** After a save, link each saved copy to its draft (the node records the edit and its size). */
  async linkSavedEdits() {
    if (this.linking) return;
    const pending = [...this.editing.entries()].filter(([id, key]) => {
      const entry = this.set.server.get(key);
      return entry?.aid && this.find(id)?.status === "draft";
    });
    if (!pending.length) {
      this.forgetDiscardedCopies();
      return;
    }
    this.linking = true;
    try {
      for (const [id, key] of pending) {
        const { aid } = this.set.server.get(key);
        const answer = await post(`/api/proposals/${encodeURIComponent(id)}/edit`, { annotation_id: aid });
        this.editing.delete(id);
        this.replace(answer.proposal);
        announce(`Your edit of AI draft ${answer.proposal.label} is saved (Dice ${answer.proposal.dice?.toFixed(2)})`);
      }
    } catch (error) {
      showError(error);
    } finally {
      this.linking = false;
      this.render();
    }
  }

  /** An undone, unsaved copy gives its draft back. */
  forgetDiscardedCopies() {
    let changed = false;
    for (const [id, key] of [...this.editing.entries()]) {
      if (!this.set.find(key) && !this.set.server.has(key)) {
        this.editing.delete(id);
        changed = true;
      }
    }
    if (changed) this.render();
  }

  replace(proposal) {
    this.drafts = this.drafts.map((d) => (d.id === proposal.id ? { ...proposal, decoded: d.decoded } : d));
  }

  moveOn() {
    if (!this.find(this.current) || this.statusOf(this.find(this.current)) !== "draft") {
      this.current = this.drafts.find((d) => this.statusOf(d) === "draft")?.id ?? null;
    }
    this.render();
  }
}
