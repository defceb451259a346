// Entry point: wires the header, the session and the hash routes.

import { clearError, setUnauthorizedHandler, showError } from "./api.js";
import * as adjudication from "./adjudication.js";
import { refreshAlerts } from "./alerts.js";
import * as dashboard from "./dashboard.js";
import * as egress from "./egress.js";
import * as login from "./login.js";
import * as review from "./review.js";
import { navigate, route, setGuard, start } from "./router.js";
import { can, currentUser, forgetSession, loadSession, logout } from "./session.js";
import * as task from "./task.js";
import * as worklist from "./worklist.js";

route("/login", login.render, { public: true });
route("/worklist", worklist.render);
route("/task/:id", task.render);
route("/series/:study/:series", task.renderSeries);
route("/review", review.render);
route("/review/:id", review.renderTask);
route("/adjudication", adjudication.render);
route("/adjudication/:id", adjudication.renderTask);
route("/dashboard", dashboard.render);
route("/dashboard/:project", dashboard.render);
route("/egress", egress.render);

setGuard((found) => {
  if (found.isPublic || currentUser()) return null;
  const here = window.location.hash || "#/worklist";
  return here.startsWith("#/login") ? null : `#/login?next=${encodeURIComponent(here)}`;
});

setUnauthorizedHandler(() => {
  if (!currentUser()) return;
  forgetSession();
  updateHeader();
  if (!window.location.hash.startsWith("#/login")) navigate("#/login");
});

function updateHeader() {
  const user = currentUser();
  const nav = document.getElementById("nav");
  nav.hidden = !user;
  document.querySelectorAll("[data-permission]").forEach((link) => {
    link.hidden = !can(link.dataset.permission);
  });
  document.getElementById("whoami").textContent = user
    ? `${user.display_name || user.username} (${user.role})`
    : "";
  document.getElementById("logout").hidden = !user;
  refreshAlerts();
}

async function main() {
  document.getElementById("error-dismiss").addEventListener("click", clearError);
  document.getElementById("skip-link").addEventListener("click", () => {
    document.getElementById("main").focus();
  });
  document.getElementById("logout").addEventListener("click", async () => {
    try {
      await logout();
    } catch (error) {
      showError(error);
    }
    updateHeader();
    navigate("#/login");
  });
  document.addEventListener("harmonia:session", updateHeader);
  window.addEventListener("hashchange", clearError);
  window.addEventListener("hashchange", refreshAlerts);
  try {
    await loadSession();
  } catch (error) {
    showError(error);
  }
  updateHeader();
  await start();
}

main().catch(showError);
