// Review: the queue of completed reader parts, and one part with approve / reject (with reason).

import { announce, get, post, showError } from "./api.js";
import { field, h, uniqueId } from "./dom.js";
import { navigate } from "./router.js";
import { bindShortcuts, guidelineOf, shortcutsHelp } from "./task.js";
import { AnnotationSet } from "./viewer/annotation-set.js";
import { Annotator } from "./viewer/annotator.js";
import { sliceOf } from "./viewer/guideline-panel.js";
import { instanceSource } from "./viewer/sources.js";

export async function render(container) {
  container.append(h("h1", { text: "Review queue" }));
  let answer;
  try {
    answer = await get("/api/review/queue");
  } catch (error) {
    showError(error);
    return;
  }
  const items = answer.items || [];
  if (!items.length) {
    container.append(h("p", { class: "empty", text: "Nothing is waiting for your review." }));
    return;
  }
  container.append(
    h("ul", { class: "queue" }, items.map((item) =>
      h("li", {},
        h("a", {
          href: `#/review/${item.task_id}?reader=${encodeURIComponent(item.reader)}`,
          text: `${item.task?.description || `Task ${item.task_id}`} — ${item.reader}`,
        }),
        ` (${item.project})`),
    )),
  );
}

export async function renderTask(container, params, query) {
  let task;
  try {
    task = await get(`/api/tasks/${encodeURIComponent(params.id)}`);
  } catch (error) {
    showError(error);
    return undefined;
  }
  const readers = (task.readers || []).map((r) => r.username);
  const reader = query.get("reader") || readers[0] || "";
  const slices = task.slices || [];
  const set = new AnnotationSet(task.id, (index) => slices[index]);
  set.load((task.annotations || []).filter((a) => a.reader === reader));
  const annotator = new Annotator({
    source: instanceSource(task.study_instance_uid, task.series_instance_uid, slices),
    study: task.study_instance_uid,
    series: task.series_instance_uid,
    guideline: guidelineOf(task),
    set,
    readOnly: true,
    label: `Reader ${reader}`,
  });
  window.harmoniaViewer = annotator;
  const drawn = set.items.map(sliceOf).filter((slice) => slice !== null);
  if (drawn.length) annotator.viewer.setSlice(Math.min(...drawn)); // open where the reader drew

  const choose = h("select", {}, readers.map((r) => h("option", { value: r, text: r })));
  choose.value = reader;
  choose.addEventListener("change", () => navigate(`#/review/${task.id}?reader=${encodeURIComponent(choose.value)}`));
  const group = uniqueId("decision");
  const approve = h("input", { type: "radio", name: group, value: "approve", id: uniqueId("ap"), checked: true });
  const reject = h("input", { type: "radio", name: group, value: "reject", id: uniqueId("rj") });
  const reason = h("textarea", { rows: "2", maxlength: "4000" });
  const submit = h("button", { type: "submit", class: "primary", text: "Send decision" });
  const form = h(
    "form",
    { class: "review-form", "aria-label": "Review decision" },
    h("fieldset", {}, h("legend", { text: "Decision" }),
      h("span", { class: "choice" }, approve, h("label", { for: approve.id, text: "Approve" })),
      h("span", { class: "choice" }, reject, h("label", { for: reject.id, text: "Reject" }))),
    field("Reason (the reader sees it; required to reject)", reason),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = reject.checked ? "reject" : "approve";
    if (decision === "reject" && !reason.value.trim()) {
      showError("Give the reader a reason for the rejection.");
      reason.focus();
      return;
    }
    submit.disabled = true;
    try {
      await post(`/api/tasks/${encodeURIComponent(task.id)}/review`, { reader, decision, reason: reason.value.trim() });
      announce(decision === "approve" ? "Approved" : "Rejected; the reader's part is reopened");
      navigate("#/review");
    } catch (error) {
      showError(error);
    } finally {
      submit.disabled = false;
    }
  });
  const status = (task.readers || []).find((r) => r.username === reader);
  container.append(
    h("div", { class: "page-head" },
      h("h1", { text: `Review: ${task.description || `task ${task.id}`}` }),
      field("Reader", choose),
      h("span", { class: "muted", text: status ? `${status.status.replace(/_/g, " ")} · review ${status.review_status}` : "" }),
      h("span", { class: "spacer" }), shortcutsHelp()),
    form,
    annotator.element,
  );
  const unbind = bindShortcuts(annotator);
  return () => {
    unbind();
    annotator.destroy();
    if (window.harmoniaViewer === annotator) window.harmoniaViewer = null;
  };
}
