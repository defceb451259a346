// The sign-in form: an admin token, sent once in a POST body, never in a URL.

import { clearError, showError } from "./common/api.js";
import { field, h } from "./common/dom.js";
import { navigate } from "./common/router.js";
import { login } from "./session.js";

export function render(container, _params, query) {
  const token = h("input", {
    name: "token",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
  });
  const submit = h("button", { type: "submit", class: "primary", text: "Sign in" });
  const form = h(
    "form",
    { class: "card login", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title", text: "Sign in to the coordinator" }),
    field(
      "Admin token",
      token,
      "The token 'harmonia-coordinator token create' printed. It is checked once; the " +
        "browser then keeps only a session cookie.",
    ),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await login(token.value.trim());
      token.value = "";
      clearError();
      document.dispatchEvent(new CustomEvent("harmonia:session"));
      navigate(query.get("next") || "#/sites");
    } catch (error) {
      showError(error);
      token.select();
    } finally {
      submit.disabled = false;
    }
  });
  container.append(form);
  token.focus();
}
