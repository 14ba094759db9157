// A run's waterfall: the spans `stigmer execution trace` shows, from GET /api/executions/ID/trace.

import { enc } from "./api.js";
import { h } from "./dom.js";

/** Dollars for people: $0.0012, $1.50 ("" when nothing was priced). */
export function money(cost, priced = true) {
  if (!priced || cost === null || cost === undefined) return "";
  if (cost === 0) return "$0";
  if (cost < 0.01) return `$${cost.toFixed(4).replace(/0+$/, "")}`;
  return `$${cost.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function seconds(ms) {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

function row(span, depth, total, rows) {
  const tokens = (span.inputTokens || 0) + (span.outputTokens || 0);
  const priced = span.modelCalls > span.unpricedModelCalls;
  const left = Math.min((span.offsetMs / total) * 100, 99.5);
  const width = Math.max((span.durationMs / total) * 100, 0.5);
  const attempt = span.attributes["stigmer.task.attempt"];
  const name = h(
    "td",
    { class: "span-name", style: `padding-left: ${8 + depth * 16}px` },
    h("span", { class: `kind-${span.kind}` }, span.name),
    attempt > 1 ? h("span", { class: "muted" }, ` (attempt ${attempt})`) : null,
    span.status !== "ok" && span.status !== "running" ? h("span", { class: `span-status status-${span.status}` }, ` ${span.status}`) : null,
    span.kind === "agent" || span.kind === "workflow"
      ? h("a", { href: `#/executions/${enc(span.executionId)}`, class: "mono run-link", title: span.executionId }, " ↗")
      : null,
  );
  rows.push(
    h(
      "tr",
      { dataset: { span: span.spanId, kind: span.kind, status: span.status }, title: span.error || "" },
      name,
      h("td", { class: "num" }, seconds(span.offsetMs)),
      h("td", { class: "num" }, seconds(span.durationMs) + (span.end ? "" : "…")),
      h("td", { class: "num" }, tokens ? String(tokens) : ""),
      h("td", { class: "num cost" }, money(span.cost, priced)),
      h(
        "td",
        { class: "timeline" },
        h("div", { class: `bar kind-${span.kind} status-${span.status}`, style: `margin-left: ${left}%; width: ${Math.min(width, 100 - left)}%` }),
      ),
    ),
  );
  for (const child of span.children) row(child, depth + 1, total, rows);
}

/** The waterfall of a trace (see stigmer.telemetry.trace). */
export function waterfall(trace) {
  const total = Math.max(trace.root.durationMs, 1);
  const rows = [];
  row(trace.root, 0, total, rows);
  const heads = ["Span", "Start", "Duration", "Tokens", "Cost", "Timeline"];
  return [
    h(
      "p",
      { class: "muted", id: "trace-summary" },
      `${trace.modelCalls} model call${trace.modelCalls === 1 ? "" : "s"} · ${trace.inputTokens} in / ${trace.outputTokens} out tokens`,
      trace.modelCalls > trace.unpricedModelCalls ? ` · ${money(trace.cost)}` : "",
      ` · trace ${trace.traceId}`,
    ),
    h(
      "table",
      { class: "list waterfall", id: "waterfall" },
      h("thead", {}, h("tr", {}, heads.map((text) => h("th", {}, text)))),
      h("tbody", {}, rows),
    ),
    trace.runsLeftOut ? h("p", { class: "muted" }, `${trace.runsLeftOut} more child runs are not shown.`) : null,
  ];
}
