// Sites: membership status, when each last called the site API, the software version it
// reported, and the privacy charges it reported in stored rounds. Unknowns are said as such.

import { announce, get, post, showError } from "./common/api.js";
import { field, h } from "./common/dom.js";
import { section, table } from "./common/layout.js";
import { age, when } from "./format.js";
import { can } from "./session.js";

export async function render(main) {
  const container = h("div", { class: "dashboard" });
  main.append(container);
  container.append(h("h1", { text: "Sites" }));
  let data;
  try {
    data = await get("/api/v1/dashboard/sites");
  } catch (error) {
    showError(error);
    return;
  }
  const rows = data.sites;
  const count = (status) => rows.filter((s) => s.status === status).length;
  container.append(
    h("p", { id: "sites-summary", text: `${rows.length} site(s): ${count("enrolled")} enrolled, ${count("pending")} waiting to enroll, ${count("revoked")} revoked.` }),
    section("Sites", table("Every registered site", [
      ["name", "Site"],
      ["status", "Status"],
      ["enrolled_at", "Enrolled", (v) => when(v, "not yet")],
      ["last_seen_at", "Last seen", lastSeen],
      ["software_version", "Software version", version],
      ["privacy", "Rounds answered / refused / missing", rounds],
      ["privacy", "ε reported (sum)", epsilon],
      ["privacy", "Last round", (v) => (v ? `${v.last_round_id} (${when(v.last_round_at)})` : "none stored")],
    ], rows, "No site yet: add one below or with 'harmonia-coordinator site add'."),
    h("p", { class: "muted small", text: data.privacy_note })),
  );
  if (can("manage_sites")) container.append(addSite());
  announce(`${rows.length} site(s) loaded.`);
}

function lastSeen(value) {
  if (!value) return "unknown: never called the site API";
  return `${age(value)} (${when(value)})`;
}

function version(value, row) {
  if (!value) return "unknown: not reported";
  return row.version_source === "health" ? `${value} (health report ${when(row.health_reported_at)})` : `${value} (at enrollment)`;
}

function rounds(value) {
  if (!value) return "unknown: in no stored round";
  return `${value.rounds_answered} / ${value.rounds_refused} / ${value.rounds_missing}`;
}

function epsilon(value) {
  if (!value) return "unknown";
  if (!value.releases) return "0 (no noised release)";
  return `${value.epsilon_sum.toFixed(3)} over ${value.releases} release(s), δ ${value.delta_sum.toExponential(1)}`;
}

function addSite() {
  const name = h("input", { name: "site", required: true, autocomplete: "off", spellcheck: "false" });
  const result = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary", text: "Add site" });
  const form = h("form", { class: "inline-form" },
    field("Site name", name, "Lower-case letters, digits and dashes; the hospital's node enrolls under it."),
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const issued = await post("/api/v1/sites", { name: name.value.trim() });
      result.replaceChildren(
        h("p", { text: `Site ${issued.site} registered. Give the hospital this one-time enrollment token (shown once, valid until ${when(issued.expires_at)}):` }),
        h("pre", { class: "token", id: "enrollment-token", text: issued.token }),
        h("p", { class: "muted small", text: `On the node: harmonia-node enroll --data-dir DIR --coordinator ${issued.coordinator_url} --site ${issued.site} --token <token>` }),
      );
      name.value = "";
    } catch (error) {
      showError(error);
    } finally {
      submit.disabled = false;
    }
  });
  return section("Add a site", form, result);
}
