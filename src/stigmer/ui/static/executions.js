// Executions: the filterable list, and one execution live (graph, tasks, transcript, actions).

import { ApiError, enc, events, get, post } from "./api.js";
import { ago, badge, card, facts, h, json, preview, problem, put, shortId, took } from "./dom.js";
import { drawGraph, paint } from "./graph.js";
import { money, waterfall } from "./trace.js";

const PHASES = ["PENDING", "RUNNING", "WAITING_APPROVAL", "COMPLETED", "FAILED", "CANCELLED"];
const FINISHED = ["COMPLETED", "FAILED", "CANCELLED"];
const SINCE = [
  ["", "any time"],
  ["1h", "the last hour"],
  ["24h", "the last 24 hours"],
  ["7d", "the last 7 days"],
  ["30d", "the last 30 days"],
];
const REFRESH_MS = 2000;
const LOG_LIMIT = 500;

function note(item) {
  if (item.error) return h("span", { class: "error-text" }, item.error);
  if (item.task) return `task ${item.task}`;
  return item.message || "";
}

/** What started a run: a link to its schedule or webhook, or the person's name. */
export function startedBy(item) {
  const trigger = item.trigger || {};
  if (trigger.type === "schedule" || trigger.type === "webhook") {
    return h("a", { href: `#/${trigger.type}s/${enc(trigger.source)}`, title: trigger.text }, `${trigger.type} ${trigger.source}`);
  }
  if (trigger.type === "manual") return h("span", { title: trigger.text }, trigger.text.replace(/^manual by /, ""));
  return item.parent ? h("span", { class: "muted" }, "parent run") : "";
}

function executionRow(item) {
  return h(
    "tr",
    { dataset: { id: item.id, phase: item.phase } },
    h("td", {}, h("a", { href: `#/executions/${enc(item.id)}`, class: "mono", title: item.id }, shortId(item.id))),
    h("td", {}, item.kind),
    h("td", {}, h("a", { href: `#/${item.kind}s/${enc(item.definition)}` }, item.definition)),
    h("td", {}, badge(item.phase)),
    h("td", { class: "trigger" }, startedBy(item)),
    h("td", {}, ago(item.createTime)),
    h("td", { class: "num" }, took(item.startTime, item.endTime)),
    h("td", { class: "num cost" }, costText(item.usage)),
    h(
      "td",
      {},
      item.parent
        ? h("a", { href: `#/executions/${enc(item.parent)}`, class: "mono", title: item.parent }, shortId(item.parent))
        : "",
    ),
    h("td", { class: "note" }, note(item)),
  );
}

/** A table of execution rows (or a line saying there are none). */
export function executionTable(items, empty) {
  if (!items.length) return h("p", { class: "muted empty" }, empty);
  const heads = ["ID", "Kind", "Definition", "Phase", "Started by", "Created", "Duration", "Cost", "Parent", "Note"];
  return h(
    "table",
    { class: "list executions" },
    h("thead", {}, h("tr", {}, heads.map((text) => h("th", {}, text)))),
    h("tbody", {}, items.map(executionRow)),
  );
}

function select(name, value, options, label) {
  return h(
    "label",
    {},
    label,
    h(
      "select",
      { name },
      options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value }, text)),
    ),
  );
}

/** #/executions?kind=&phase=&since=&definition=&parent= */
export async function executionsPage(main, query) {
  const filters = {};
  for (const key of ["kind", "phase", "since", "definition", "parent"]) filters[key] = query.get(key) || "";
  const form = h(
    "form",
    { class: "filters", id: "filters" },
    select("kind", filters.kind, [["", "all"], ["agent", "agent"], ["workflow", "workflow"]], "Kind "),
    select("phase", filters.phase, [["", "all"], ...PHASES.map((p) => [p, p.toLowerCase().replace("_", " ")])], "Phase "),
    select("since", filters.since, SINCE, "Created in "),
    h("label", {}, "Definition ", h("input", { name: "definition", value: filters.definition, size: 16 })),
    h("label", {}, "Parent ", h("input", { name: "parent", value: filters.parent, size: 16, placeholder: "execution id" })),
    h("button", { type: "submit" }, "Filter"),
  );
  const apply = (event) => {
    event.preventDefault();
    const chosen = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) chosen.set(key, String(value).trim());
    const text = chosen.toString();
    location.hash = `#/executions${text ? `?${text}` : ""}`;
  };
  form.addEventListener("submit", apply);
  for (const field of form.querySelectorAll("select")) field.addEventListener("change", apply);
  const box = h("div", { id: "executions" });
  const pager = h("div", { class: "pager" });
  put(main, h("div", { class: "title" }, h("h1", {}, "Executions"), h("span", { class: "muted" }, "newest first")), form, box, pager);

  const tokens = [""];
  let index = 0;
  const load = async () => {
    try {
      const page = await get("/executions", { ...filters, pageToken: tokens[index] });
      put(box, executionTable(page.items, "No executions match. Start one from a workflow or an agent."));
      // Which filters the rows shown answer (tests wait for it; people never see it).
      box.dataset.filter = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
      tokens.length = index + 1;
      if (page.nextPageToken) tokens.push(page.nextPageToken);
      put(
        pager,
        h("button", { type: "button", disabled: index === 0, onclick: () => ((index -= 1), load()) }, "← Newer"),
        h("span", { class: "muted" }, `page ${index + 1}`),
        h("button", { type: "button", disabled: !page.nextPageToken, onclick: () => ((index += 1), load()) }, "Older →"),
      );
    } catch (error) {
      put(box, problem(error));
    }
  };
  await load();
  const timer = setInterval(() => index === 0 && !document.hidden && load(), REFRESH_MS);
  return () => clearInterval(timer);
}

// -- one execution ---------------------------------------------------------------------

function taskStates(record) {
  const states = {};
  const items = {};
  for (const task of (record.status && record.status.tasks) || []) {
    const open = task.name.indexOf("[");
    if (open > 0 && task.name.endsWith("]")) {
      const base = task.name.slice(0, open);
      items[base] ||= { done: 0, total: 0 };
      items[base].total += 1;
      if (task.phase === "COMPLETED") items[base].done += 1;
    } else {
      states[task.name] = { ...task };
    }
  }
  for (const [base, count] of Object.entries(items)) {
    states[base] ||= { name: base, phase: "RUNNING" };
    states[base].items = count;
  }
  return states;
}

function orderedTasks(record, graph) {
  const tasks = (record.status && record.status.tasks) || [];
  const byName = new Map(tasks.map((task) => [task.name, task]));
  const ordered = [];
  for (const node of graph ? graph.nodes : []) {
    ordered.push(byName.get(node.name) || { name: node.name, phase: "PENDING" });
    ordered.push(...tasks.filter((task) => task.name.startsWith(`${node.name}[`)));
  }
  ordered.push(...tasks.filter((task) => !ordered.includes(task)));
  return ordered;
}

function taskTable(record, graph) {
  const rows = orderedTasks(record, graph).map((task) => {
    const item = task.name.includes("[");
    const detail = task.error && task.error.message
      ? h("span", { class: task.phase === "SKIPPED" ? "muted" : "error-text" }, task.error.message)
      : task.outputs && Object.keys(task.outputs).length
        ? h("span", { class: "mono" }, preview(task.outputs, 110))
        : "";
    return h(
      "tr",
      { dataset: { task: task.name, phase: task.phase }, class: item ? "item" : "" },
      h("td", {}, task.name),
      h("td", {}, badge(task.phase)),
      h("td", { class: "num" }, task.attempts ? String(task.attempts) : ""),
      h("td", {}, ago(task.startTime)),
      h("td", { class: "num" }, took(task.startTime, task.endTime)),
      h(
        "td",
        {},
        task.childExecutionId
          ? h("a", { href: `#/executions/${enc(task.childExecutionId)}`, class: "mono" }, shortId(task.childExecutionId))
          : "",
      ),
      h("td", { class: "note" }, detail),
    );
  });
  const heads = ["Task", "Phase", "Attempts", "Started", "Duration", "Run", "Outputs / error"];
  return h(
    "table",
    { class: "list tasks", id: "tasks" },
    h("thead", {}, h("tr", {}, heads.map((text) => h("th", {}, text)))),
    h("tbody", {}, rows),
  );
}

function transcript(record) {
  const status = record.status || {};
  const calls = new Map((status.toolCalls || []).map((call) => [call.id, call]));
  const pending = status.pendingApproval;
  if (pending && pending.id) calls.set(pending.id, { ...pending, approval: "pending", ...(calls.get(pending.id) || {}) });
  const asking = status.pendingInput;
  if (asking && asking.callId) calls.set(asking.callId, { ...(calls.get(asking.callId) || {}), asking: true });
  const shown = new Set();
  const entries = [];
  for (const message of status.messages || []) {
    if (message.role === "user") {
      entries.push(h("div", { class: "msg user" }, h("div", { class: "who" }, "user"), h("div", { class: "text" }, message.content || "")));
    } else if (message.role === "assistant") {
      if (message.content) {
        entries.push(h("div", { class: "msg assistant" }, h("div", { class: "who" }, "assistant"), h("div", { class: "text" }, message.content)));
      }
      for (const asked of message.toolCalls || []) {
        const call = { ...asked, ...(calls.get(asked.id) || {}) };
        shown.add(asked.id);
        entries.push(toolCall(call));
      }
    } else if (message.role === "tool" && !shown.has(message.toolCallId)) {
      entries.push(h("div", { class: "msg tool" }, h("div", { class: "who" }, "tool"), h("pre", { class: "text" }, message.content || "")));
    }
  }
  if (!entries.length) entries.push(h("p", { class: "muted" }, "Nothing yet: the transcript appears as the agent works."));
  return h("div", { class: "transcript", id: "transcript" }, entries);
}

function toolCall(call) {
  const state = call.asking ? "waiting for a person" : call.approval === "pending" ? "waiting for approval" : call.approval || "";
  const finished = call.result !== undefined || call.isError;
  return h(
    "div",
    { class: `msg toolcall${call.isError ? " failed" : ""}`, dataset: { tool: call.name } },
    h(
      "div",
      { class: "who" },
      `tool call · ${call.name}`,
      call.server ? h("span", { class: "muted" }, ` (${call.server})`) : null,
      state ? h("span", { class: "tag" }, state) : null,
      call.durationMs ? h("span", { class: "muted" }, ` · ${call.durationMs} ms`) : null,
    ),
    h("pre", { class: "args" }, JSON.stringify(call.arguments || {}, null, 1)),
    finished
      ? h("pre", { class: `result${call.isError ? " error-text" : ""}` }, call.result || "")
      : h("div", { class: "muted" }, call.approval === "pending" || call.asking ? "waits for a person" : "running…"),
  );
}

function tokenText(used) {
  // A server that reports no usage leaves tokens unknown, not 0.
  const unreported = used.unreportedModelCalls || 0;
  if (unreported && unreported >= (used.modelCalls || 0)) return "unknown";
  const counted = `${used.inputTokens || 0} / ${used.outputTokens || 0}`;
  return unreported ? `${counted} (${unreported} calls unreported)` : counted;
}

/** A run's cost: "" when none of its model calls had a price; "+" when some had none. */
function costText(used) {
  if (!used || !used.modelCalls || (used.unpricedModelCalls || 0) >= used.modelCalls) return "";
  return money(used.cost || 0) + (used.unpricedModelCalls ? "+" : "");
}

function usage(record) {
  const status = record.status || {};
  const used = status.usage || {};
  return facts([
    ["Model", status.model || (record.spec.model && record.spec.model.provider) || ""],
    ["Model calls", String(used.modelCalls || 0)],
    ["Tokens in / out", tokenText(used)],
    ["Cost", costText(used)],
    ["Tool calls", String(used.toolCalls || (status.toolCalls || []).length || 0)],
  ]);
}

function stepLine(step) {
  const [kind, ...rest] = step.name.split(":");
  const name = rest.join(":");
  const time = step.endTime || step.startTime;
  let what;
  if (kind === "start") what = `▶ ${name} started`;
  else if (kind === "end") what = `■ ${name} ${(step.phase || (step.status === "failed" ? "FAILED" : "COMPLETED")).toLowerCase()}`;
  else if (kind === "approval") what = step.status === "waiting" ? `◆ ${name} waits for approval` : `◆ ${name} decided`;
  else if (kind === "elicitation") what = step.status === "waiting" ? `? ${name} asks a person` : `? ${name} answered`;
  else if (kind === "sampling") what = step.status === "waiting" ? `? ${name} asks for the model` : `? ${name} decided`;
  else if (kind === "model") what = "model turn";
  else if (kind === "tool") what = step.status === "waiting" ? `→ ${name} (running)` : `→ ${name}`;
  else if (kind === "agent") what = `⇢ sub-agent ${name}`;
  else what = step.name;
  return h(
    "li",
    { dataset: { step: String(step.step), status: step.status }, class: step.status === "failed" ? "failed" : "" },
    h("time", { datetime: time }, time ? new Date(time).toLocaleTimeString() : ""),
    h("span", { class: "what" }, what),
    step.error ? h("span", { class: "error-text" }, step.error) : step.text ? h("span", { class: "muted" }, step.text) : null,
    step.child ? h("a", { href: `#/executions/${enc(step.child)}`, class: "mono" }, shortId(step.child)) : null,
  );
}

function approvalPanel(view, act) {
  const approval = view.approval;
  const reason = h("input", { id: "reason", name: "reason", placeholder: "reason (optional, for a rejection)", size: 40 });
  let what;
  if (approval && approval.tool) {
    what = [
      h("p", {}, approval.child ? `Task ${approval.task}: its agent wants to call ` : "The agent wants to call ", h("code", {}, approval.tool), approval.server ? ` (${approval.server})` : "", " with:"),
      json(approval.arguments || {}),
    ];
  } else if (approval) {
    what = [h("p", {}, "Task ", h("code", {}, approval.task), " waits for a person."), approval.message ? h("blockquote", { id: "approval-message" }, approval.message) : null];
  } else {
    what = [h("p", {}, "This run waits for a person.")];
  }
  return h(
    "section",
    { class: "card approval", id: "approval" },
    h("h2", {}, "Waiting for approval"),
    what,
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "button", class: "primary", dataset: { action: "approve" }, onclick: () => act("approve", { reason: reason.value }) }, "Approve"),
      h("button", { type: "button", class: "danger", dataset: { action: "reject" }, onclick: () => act("reject", { reason: reason.value }) }, "Reject"),
      reason,
    ),
  );
}

function choicesOf(field) {
  const source = field.type === "array" ? field.items || {} : field;
  if (source.enum) return source.enum.map((value, i) => [String(value), (source.enumNames || [])[i] || String(value)]);
  return (source.oneOf || source.anyOf || []).filter((o) => "const" in o).map((o) => [String(o.const), o.title || String(o.const)]);
}

/** One control for one field of an elicitation's schema, its default filled in. */
function inputControl(name, field, required) {
  const given = field.default;
  const choices = choicesOf(field);
  if (field.type === "array") {
    const chosen = new Set((given || []).map(String));
    return h(
      "span",
      { class: "choices", dataset: { field: name } },
      choices.map(([value, title]) => h("label", {}, h("input", { type: "checkbox", name, value, checked: chosen.has(value) }), ` ${title}`)),
    );
  }
  if (field.type === "boolean") return h("input", { type: "checkbox", name, checked: given === true });
  if (choices.length) {
    return h(
      "select",
      { name, required },
      required && given === undefined ? h("option", { value: "" }, "—") : null,
      !required ? h("option", { value: "" }, "(none)") : null,
      choices.map(([value, title]) => h("option", { value, selected: String(given) === value }, title)),
    );
  }
  const types = { email: "email", uri: "url", date: "date" };
  const numeric = field.type === "integer" || field.type === "number";
  return h("input", {
    name,
    required,
    type: numeric ? "number" : types[field.format] || "text",
    step: field.type === "integer" ? "1" : numeric ? "any" : null,
    min: field.minimum ?? null,
    max: field.maximum ?? null,
    minlength: field.minLength ?? null,
    maxlength: field.maxLength ?? null,
    value: given === undefined ? "" : String(given),
  });
}

/** The answer a form gives: text for the backend to read as the schema's types. */
function formContent(form, request) {
  const content = {};
  for (const name of request.fields) {
    const field = request.schema.properties[name];
    if (field.type === "array") {
      content[name] = [...form.querySelectorAll(`[data-field="${CSS.escape(name)}"] input:checked`)].map((box) => box.value);
    } else if (field.type === "boolean") {
      content[name] = form.elements.namedItem(name).checked;
    } else {
      const value = form.elements.namedItem(name).value;
      if (value !== "") content[name] = value;
    }
  }
  return content;
}

/** What an MCP server asks a person during a tool call: a form built from its schema (or a
 * page to open, or a sampling request to approve). */
function inputPanel(view, act) {
  const request = view.input;
  if (request.kind === "sign-in") {
    return h(
      "section",
      { class: "card approval", id: "input" },
      h("h2", {}, "Waiting for a sign-in"),
      h("blockquote", { id: "input-message" }, request.message),
      h("p", {}, "Sign in from a terminal with ", h("code", {}, `stigmer mcpserver login ${request.server}`), "; the run continues then."),
    );
  }
  const where = [
    request.child ? `Task ${request.task}: ` : "",
    h("code", {}, request.server),
    " asks during ",
    h("code", {}, request.tool),
    request.kind === "sampling" ? " for a completion by the agent's model:" : ":",
  ];
  if (request.kind === "sampling") {
    const reason = h("input", { id: "reason", name: "reason", placeholder: "reason (optional, for a rejection)", size: 40 });
    return h(
      "section",
      { class: "card approval", id: "approval" },
      h("h2", {}, "Waiting for approval"),
      h("p", {}, where),
      h("blockquote", { id: "approval-message" }, request.message),
      h(
        "div",
        { class: "buttons" },
        h("button", { type: "button", class: "primary", dataset: { action: "approve" }, onclick: () => act("approve", { reason: reason.value }) }, "Approve"),
        h("button", { type: "button", class: "danger", dataset: { action: "reject" }, onclick: () => act("reject", { reason: reason.value }) }, "Reject"),
        reason,
      ),
    );
  }
  const required = new Set(request.schema.required || []);
  const fields = request.fields.map((name) => {
    const field = request.schema.properties[name];
    return h(
      "label",
      { class: "field" },
      h("span", { class: "label" }, field.title || name, " ", h("small", { class: "muted" }, field.type), required.has(name) ? h("span", { class: "required", title: "required" }, " *") : null),
      inputControl(name, field, required.has(name)),
      field.description ? h("small", { class: "muted" }, field.description) : null,
    );
  });
  const error = h("div", { class: "form-error" });
  const form = h(
    "form",
    { class: "run", id: "input-form" },
    request.url ? h("p", {}, "Open ", h("a", { href: request.url, target: "_blank", rel: "noopener noreferrer", id: "input-url" }, request.url), ", then accept here once done there.") : fields,
    error,
    h(
      "div",
      { class: "buttons" },
      h("button", { type: "submit", class: "primary", dataset: { action: "respond" } }, request.url ? "Done" : "Send"),
      h("button", { type: "button", dataset: { action: "decline" }, onclick: () => act("respond", { action: "decline" }, error) }, "Decline"),
      h("button", { type: "button", dataset: { action: "dismiss" }, onclick: () => act("respond", { action: "cancel" }, error) }, "Dismiss"),
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act("respond", { action: "accept", content: request.url ? {} : formContent(form, request) }, error);
  });
  return h("section", { class: "card approval", id: "input" }, h("h2", {}, "Waiting for an answer"), h("p", {}, where), h("blockquote", { id: "input-message" }, request.message), form);
}

/** #/executions/ID: the execution live. */
export async function executionPage(main, id) {
  let view;
  let mayRun;
  try {
    view = await get(`/executions/${enc(id)}`);
    mayRun = (await get("/info")).auth.may.run; // no button for what this key may not do
  } catch (error) {
    put(main, problem(error));
    return () => {};
  }
  const graph = view.graph;
  const agent = view.summary.kind === "agent";
  const header = h("div", { class: "title" });
  const meta = h("div");
  const actionBox = h("div", { id: "actions" });
  const message = h("div", { id: "message" });
  const errorBox = h("div", { id: "error" });
  const svg = graph
    ? drawGraph(graph, {
        onSelect: (name) => {
          const state = taskStates(view.record)[name];
          if (state && state.childExecutionId) location.hash = `#/executions/${enc(state.childExecutionId)}`;
          else main.querySelector(`#tasks tr[data-task="${CSS.escape(name)}"]`)?.scrollIntoView({ block: "center" });
        },
      })
    : null;
  const tasksBox = h("div");
  const inputsBox = h("div", { id: "inputs" });
  const outputsBox = h("div", { id: "outputs" });
  const transcriptBox = h("div");
  const usageBox = h("div", { id: "usage" });
  const traceBox = h("div", { id: "trace" }, h("p", { class: "muted" }, "Loading…"));
  const log = h("ol", { class: "log", id: "log" });

  const sections = [header, meta, actionBox, message, errorBox];
  if (agent) {
    sections.push(
      h("div", { class: "columns" }, card("Transcript", transcriptBox), h("div", {}, card("Usage", usageBox), card("Output", outputsBox))),
    );
  } else {
    if (svg) sections.push(card("Task graph", h("div", { class: "graph-box", id: "graph" }, svg)));
    sections.push(card("Tasks", tasksBox));
    sections.push(h("div", { class: "columns even" }, card("Inputs", inputsBox), card("Outputs", outputsBox)));
  }
  sections.push(card("Trace", traceBox));
  sections.push(card("Events", log));
  put(main, ...sections);

  // The waterfall is read again as the run moves, at most every REFRESH_MS.
  let traceDue = 0;
  let traceTimer = null;
  const loadTrace = async () => {
    traceTimer = null;
    traceDue = Date.now() + REFRESH_MS;
    try {
      put(traceBox, waterfall(await get(`/executions/${enc(id)}/trace`)));
    } catch (error) {
      put(traceBox, problem(error));
    }
  };
  const refreshTrace = () => {
    if (traceTimer === null) traceTimer = setTimeout(loadTrace, Math.max(0, traceDue - Date.now()));
  };

  let shownActions = "";
  const act = async (action, body, errorSlot) => {
    put(message);
    if (errorSlot) put(errorSlot);
    const buttons = [...actionBox.querySelectorAll("button")];
    for (const button of buttons) button.disabled = true;
    try {
      const done = await post(`/executions/${enc(id)}/${action}`, body || {});
      const words = { approve: "Approved", reject: "Rejected", cancel: "Cancellation asked", resume: "Resumed", respond: "Answered" };
      put(message, h("div", { class: "notice", role: "status" }, done.note ? `${words[action]}: ${done.note}` : `${words[action]}.`));
      update(await get(`/executions/${enc(id)}`, { graph: "0" }));
    } catch (error) {
      put(errorSlot || message, problem(error));
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  };

  const durationEl = h("span", { id: "duration" });
  const tick = () => {
    durationEl.textContent = took(view.summary.startTime, view.summary.endTime) || "—";
    if (!agent) {
      if (svg) paint(svg, taskStates(view.record));
      put(tasksBox, taskTable(view.record, graph));
    }
  };
  const update = (next) => {
    view = { ...next, graph };
    const { summary, record } = view;
    const status = record.status || {};
    document.title = `${summary.definition} ${summary.phase.toLowerCase().replace("_", " ")} · Stigmer`;
    tick();
    put(
      header,
      h("h1", {}, agent ? "Agent run " : "Workflow run ", h("span", { class: "mono" }, summary.id)),
      h("span", { id: "phase" }, badge(summary.phase)),
    );
    put(
      meta,
      facts([
        [agent ? "Agent" : "Workflow", h("a", { href: `#/${summary.kind}s/${enc(summary.definition)}` }, summary.definition)],
        ["Created", ago(summary.createTime)],
        ["Started", summary.startTime ? ago(summary.startTime) : ""],
        ["Duration", durationEl],
        ["Parent", summary.parent ? h("a", { href: `#/executions/${enc(summary.parent)}`, class: "mono" }, summary.parent) : ""],
        ["Started by", startedBy(summary)],
        ["Session", record.spec.session || ""],
        ["Environment", record.spec.environment || ""],
        ["Retry of", record.spec.retryOf ? h("a", { href: `#/executions/${enc(record.spec.retryOf)}`, class: "mono" }, record.spec.retryOf) : ""],
        ["Tokens in / out", agent || !(status.usage && status.usage.modelCalls) ? "" : tokenText(status.usage)],
        ["Cost", agent ? "" : costText(status.usage)],
        ["Message", agent ? record.spec.message : ""],
        ["Cancel", summary.cancelRequested && !FINISHED.includes(summary.phase) ? "requested" : ""],
      ]),
    );
    const actions = mayRun ? view.actions : [];
    const actionKey = JSON.stringify([actions, view.approval, view.input]);
    if (actionKey !== shownActions) {
      shownActions = actionKey;
      const buttons = [];
      if (view.input && mayRun && !FINISHED.includes(view.summary.phase)) buttons.push(inputPanel(view, act));
      else if (actions.includes("approve")) buttons.push(approvalPanel(view, act));
      const small = [];
      if (actions.includes("resume")) small.push(h("button", { type: "button", dataset: { action: "resume" }, onclick: () => act("resume") }, "Resume"));
      if (actions.includes("cancel")) small.push(h("button", { type: "button", class: "danger", dataset: { action: "cancel" }, onclick: () => act("cancel") }, "Cancel run"));
      if (small.length) buttons.push(h("div", { class: "buttons" }, small));
      put(actionBox, buttons);
    }
    put(errorBox, status.error && status.error.message ? h("div", { class: "problem" }, h("strong", {}, status.error.code || "error"), " ", status.error.message) : null);
    if (agent) {
      put(transcriptBox, transcript(record));
      put(usageBox, usage(record));
      const answer = status.outputs && Object.keys(status.outputs).length ? json(status.outputs) : status.output ? h("div", { class: "answer" }, status.output) : h("p", { class: "muted" }, FINISHED.includes(summary.phase) ? "No output." : "Not yet.");
      put(outputsBox, answer);
    } else {
      put(inputsBox, json(record.spec.inputs || {}));
      put(outputsBox, status.outputs ? json(status.outputs, { id: "outputs-json" }) : h("p", { class: "muted" }, FINISHED.includes(summary.phase) ? "No outputs." : "Not yet: the outputs appear when the run completes."));
    }
  };
  update(view);
  loadTrace();

  const source = events(id);
  source.addEventListener("snapshot", (event) => {
    update(JSON.parse(event.data));
    refreshTrace();
  });
  source.addEventListener("step", (event) => {
    log.append(stepLine(JSON.parse(event.data)));
    while (log.children.length > LOG_LIMIT) log.firstElementChild.remove();
  });
  source.addEventListener("end", () => {
    source.close();
    refreshTrace();
  });
  source.addEventListener("failure", (event) => {
    put(message, problem(new ApiError(500, JSON.parse(event.data))));
    source.close();
  });
  // Durations of running tasks grow between events.
  const ticker = setInterval(() => {
    if (!FINISHED.includes(view.summary.phase) && !document.hidden) tick();
  }, 1000);
  return () => {
    source.close();
    clearInterval(ticker);
    if (traceTimer !== null) clearTimeout(traceTimer);
  };
}
