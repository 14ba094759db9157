// Building the page without innerHTML: every value from the store is text, never markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value" && "value" in el) el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** An HTML element: h("a", {href: "#/x", class: "link"}, "text", otherElement). */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replace an element's children. */
export function put(el, ...children) {
  el.replaceChildren();
  return fill(el, {}, children);
}

const PHASE_WORDS = {
  PENDING: "pending",
  RUNNING: "running",
  WAITING_APPROVAL: "waiting for approval",
  COMPLETED: "completed",
  FAILED: "failed",
  CANCELLED: "cancelled",
  SKIPPED: "skipped",
};

/** A coloured phase badge; data-phase lets tests (and people) find it. */
export function badge(phase) {
  return h("span", { class: `badge phase-${phase}`, dataset: { phase } }, PHASE_WORDS[phase] || phase.toLowerCase());
}

/** "3 s ago", "5 min ago", … with the exact time on hover. */
export function ago(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const then = new Date(iso);
  const seconds = Math.max(0, (Date.now() - then.getTime()) / 1000);
  let text;
  if (seconds < 3) text = "just now";
  else if (seconds < 60) text = `${Math.floor(seconds)} s ago`;
  else if (seconds < 3600) text = `${Math.floor(seconds / 60)} min ago`;
  else if (seconds < 86400) text = `${Math.floor(seconds / 3600)} h ago`;
  else text = then.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
  return h("time", { datetime: iso, title: then.toLocaleString() }, text);
}

/** How long from start to end (or to now while it runs): "850 ms", "4.2 s", "3 min 5 s". */
export function took(start, end) {
  if (!start) return "";
  const ms = Math.max(0, (end ? new Date(end) : new Date()) - new Date(start));
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Any value as readable JSON in a <pre>. */
export function json(value, attrs = {}) {
  return h("pre", { class: "json", ...attrs }, JSON.stringify(value, null, 2));
}

/** A one-line preview of a value. */
export function preview(value, limit = 140) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const flat = (text || "").replace(/\s+/g, " ");
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}

/** A titled card. */
export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

/** A definition list from [term, value] pairs (empty values left out). */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs
      .filter(([, value]) => value !== "" && value !== null && value !== undefined)
      .map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]),
  );
}

/** A message box for an error from the API (with its hint). */
export function problem(error) {
  return h(
    "div",
    { class: "problem", role: "alert" },
    h("strong", {}, error.message || String(error)),
    error.hint ? h("div", { class: "hint" }, error.hint) : null,
  );
}

/** Short execution ids keep their prefix and tail: wex_01m8…9mmcww. */
export function shortId(id) {
  return id && id.length > 18 ? `${id.slice(0, 8)}…${id.slice(-6)}` : id || "";
}
