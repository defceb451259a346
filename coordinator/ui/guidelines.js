// Guidelines: the signed releases, a diff between any two versions, and the author's draft
// (paste JSON or YAML, check it against the schema and the published versions, publish it as a
// signed release).

import { ApiError, announce, get, post, request, showError } from "./common/api.js";
import { field, h, replace } from "./common/dom.js";
import { section, table } from "./common/layout.js";
import { renderDiff } from "./diff.js";
import { when } from "./format.js";
import { can } from "./session.js";

export async function render(main) {
  const container = h("div", { class: "dashboard guidelines" });
  main.append(container);
  container.append(h("h1", { text: "Guidelines" }));
  const releasesHolder = h("div");
  const diffHolder = h("div");
  container.append(releasesHolder, diffHolder);
  const refresh = async () => {
    let releases;
    try {
      releases = (await get("/api/v1/guidelines")).releases;
    } catch (error) {
      showError(error);
      return;
    }
    replace(releasesHolder, releaseSection(releases));
    replace(diffHolder, diffSection(releases));
  };
  await refresh();
  if (can("publish_guidelines")) container.append(authorSection(refresh));
}

function releaseSection(releases) {
  const viewer = h("div", { class: "release-view" });
  const view = async (row) => {
    try {
      const envelope = await get(`/api/v1/guidelines/${encodeURIComponent(row.name)}/${encodeURIComponent(row.version)}`);
      replace(viewer,
        h("h3", { text: `${row.name}@${row.version}: signed payload` }),
        h("p", { class: "muted small", text: `Signed ${when(envelope.signed_at)} with key ${envelope.key_id}; nodes verify this signature before loading it.` }),
        h("pre", { class: "document", tabindex: "0", text: JSON.stringify(envelope.payload, null, 2) }));
    } catch (error) {
      showError(error);
    }
  };
  const rows = releases.map((r) => ({ ...r, view: r }));
  return section("Published releases",
    table("Signed guideline releases, by name and version", [
      ["name", "Guideline"], ["version", "Version"], ["title", "Title"],
      ["sha256", "SHA-256", (v) => `${v.slice(0, 12)}…`], ["signed_at", "Signed", (v) => when(v)],
      ["published_by", "Published by"],
    ], rows, "No release yet."),
    rows.length ? h("div", { class: "actions" }, rows.map((row) =>
      h("button", { type: "button", class: "link", onclick: () => view(row), text: `Show ${row.name}@${row.version}` }))) : null,
    viewer);
}

function diffSection(releases) {
  const names = [...new Set(releases.map((r) => r.name))];
  if (!names.length) return section("Compare versions", h("p", { class: "empty", text: "Publish a guideline to compare its versions." }));
  const name = h("select", { name: "diff-guideline" }, names.map((n) => h("option", { value: n, text: n })));
  const from = h("select", { name: "diff-from" });
  const to = h("select", { name: "diff-to" });
  const result = h("div", { "aria-live": "polite" });
  const fill = () => {
    const versions = releases.filter((r) => r.name === name.value).map((r) => r.version);
    replace(from, versions.map((v, i) => h("option", { value: v, text: v, selected: i === Math.max(versions.length - 2, 0) })));
    replace(to, versions.map((v, i) => h("option", { value: v, text: v, selected: i === versions.length - 1 })));
  };
  name.addEventListener("change", fill);
  fill();
  const compare = h("button", { type: "submit", text: "Compare" });
  const form = h("form", { class: "inline-form" }, field("Guideline", name), field("From version", from), field("To version", to), compare);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const query = new URLSearchParams({ from: from.value, to: to.value });
      const diff = await get(`/api/v1/guidelines/${encodeURIComponent(name.value)}/diff?${query}`);
      replace(result, renderDiff(diff));
      announce(`Diff of ${name.value} ${from.value} to ${to.value} shown.`);
    } catch (error) {
      showError(error);
    }
  });
  return section("Compare versions", form, result);
}

function authorSection(refresh) {
  const format = h("select", { name: "draft-format" },
    h("option", { value: "yaml", text: "YAML" }), h("option", { value: "json", text: "JSON" }));
  const text = h("textarea", { name: "draft", rows: 16, spellcheck: "false", class: "draft" });
  const check = h("button", { type: "button", text: "Check draft" });
  const publish = h("button", { type: "button", class: "primary", text: "Publish signed release", disabled: true });
  const result = h("div", { id: "draft-result", "aria-live": "polite" });
  let checked = null; // the text last checked and found publishable
  const contentType = () => (format.value === "yaml" ? "application/yaml" : "application/json");
  const invalidate = () => {
    checked = null;
    publish.disabled = true;
  };
  text.addEventListener("input", invalidate);
  format.addEventListener("change", invalidate);

  check.addEventListener("click", async () => {
    invalidate();
    if (!text.value.trim()) {
      replace(result, problems("The draft is empty: paste a guideline in YAML or JSON.", []));
      return;
    }
    try {
      const answer = await request("POST", "/api/v1/guidelines/validate", { body: text.value, contentType: contentType() });
      const parts = [
        h("p", { class: answer.publishable ? "ok" : "warn", text: answer.publishable
          ? `Valid: ${answer.name}@${answer.version} “${answer.title}”, ${answer.labels.length} label(s): ${answer.labels.map((l) => `${l.name} (${l.kind})`).join(", ")}.`
          : `The draft follows the schema, but cannot be published as it is.` }),
      ];
      if (answer.problems.length) parts.push(h("ul", { class: "problems" }, answer.problems.map((p) => h("li", { text: p }))));
      parts.push(answer.diff
        ? h("div", {}, h("h3", { text: `What it changes against the newest release (${answer.newest_published})` }), renderDiff(answer.diff))
        : h("p", { class: "muted", text: `${answer.name} has no published version yet: this would be its first release.` }));
      replace(result, ...parts);
      if (answer.publishable) {
        checked = text.value;
        publish.disabled = false;
      }
      announce(answer.publishable ? "The draft is valid." : "The draft cannot be published yet.");
    } catch (error) {
      if (error instanceof ApiError && (error.status === 422 || error.status === 400)) {
        replace(result, problems("The draft is not a valid guideline:", error.detail.split("; ")));
        announce("The draft is not valid.");
      } else showError(error);
    }
  });

  publish.addEventListener("click", async () => {
    if (checked === null || checked !== text.value) return;
    publish.disabled = true;
    try {
      const release = await request("POST", "/api/v1/guidelines", { body: text.value, contentType: contentType() });
      replace(result, h("p", { class: "ok", id: "publish-result", text: `Published ${release.name}@${release.version}, signed with key ${release.key_id} (SHA-256 ${release.sha256.slice(0, 12)}…). Nodes fetch it at their next guideline sync.` }));
      checked = null;
      await refresh();
      announce(`Published ${release.name}@${release.version}.`);
    } catch (error) {
      showError(error);
    }
  });

  const startFrom = h("button", { type: "button", class: "link", text: "Start from the newest release of…" });
  const source = h("input", { name: "draft-source", placeholder: "guideline name", autocomplete: "off" });
  startFrom.addEventListener("click", async () => {
    try {
      const releases = (await get("/api/v1/guidelines")).releases.filter((r) => r.name === source.value.trim());
      if (!releases.length) throw new Error(`no published guideline named ${source.value.trim() || "(empty)"}`);
      const newest = releases[releases.length - 1];
      const envelope = await get(`/api/v1/guidelines/${encodeURIComponent(newest.name)}/${encodeURIComponent(newest.version)}`);
      format.value = "json";
      text.value = JSON.stringify(envelope.payload, null, 2);
      invalidate();
      text.focus();
    } catch (error) {
      showError(error);
    }
  });

  return section("Author a new version",
    h("p", { class: "muted", text: "Paste a guideline in YAML or JSON (the schema of docs/examples/guideline-lung-nodule.yaml). Check it: schema errors are listed field by field, and a valid draft shows what it changes against the newest release. Publishing signs it with the consortium's guideline key; releases are immutable, so each change needs a higher version." }),
    h("div", { class: "inline-form" }, field("Start from", source), startFrom),
    field("Format", format),
    field("Draft", text),
    h("div", { class: "actions" }, check, publish),
    result);
}

function problems(title, items) {
  return h("div", { class: "problems-box", role: "alert" },
    h("p", { class: "warn", text: title }),
    items.length ? h("ul", { class: "problems" }, items.map((p) => h("li", { text: p }))) : null);
}
