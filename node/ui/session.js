// Who is signed in: the session cookie is HttpOnly, so the UI asks /api/auth/me.

import { ApiError, get, post, setCsrfToken } from "./api.js";

const ROLE_PERMISSIONS = {
  annotator: ["view_images", "annotate"],
  reviewer: ["view_images", "annotate", "review", "adjudicate", "view_quality"],
  admin: ["view_images", "annotate", "review", "adjudicate", "view_quality", "manage_projects"],
};

let current = null;

export function currentUser() {
  return current;
}

/** Permissions of the signed-in user (from the server when it lists them, else by role). */
export function can(permission) {
  if (!current) return false;
  const listed = current.permissions;
  if (Array.isArray(listed)) return listed.includes(permission);
  return (ROLE_PERMISSIONS[current.role] || []).includes(permission);
}

function adopt(answer) {
  current = answer?.user || null;
  setCsrfToken(answer?.csrf_token);
  return current;
}

/** The signed-in user, or null when there is no valid session. */
export async function loadSession() {
  try {
    return adopt(await get("/api/auth/me"));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
      return adopt(null);
    }
    throw error;
  }
}

export async function login(username, password) {
  const answer = await post("/api/auth/login", { username, password });
  try {
    await get("/api/auth/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      // The node set a Secure cookie that this browser will not send back over plain http.
      throw new ApiError(
        401,
        "SessionCookieRefused",
        "signed in, but the browser did not keep the session cookie: open the node over HTTPS " +
          "(or on localhost), or turn session_cookie_secure off in the development profile",
      );
    }
    throw error;
  }
  return adopt(answer);
}

export async function logout() {
  try {
    await post("/api/auth/logout", {});
  } finally {
    adopt(null);
  }
}

export function forgetSession() {
  adopt(null);
}
