// The reader's worklist: progress, filters (project, status), priority sort.

import { get, showError } from "./api.js";
import { field, h, replace } from "./dom.js";

// Task statuses (open, adjudication, consensus) and my own (assigned, in_progress, done, rejected).
const STATUSES = ["", "assigned", "in_progress", "done", "rejected", "open", "adjudication", "consensus"];

function reason(task) {
  return task.review_status === "rejected" || task.my_status === "rejected" ? task.review_reason || "" : "";
}

function label(status) {
  return status ? String(status).replace(/_/g, " ") : "—";
}

export async function render(container, _params, query) {
  const project = h("select", { name: "project" }, h("option", { value: "", text: "All projects" }));
  const status = h(
    "select",
    { name: "status" },
    STATUSES.map((s) => h("option", { value: s, text: s ? label(s) : "Any status" })),
  );
  const sort = h(
    "select",
    { name: "sort" },
    h("option", { value: "priority", text: "Priority (highest first)" }),
    h("option", { value: "id", text: "Order assigned" }),
    h("option", { value: "status", text: "Status" }),
  );
  project.value = query.get("project") || "";
  status.value = query.get("status") || "";
  sort.value = query.has("sort") ? query.get("sort") : "priority";
  const progress = h("div", { class: "progress-line" });
  const table = h("div", { class: "table-wrap" });
  container.append(
    h("h1", { text: "My worklist" }),
    h(
      "form",
      { class: "filters", "aria-label": "Worklist filters" },
      field("Project", project),
      field("Status", status),
      field("Sort", sort),
    ),
    progress,
    table,
  );

  async function load() {
    const params = new URLSearchParams();
    if (project.value) params.set("project", project.value);
    if (status.value) params.set("status", status.value);
    if (sort.value) params.set("sort", sort.value);
    let answer;
    try {
      answer = await get(`/api/worklist?${params}`);
    } catch (error) {
      showError(error);
      replace(table, h("p", { text: "The worklist could not be loaded." }));
      return;
    }
    const tasks = answer.tasks || [];
    for (const name of new Set(tasks.map((t) => t.project))) {
      if (![...project.options].some((o) => o.value === name)) {
        project.append(h("option", { value: name, text: name }));
      }
    }
    const done = answer.progress?.done ?? 0;
    const total = answer.progress?.total ?? tasks.length;
    replace(
      progress,
      h("label", { for: "worklist-progress", text: `Progress: ${done} of ${total} done` }),
      h("progress", { id: "worklist-progress", max: String(Math.max(total, 1)), value: String(done) }),
    );
    if (!tasks.length) {
      replace(table, h("p", { class: "empty", text: "No tasks match these filters." }));
      return;
    }
    replace(
      table,
      h(
        "table",
        { class: "worklist" },
        h("caption", { class: "visually-hidden", text: "Tasks assigned to me" }),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Task", "Project", "Modality", "Slices", "Status", "My status", "Annotations", "Priority", ""].map(
              (title) => h("th", { scope: "col", text: title }),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          tasks.map((task) =>
            h(
              "tr",
              { dataset: { taskId: task.id } },
              h("td", { title: task.series_instance_uid }, task.description || `Task ${task.id}`,
                reason(task) ? h("div", { class: "reject-reason", text: `Rejected: ${reason(task)}` }) : null),
              h("td", { text: task.project ?? "" }),
              h("td", { text: task.modality ?? "" }),
              h("td", { text: String(task.slices ?? "") }),
              h("td", {}, h("span", { class: `status status-${task.status}`, text: label(task.status) })),
              h("td", {}, h("span", { class: `status status-${task.my_status}`, text: label(task.my_status) })),
              h("td", { text: String(task.annotations ?? 0) }),
              h("td", { text: String(task.priority ?? "") }),
              h(
                "td",
                {},
                h("a", {
                  class: "button",
                  href: `#/task/${encodeURIComponent(task.id)}`,
                  text: "Open",
                  "aria-label": `Open task ${task.description || task.id}`,
                }),
              ),
            ),
          ),
        ),
      ),
    );
  }

  for (const control of [project, status, sort]) {
    control.addEventListener("change", () => {
      const params = new URLSearchParams();
      if (project.value) params.set("project", project.value);
      if (status.value) params.set("status", status.value);
      params.set("sort", sort.value);
      history.replaceState(null, "", `#/worklist?${params}`);
      load();
    });
  }
  await load();
}
