// Alerts for administrators (a refused guideline release...): a banner under the header on every
// page, each alert with a Dismiss button. From GET /api/alerts, POST /api/alerts/{id}/dismiss.

import { get, post, showError } from "./api.js";
import { h, replace } from "./dom.js";
import { can } from "./session.js";

function banner() {
  return document.getElementById("alert-banner");
}

function item(alert) {
  const dismiss = h("button", { type: "button", text: "Dismiss", "aria-label": `Dismiss the alert about ${alert.subject}` });
  dismiss.addEventListener("click", async () => {
    dismiss.disabled = true;
    try {
      await post(`/api/alerts/${alert.id}/dismiss`);
      await refreshAlerts();
    } catch (error) {
      dismiss.disabled = false;
      showError(error);
    }
  });
  const seen = alert.occurrences > 1 ? ` (seen ${alert.occurrences} times, last ${alert.last_seen_at.replace("T", " ").slice(0, 19)} UTC)` : "";
  return h("li", { class: "alert-item", "data-alert": alert.id },
    h("strong", { text: `${alert.subject}: ` }), h("span", { text: alert.message + seen }), " ", dismiss);
}

/** Show the open alerts (administrators only); hide the banner when there are none. */
export async function refreshAlerts() {
  const element = banner();
  if (!element) return;
  if (!can("administer")) {
    element.hidden = true;
    return;
  }
  let alerts;
  try {
    ({ alerts } = await get("/api/alerts"));
  } catch (error) {
    showError(error);
    return;
  }
  replace(element, alerts.length ? h("ul", {}, alerts.map(item)) : []);
  element.hidden = alerts.length === 0;
}
