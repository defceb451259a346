// The quality dashboard's AI-drafts panel: how readers received the model's drafts, per model
// version — acceptance rate, and the edit Dice between each kept draft and the reader's final
// annotation — from GET /api/projects/{project}/assist/tracking.

import { get } from "./api.js";
import { barChart, formatValue } from "./charts.js";
import { section, table } from "./common/layout.js";
import { h, replace } from "./dom.js";

const number = (v) => formatValue(v); // table() passes the row as a second argument
const percent = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)}%`);

function binName(bin) {
  return bin.from === 1 && bin.to === 1 ? "1 (kept)" : `${bin.from.toFixed(1)}–${bin.to.toFixed(1)}`;
}

function modelBlock(model) {
  const total = model.edit_dice_n || 0;
  const items = model.edit_dice_histogram.map((bin) => ({
    name: binName(bin),
    value: total ? bin.count / total : NaN,
  }));
  return h("div", { class: "pair", dataset: { model: model.model_key } },
    barChart({
      title: `Edit Dice of ${model.model_key}`,
      description: `${total} kept draft(s): share per Dice between the draft and the reader's final annotation; ` +
        `acceptance rate ${percent(model.acceptance_rate)}, mean edit Dice ${formatValue(model.edit_dice_mean)}.`,
      items,
    }),
    table(`Edit Dice distribution of ${model.model_key}`, [
      ["name", "Dice"], ["count", "Drafts"],
    ], model.edit_dice_histogram.map((bin) => ({ name: binName(bin), count: bin.count }))));
}

/** A dashboard section; fills itself once the figures arrive. */
export function assistSection(project) {
  const body = h("div", { class: "assist-panel" }, h("p", { class: "muted", text: "Loading AI-draft figures…" }));
  const panel = section("AI drafts: acceptance and edit size", body);
  get(`/api/projects/${encodeURIComponent(project)}/assist/tracking`)
    .then((data) => {
      if (!data.models.length) {
        replace(body, h("p", { class: "empty", text: "No AI draft has been shown in this project yet." }));
        return;
      }
      replace(body,
        h("p", { class: "muted", text: `Drafts are ${data.preannotation ? "on" : "off"} for readers. Rates are over decided drafts; a draft kept and changed later counts with its final Dice.` }),
        table("AI drafts per model version", [
          ["model_key", "Model"], ["decided", "Decided"], ["accepted", "Accepted"], ["edited", "Edited"],
          ["rejected", "Rejected"], ["discarded", "Kept, then deleted"], ["ignored", "Ignored"], ["pending", "Pending"],
          ["acceptance_rate", "Acceptance rate", percent], ["kept_rate", "Kept (accepted + edited)", percent],
          ["edit_dice_mean", "Mean edit Dice", number], ["edit_dice_median", "Median edit Dice", number],
        ], data.models),
        table("AI drafts per model version and label", [
          ["model_key", "Model"], ["label", "Label"], ["decided", "Decided"], ["acceptance_rate", "Acceptance rate", percent],
          ["edit_dice_mean", "Mean edit Dice", number],
        ], data.labels),
        ...data.models.map(modelBlock));
    })
    .catch((error) => {
      replace(body, h("p", { class: "empty", text: `AI-draft figures unavailable: ${error.detail || error.message || error}` }));
    });
  return panel;
}
