// The service's HTTP API (the node's or the coordinator's): JSON in and out, the session cookie,
// the CSRF header, errors with detail. Shared by both UIs (served at /ui/common/).

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
let csrfToken = null;
let onUnauthorized = null;
let service = "the server";

/** Name the service in messages ("the node", "the coordinator"). */
export function setServiceName(name) {
  service = name;
}

/** An HTTP error from the service, carrying its `{"error", "detail"}` body. */
export class ApiError extends Error {
  constructor(status, type, detail) {
    super(detail || `${status} ${type}`);
    this.status = status;
    this.type = type;
    this.detail = detail;
  }
}

export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Called with the error when a request answers 401 (the session ended). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

function describe(body, status) {
  if (!body) return `${service} answered ${status}`;
  const { detail } = body;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI request validation: [{loc, msg}, ...]
    return detail
      .map((item) => `${(item.loc || []).filter((p) => p !== "body").join(".")}: ${item.msg}`)
      .join("; ");
  }
  return body.error ? `${body.error} (${status})` : `${service} answered ${status}`;
}

/**
 * One request. `body` is sent as JSON unless it is a string (then `contentType` names it).
 * Returns parsed JSON, null for 204, or the Response when `raw` is true.
 */
export async function request(method, path, { body, contentType, raw = false, signal } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", signal };
  if (body !== undefined) {
    if (typeof body === "string") {
      headers["Content-Type"] = contentType || "text/plain";
      init.body = body;
    } else {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  if (UNSAFE.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "NetworkError", `${service} cannot be reached; check the connection`);
  }
  if (!response.ok) {
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    const error = new ApiError(response.status, parsed?.error || "HTTPError", describe(parsed, response.status));
    if (response.status === 401 && onUnauthorized) onUnauthorized(error);
    throw error;
  }
  if (raw) return response;
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path, options) => request("GET", path, options);
export const post = (path, body, options) => request("POST", path, { ...options, body });
export const put = (path, body, options) => request("PUT", path, { ...options, body });
export const del = (path, options) => request("DELETE", path, options);

/** Show an error in the page's alert banner (the server's detail when it gave one). */
export function showError(error) {
  const banner = document.getElementById("error-banner");
  const text = document.getElementById("error-text");
  if (!banner || !text) return;
  text.textContent = error instanceof ApiError ? error.detail : String(error?.message || error);
  banner.hidden = false;
}

export function clearError() {
  const banner = document.getElementById("error-banner");
  if (banner) banner.hidden = true;
}

/** Say something to screen readers without moving focus. */
export function announce(message) {
  const live = document.getElementById("live");
  if (live) {
    live.textContent = "";
    window.setTimeout(() => {
      live.textContent = message;
    }, 30);
  }
}
