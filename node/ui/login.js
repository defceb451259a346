// The sign-in form.

import { clearError, showError } from "./api.js";
import { field, h } from "./dom.js";
import { navigate } from "./router.js";
import { login } from "./session.js";

export function render(container, _params, query) {
  const username = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "primary", text: "Sign in" });
  const form = h(
    "form",
    { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", text: "Sign in to Harmonia" }),
    field("Username", username),
    field("Password", password),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await login(username.value.trim(), password.value);
      clearError();
      document.dispatchEvent(new CustomEvent("harmonia:session"));
      navigate(query.get("next") || "#/worklist");
    } catch (error) {
      showError(error);
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  container.append(form);
  username.focus();
}
