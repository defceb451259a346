// Hash routes: "#/worklist", "#/task/12", ... Each page renders into <main> and may return a
// cleanup function, called before the next page renders (viewers drop their key listeners).
// Shared by both UIs (served at /ui/common/); each names its home page with setHome().

const routes = [];
let home = "#/";
let cleanup = null;
let guard = null;
let leaveGuard = null; // () => boolean: may the current page be left?
let currentHash = "";

/** Register `pattern` (e.g. "/task/:id") with `render(container, params, query)`. */
export function route(pattern, render, { public: isPublic = false } = {}) {
  const names = [];
  const source = pattern.replace(/:([a-z]+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}$`), names, render, isPublic });
}

/** The page an empty or unknown hash shows, e.g. "#/worklist". */
export function setHome(hash) {
  home = hash;
}

/** `check(route)` returns a hash to go to instead (e.g. "#/login"), or null. */
export function setGuard(check) {
  guard = check;
}

/** A page with unsaved work registers a check; leaving asks first when it says no. */
export function setLeaveGuard(check) {
  leaveGuard = check;
}

export function navigate(hash) {
  if (window.location.hash === hash) dispatch();
  else window.location.hash = hash;
}

function parse() {
  const raw = window.location.hash.replace(/^#/, "") || home.replace(/^#/, "");
  const [path, search = ""] = raw.split("?");
  return { path, query: new URLSearchParams(search) };
}

export async function dispatch() {
  const { path, query } = parse();
  const main = document.getElementById("main");
  const found = routes.find((r) => r.regex.test(path));
  if (leaveGuard && window.location.hash !== currentHash && !leaveGuard()) {
    if (!window.confirm("You have unsaved changes. Leave without saving?")) {
      history.replaceState(null, "", currentHash || home);
      return;
    }
  }
  leaveGuard = null;
  currentHash = window.location.hash;
  if (cleanup) {
    const previous = cleanup;
    cleanup = null;
    previous();
  }
  if (!found) {
    navigate(home);
    return;
  }
  const redirect = guard ? guard(found) : null;
  if (redirect) {
    navigate(redirect);
    return;
  }
  const match = found.regex.exec(path);
  const params = {};
  found.names.forEach((name, i) => {
    params[name] = decodeURIComponent(match[i + 1]);
  });
  main.replaceChildren();
  document.querySelectorAll("[data-nav]").forEach((link) => {
    const active = path.startsWith(`/${link.dataset.nav}`);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  });
  const result = await found.render(main, params, query);
  if (typeof result === "function") cleanup = result;
}

export function start() {
  window.addEventListener("hashchange", dispatch);
  return dispatch();
}
