// Who is signed in. The admin token is sent once, at sign-in; afterwards the browser holds only
// the HttpOnly session cookie, and this module the session's CSRF token (in memory).

import { ApiError, get, post, setCsrfToken } from "./common/api.js";

let current = null;

export function currentUser() {
  return current;
}

/** Whether the signed-in admin's role grants `permission` (the server lists them). */
export function can(permission) {
  return Boolean(current && (current.permissions || []).includes(permission));
}

function adopt(answer) {
  current = answer?.user || null;
  setCsrfToken(answer?.csrf_token);
  return current;
}

/** The signed-in admin, or null when there is no valid session. */
export async function loadSession() {
  try {
    return adopt(await get("/api/v1/auth/me"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return adopt(null);
    throw error;
  }
}

export async function login(token) {
  const answer = await post("/api/v1/auth/login", { token });
  try {
    await get("/api/v1/auth/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      throw new ApiError(
        401,
        "SessionCookieRefused",
        "the token is valid, but the browser did not keep the session cookie: open the " +
          "dashboard at the coordinator's public URL (https behind the reverse proxy)",
      );
    }
    throw error;
  }
  return adopt(answer);
}

export async function logout() {
  try {
    await post("/api/v1/auth/logout", {});
  } finally {
    adopt(null);
  }
}

export function forgetSession() {
  adopt(null);
}
