// Entry point of the coordinator dashboard: the header, the session and the hash routes.

import { clearError, setServiceName, setUnauthorizedHandler, showError } from "./common/api.js";
import { navigate, route, setGuard, setHome, start } from "./common/router.js";
import * as guidelines from "./guidelines.js";
import * as login from "./login.js";
import * as report from "./report.js";
import * as rounds from "./rounds.js";
import { currentUser, forgetSession, loadSession, logout } from "./session.js";
import * as sites from "./sites.js";
import * as training from "./training.js";

setServiceName("the coordinator");
setHome("#/sites");

route("/login", login.render, { public: true });
route("/sites", sites.render);
route("/guidelines", guidelines.render);
route("/rounds", rounds.render);
route("/rounds/:id", rounds.renderRound);
route("/training", training.render);
route("/training/:id", training.renderRun);
route("/report", report.render);
route("/report/:guideline", report.render);

setGuard((found) => {
  if (found.isPublic || currentUser()) return null;
  const here = window.location.hash || "#/sites";
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
  document.getElementById("nav").hidden = !user;
  document.getElementById("whoami").textContent = user ? `${user.username} (${user.role})` : "";
  document.getElementById("logout").hidden = !user;
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
  try {
    await loadSession();
  } catch (error) {
    showError(error);
  }
  updateHeader();
  await start();
}

main().catch(showError);
