// Resources: lists of each kind, one resource, and the forms that run workflows and agents.

import { enc, get, post } from "./api.js";
import { ago, card, facts, h, json, problem, put } from "./dom.js";
import { executionTable } from "./executions.js";
import { drawGraph } from "./graph.js";

const names = (values) => (values && values.length ? values.join(", ") : "");
const link = (kind) => (row) => h("a", { href: `#/${kind}/${enc(row.name)}` }, row.name);

export const KINDS = {
  agents: {
    title: "Agents",
    noun: "Agent",
    columns: [
      ["Name", link("agents")],
      ["Model", (r) => r.model || h("span", { class: "muted" }, "default")],
      ["MCP servers", (r) => names(r.mcpServers)],
      ["Skills", (r) => names(r.skills)],
      ["Description", (r) => r.description],
    ],
  },
  workflows: {
    title: "Workflows",
    noun: "Workflow",
    columns: [
      ["Name", link("workflows")],
      ["Tasks", (r) => String(r.tasks)],
      ["Inputs", (r) => names(r.inputs)],
      ["Description", (r) => r.description],
    ],
  },
  skills: {
    title: "Skills",
    noun: "Skill",
    columns: [
      ["Name", link("skills")],
      ["Description", (r) => r.description],
    ],
  },
  mcpservers: {
    title: "MCP servers",
    noun: "MCP server",
    columns: [
      ["Name", link("mcpservers")],
      ["Transport", (r) => r.transport],
      ["Target", (r) => h("span", { class: "mono" }, r.target)],
      ["Approval required", (r) => names(r.approvalRequired)],
    ],
  },
  environments: {
    title: "Environments",
    noun: "Environment",
    columns: [
      ["Name", link("environments")],
      ["Variables", (r) => names(r.variables)],
      ["Secrets", (r) => names(r.secrets)],
      ["Description", (r) => r.description],
    ],
  },
  schedules: {
    title: "Schedules",
    noun: "Schedule",
    columns: [
      ["Name", link("schedules")],
      ["When", (r) => h("span", { class: "mono" }, r.when)],
      ["Runs", (r) => r.target],
      ["Next fires", (r) => (r.paused ? h("span", { class: "tag" }, "paused") : fireTimes(r.nextFires.slice(0, 2)))],
      ["Last run", (r) => (r.lastExecutionId ? h("a", { href: `#/executions/${enc(r.lastExecutionId)}`, class: "mono" }, r.lastExecutionId) : "")],
    ],
  },
  webhooks: {
    title: "Webhooks",
    noun: "Webhook",
    columns: [
      ["Name", link("webhooks")],
      ["Workflow", (r) => h("a", { href: `#/workflows/${enc(r.workflow)}` }, r.workflow)],
      ["Address", (r) => h("span", { class: "mono" }, `POST ${r.path}`)],
      ["Description", (r) => r.description],
    ],
  },
};

/** Fire times (UTC, RFC 3339) in the reader's own time zone. */
function fireTimes(times) {
  return h("span", { class: "fires" }, times.map((t) => h("span", { class: "tag mono", title: t }, new Date(t).toLocaleString())));
}

const COMMON = [
  ["Labels", (r) => Object.entries(r.labels || {}).map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`))],
  ["Version", (r) => String(r.version)],
  ["Updated", (r) => ago(r.updateTime)],
];

/** #/agents, #/workflows, …: one page of a kind at a time, by name. */
export async function resourcesPage(main, kind) {
  const info = KINDS[kind];
  const box = h("div", { id: "resources" });
  const pager = h("div", { class: "pager" });
  put(main, h("div", { class: "title" }, h("h1", {}, info.title)), box, pager);
  const columns = [...info.columns, ...COMMON];
  const tokens = [""];
  let index = 0;
  const load = async () => {
    try {
      const page = await get(`/resources/${kind}`, { pageToken: tokens[index] });
      if (!page.items.length) {
        put(box, h("p", { class: "muted empty" }, `No ${info.title.toLowerCase()} yet. Create them with `, h("code", {}, "stigmer apply -f FILE"), "."));
      } else {
        put(
          box,
          h(
            "table",
            { class: "list resources" },
            h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
            h("tbody", {}, page.items.map((row) => h("tr", { dataset: { name: row.name } }, columns.map(([, cell]) => h("td", {}, cell(row)))))),
          ),
        );
      }
      tokens.length = index + 1;
      if (page.nextPageToken) tokens.push(page.nextPageToken);
      put(
        pager,
        h("button", { type: "button", disabled: index === 0, onclick: () => ((index -= 1), load()) }, "← Previous"),
        h("span", { class: "muted" }, `page ${index + 1}`),
        h("button", { type: "button", disabled: !page.nextPageToken, onclick: () => ((index += 1), load()) }, "Next →"),
      );
    } catch (error) {
      put(box, problem(error));
    }
  };
  await load();
  return () => {};
}

async function environmentNames() {
  try {
    const page = await get("/resources/environments", { pageSize: 200 });
    return page.items.map((item) => item.name);
  } catch {
    return [];
  }
}

function environmentSelect(choices) {
  return h(
    "label",
    { class: "field" },
    h("span", { class: "label" }, "Environment"),
    h("select", { name: "environment" }, h("option", { value: "" }, "(none)"), choices.map((name) => h("option", { value: name }, name))),
    h("small", { class: "muted" }, "Variables and secrets the run may read."),
  );
}

function control(input) {
  const given = input.default;
  const attrs = { name: input.name, id: `input-${input.name}`, dataset: { input: input.name } };
  if (input.type === "boolean") {
    return h(
      "select",
      attrs,
      input.required ? null : h("option", { value: "" }, "(not set)"),
      ["true", "false"].map((value) => h("option", { value, selected: given !== undefined && String(given) === value }, value)),
    );
  }
  if (input.type === "object" || input.type === "array") {
    return h("textarea", { ...attrs, rows: 3, placeholder: input.type === "array" ? '["a", "b"]' : '{"key": "value"}' }, given === undefined ? "" : JSON.stringify(given));
  }
  const numeric = input.type === "number" || input.type === "integer";
  return h("input", {
    ...attrs,
    type: "text",
    inputmode: numeric ? "decimal" : null,
    value: given === undefined ? "" : typeof given === "string" ? given : JSON.stringify(given),
    required: input.required,
  });
}

function showError(form, error) {
  const slot = form.querySelector(".form-error");
  for (const old of form.querySelectorAll(".field-error")) old.replaceChildren();
  for (const old of form.querySelectorAll(".invalid")) old.classList.remove("invalid");
  const field = (error.field || "").replace(/^inputs\./, "");
  const target = field && form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
  if (target) {
    target.append(error.message, error.hint ? h("div", { class: "hint" }, error.hint) : null);
    form.querySelector(`[name="${CSS.escape(field)}"]`)?.classList.add("invalid");
    put(slot);
  } else {
    put(slot, problem(error));
  }
}

/** The form that starts a workflow run, one field per declared input. */
export function workflowForm(name, inputs, environments) {
  const fields = inputs.map((input) =>
    h(
      "label",
      { class: "field" },
      h("span", { class: "label" }, input.name, " ", h("small", { class: "muted" }, input.type), input.required ? h("span", { class: "required", title: "required" }, " *") : null),
      control(input),
      input.description ? h("small", { class: "muted" }, input.description) : null,
      h("div", { class: "field-error", dataset: { errorFor: input.name } }),
    ),
  );
  const form = h(
    "form",
    { class: "run", id: "run-workflow" },
    fields.length ? fields : h("p", { class: "muted" }, "This workflow declares no inputs."),
    environmentSelect(environments),
    h("div", { class: "form-error" }),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary", id: "run" }, "Run workflow")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = {};
    for (const input of inputs) {
      const value = form.elements.namedItem(input.name).value;
      if (value.trim() !== "") values[input.name] = value;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const started = await post(`/workflows/${enc(name)}/executions`, {
        inputs: values,
        environment: form.elements.namedItem("environment").value,
      });
      location.hash = `#/executions/${enc(started.id)}`;
    } catch (error) {
      showError(form, error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** The form that starts an agent run on a message. */
export function agentForm(name, environments) {
  const form = h(
    "form",
    { class: "run", id: "run-agent" },
    h(
      "label",
      { class: "field" },
      h("span", { class: "label" }, "Message", h("span", { class: "required" }, " *")),
      h("textarea", { name: "message", rows: 3, placeholder: "What should the agent do?" }),
      h("div", { class: "field-error", dataset: { errorFor: "message" } }),
    ),
    h(
      "label",
      { class: "field" },
      h("span", { class: "label" }, "Session"),
      h("input", { name: "session", placeholder: "optional: continue a conversation" }),
      h("div", { class: "field-error", dataset: { errorFor: "session" } }),
    ),
    environmentSelect(environments),
    h("div", { class: "form-error" }),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary", id: "run" }, "Run agent")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const started = await post(`/agents/${enc(name)}/executions`, {
        message: form.elements.namedItem("message").value,
        session: form.elements.namedItem("session").value,
        environment: form.elements.namedItem("environment").value,
      });
      location.hash = `#/executions/${enc(started.id)}`;
    } catch (error) {
      showError(form, error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function recentRuns(kind, name, filter) {
  const box = h("div", { id: "recent" });
  try {
    const page = await get("/executions", filter || { kind, definition: name, pageSize: 10 });
    put(box, executionTable(page.items, "No runs yet."), h("p", {}, h("a", { href: `#/executions?${new URLSearchParams({ kind, definition: name })}` }, "All runs →")));
  } catch (error) {
    put(box, problem(error));
  }
  return box;
}

function kindFacts(kind, summary, record) {
  const spec = record.spec || {};
  if (kind === "agents") {
    return [
      ["Model", summary.model || "default (see `stigmer models`)"],
      ["MCP servers", names(summary.mcpServers)],
      ["Skills", names(summary.skills)],
      ["Sub-agents", names((spec.subAgents || []).map((a) => (typeof a === "string" ? a : a.name)))],
    ];
  }
  if (kind === "mcpservers") {
    return [
      ["Transport", summary.transport],
      ["Target", h("span", { class: "mono" }, summary.target)],
      ["Enabled tools", names(spec.enabledTools)],
      ["Approval required", names(summary.approvalRequired)],
    ];
  }
  if (kind === "schedules") {
    return [
      ["When", h("span", { class: "mono" }, summary.when)],
      ["Runs", summary.target],
      ["Paused", summary.paused ? "yes: `stigmer schedule resume " + summary.name + "`" : "no"],
      ["Overlap", spec.overlap || "skip"],
      ["Catch-up", spec.catchUp || "none"],
      ["Next fires", summary.paused ? "" : fireTimes(summary.nextFires)],
    ];
  }
  if (kind === "webhooks") {
    return [
      ["Workflow", h("a", { href: `#/workflows/${enc(summary.workflow)}` }, summary.workflow)],
      ["Address", h("span", { class: "mono" }, `POST ${summary.path}`)],
      ["Signed with", `${spec.secret || "WEBHOOK_SECRET"} of environment ${spec.environment || ""}`],
    ];
  }
  if (kind === "environments") {
    return [
      ["Variables", names(summary.variables)],
      ["Secrets", summary.secrets.length ? h("span", { id: "secret-names" }, summary.secrets.map((n) => h("span", { class: "tag" }, `${n} = ****`))) : ""],
    ];
  }
  return [];
}

/** The server's tools as it lists them now (the dashboard starts it): enabled, approval, offered. */
function liveTools(name) {
  const box = h("div", { id: "live-tools" }, h("p", { class: "muted" }, "starting the server…"));
  get(`/mcpservers/${enc(name)}/tools`)
    .then((listing) => {
      const yes = (v) => (v ? "yes" : "no");
      const rows = listing.tools.map((t) =>
        h("tr", { "data-tool": t.name },
          h("td", { class: "mono" }, t.name),
          h("td", {}, yes(t.enabled)),
          h("td", {}, yes(t.approvalRequired)),
          h("td", {}, t.offered ? "yes" : `no: ${t.reason || ""}`),
          h("td", {}, t.description || ""),
        ),
      );
      const head = h("tr", {}, ...["Tool", "Enabled", "Approval", "Offered", "Description"].map((c) => h("th", {}, c)));
      const unknown = Object.entries(listing.unknownNames || {}).map(([field, names]) =>
        h("p", { class: "error-text" }, `${field} names ${names.join(", ")}, which the server does not list`),
      );
      put(box, h("table", { class: "list" }, h("thead", {}, head), h("tbody", {}, rows)), ...unknown);
    })
    .catch((error) => put(box, problem(error)));
  return box;
}

/** #/KIND/NAME: one resource, and for workflows and agents the form that runs them. */
export async function resourcePage(main, kind, name) {
  const info = KINDS[kind];
  let detail;
  try {
    detail = await get(`/resources/${kind}/${enc(name)}`);
  } catch (error) {
    put(main, problem(error));
    return () => {};
  }
  const { summary, record } = detail;
  // Offer "Run it" only to a key that may run (the API refuses the others anyway).
  const mayRun = (await get("/info")).auth.may.run;
  const sections = [
    h("div", { class: "title" }, h("h1", {}, `${info.noun} `, h("span", {}, summary.name)), h("span", { class: "muted" }, `version ${summary.version}`)),
    summary.description ? h("p", { class: "lead" }, summary.description) : null,
    facts([...kindFacts(kind, summary, record), ["Labels", Object.entries(summary.labels).map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`))], ["Updated", ago(summary.updateTime)]]),
  ];
  if (kind === "workflows") {
    sections.push(card("Task graph", h("div", { class: "graph-box", id: "graph" }, drawGraph(detail.graph))));
    if (mayRun) sections.push(card("Run it", workflowForm(summary.name, detail.inputs, await environmentNames())));
    sections.push(card("Recent runs", await recentRuns("workflow", summary.name)));
  } else if (kind === "agents") {
    sections.push(card("Instructions", h("pre", { class: "prose" }, record.spec.instructions || "")));
    if (mayRun) sections.push(card("Run it", agentForm(summary.name, await environmentNames())));
    sections.push(card("Recent runs", await recentRuns("agent", summary.name)));
  } else if (kind === "schedules" || kind === "webhooks") {
    const trigger = kind === "schedules" ? "schedule" : "webhook";
    sections.push(card("Recent runs", await recentRuns("", summary.name, { trigger, source: summary.name, pageSize: 10 })));
  } else if (kind === "mcpservers") {
    sections.push(card("Live tools", liveTools(summary.name)));
  } else if (kind === "skills") {
    sections.push(card("Content", h("pre", { class: "prose" }, record.spec.content || "")));
  } else if (kind === "environments") {
    const variables = Object.entries((record.spec && record.spec.variables) || {});
    if (variables.length) {
      sections.push(card("Variables", h("table", { class: "list" }, h("tbody", {}, variables.map(([k, v]) => h("tr", {}, h("td", { class: "mono" }, k), h("td", { class: "mono" }, v)))))));
    }
  }
  sections.push(h("details", { class: "card" }, h("summary", {}, "The whole record (JSON)"), json(record)));
  put(main, ...sections);
  return () => {};
}
