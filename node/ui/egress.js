// The egress ledger for administrators: everything that left the node (time, kind, bytes,
// sha256, round, privacy parameters), each purpose's privacy budget spent and left, the
// chain's verification, and downloads of the whole ledger (JSON lines or CSV).
// From GET /api/egress, /api/egress/budgets, /api/egress/verify and /api/egress/export.

import { get, showError } from "./api.js";
import { section, table } from "./common/layout.js";
import { h, replace } from "./dom.js";

const PAGE = 200;

const number = (value) => (value === null || value === undefined ? "—" : Number(value).toPrecision(4).replace(/\.?0+$/, ""));

function privacy(row) {
  if (row.epsilon === null || row.epsilon === undefined) return "—";
  return `${row.mechanism}: ε=${number(row.epsilon)}, δ=${number(row.delta)}`;
}

function spent(row) {
  if (row.spent_epsilon === null || row.spent_epsilon === undefined) return "—";
  return `ε=${number(row.spent_epsilon)}, δ=${number(row.spent_delta)}`;
}

const COLUMNS = [
  ["seq", "#"],
  ["recorded_at", "Time (UTC)", (value) => value.replace("T", " ").slice(0, 19)],
  ["outcome", "Outcome"],
  ["kind", "Kind"],
  ["destination", "Destination"],
  ["byte_count", "Bytes"],
  ["sha256", "SHA-256", (value) => value || "—"],
  ["round_id", "Round", (value) => value || "—"],
  ["epsilon", "Privacy", (_value, row) => privacy(row)],
  ["spent_epsilon", "Purpose spent after", (_value, row) => spent(row)],
  ["reason", "Refusal reason", (value) => value || "—"],
];

function verification(result) {
  const text = result.intact
    ? `Ledger intact: ${result.entries} ${result.entries === 1 ? "entry" : "entries"}, chain and sealed head verified (head ${result.head_seq}).`
    : `Ledger TAMPERED at entry ${result.first_bad_seq}: ${result.problem}`;
  return h("div", { class: result.intact ? "ledger-ok" : "ledger-bad", role: "status", "data-testid": "ledger-verify" },
    h("p", { text }),
    result.warnings.map((warning) => h("p", { class: "muted", text: `Warning: ${warning}` })));
}

function budgetRows(purposes) {
  return purposes.map((p) => ({
    purpose: p.purpose,
    budget: p.budget ? `ε=${number(p.budget.epsilon)}, δ=${number(p.budget.delta)}${p.budget.period_days ? ` per ${number(p.budget.period_days)} days` : ""}` : "no budget set: nothing charged may leave",
    spent: `ε=${number(p.spent.epsilon)}, δ=${number(p.spent.delta)}`,
    left: p.left ? `ε=${number(p.left.epsilon)}, δ=${number(p.left.delta)}` : "—",
    releases: p.charged_releases,
    as_of: p.as_of ? p.as_of.replace("T", " ").slice(0, 19) : "—",
  }));
}

function downloads() {
  return h("p", { class: "ledger-export" },
    "Download the whole ledger: ",
    h("a", { class: "button", href: "/api/egress/export?format=jsonl", download: "", "data-testid": "export-jsonl", text: "Export JSON lines" }),
    " ",
    h("a", { class: "button", href: "/api/egress/export?format=csv", download: "", "data-testid": "export-csv", text: "Export CSV" }));
}

export async function render(main) {
  const container = h("div", { class: "egress" }, h("h1", { text: "Egress ledger" }));
  main.append(container);
  const status = h("p", { class: "muted", role: "status", text: "Loading the ledger…" });
  container.append(status);
  let verified;
  let budgets;
  let page;
  try {
    [verified, budgets, page] = await Promise.all([
      get("/api/egress/verify"),
      get("/api/egress/budgets"),
      get(`/api/egress?limit=${PAGE}`),
    ]);
  } catch (error) {
    status.textContent = "";
    showError(error);
    return;
  }
  status.remove();
  const entries = [...page.entries];
  const holder = h("div", {});
  const footer = h("div", {});
  const more = h("button", { type: "button", text: "Load more" });
  const draw = () => {
    replace(holder, table(`Entries 1–${entries.length} of ${page.head}, oldest first`, COLUMNS, entries, "Nothing has left this node yet."));
    replace(footer, entries.length < page.head ? more : []);
  };
  more.addEventListener("click", async () => {
    try {
      const next = await get(`/api/egress?limit=${PAGE}&after=${entries[entries.length - 1].seq}`);
      entries.push(...next.entries);
      draw();
    } catch (error) {
      showError(error);
    }
  });
  draw();
  container.append(
    section("Verification", verification(verified), downloads()),
    section("Privacy budgets", table("Per purpose: the site's budget, what released entries spent, what is left", [
      ["purpose", "Purpose"],
      ["budget", "Budget"],
      ["spent", "Spent"],
      ["left", "Left"],
      ["releases", "Charged releases"],
      ["as_of", "As of (UTC)"],
    ], budgetRows(budgets.purposes))),
    section("What left the node", holder, footer),
  );
}
