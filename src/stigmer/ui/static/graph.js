// A workflow's task graph in SVG: one column per level (a task sits right of everything it
// waits for), edges as curves, switch branches labelled with their condition.

import { s, took } from "./dom.js";

const W = 204;
const H = 66;
const GAP_X = 72;
const GAP_X_LABELLED = 150; // room for a switch condition between two columns
const GAP_Y = 22;
const PAD = 16;

function cut(text, limit) {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

/** Each task's box: x, y (top left). Within a column, tasks sit near what they come after. */
export function layout(graph) {
  const gapX = graph.edges.some((edge) => edge.label) ? GAP_X_LABELLED : GAP_X;
  const declared = new Map(graph.nodes.map((node, i) => [node.name, i]));
  const before = new Map(graph.nodes.map((node) => [node.name, []]));
  for (const edge of graph.edges) before.get(edge.to)?.push(edge.from);
  const columns = [];
  for (const node of graph.nodes) (columns[node.level] ||= []).push(node);
  const row = new Map();
  const centre = (node) => {
    const placed = before.get(node.name).filter((name) => row.has(name));
    if (!placed.length) return declared.get(node.name);
    return placed.reduce((sum, name) => sum + row.get(name), 0) / placed.length;
  };
  columns.forEach((nodes, level) => {
    if (!nodes) return;
    if (level > 0) nodes.sort((a, b) => centre(a) - centre(b) || declared.get(a.name) - declared.get(b.name));
    nodes.forEach((node, i) => row.set(node.name, i));
  });
  const tallest = Math.max(1, ...columns.map((nodes) => (nodes ? nodes.length : 0)));
  const boxes = new Map();
  columns.forEach((nodes, level) => {
    if (!nodes) return;
    const offset = ((tallest - nodes.length) * (H + GAP_Y)) / 2;
    nodes.forEach((node, i) => {
      boxes.set(node.name, { x: PAD + level * (W + gapX), y: PAD + offset + i * (H + GAP_Y) });
    });
  });
  const width = PAD * 2 + columns.length * (W + gapX) - gapX;
  const height = PAD * 2 + tallest * (H + GAP_Y) - GAP_Y;
  return { boxes, width: Math.max(width, W + PAD * 2), height };
}

/** The graph as an <svg>; onSelect(taskName) is called when a task is clicked. */
export function drawGraph(graph, { onSelect } = {}) {
  const { boxes, width, height } = layout(graph);
  const svg = s("svg", {
    class: "graph",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": "task graph",
  });
  svg.append(
    s(
      "defs",
      {},
      s(
        "marker",
        { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
        s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow" }),
      ),
    ),
  );
  const labels = [];
  for (const edge of graph.edges) {
    const from = boxes.get(edge.from);
    const to = boxes.get(edge.to);
    if (!from || !to) continue;
    const x1 = from.x + W;
    const y1 = from.y + H / 2;
    const x2 = to.x - 2;
    const y2 = to.y + H / 2;
    const bend = Math.max(30, (x2 - x1) / 2);
    svg.append(
      s("path", {
        class: edge.label ? "edge branch" : "edge",
        d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
        "marker-end": "url(#arrow)",
        dataset: { from: edge.from, to: edge.to },
      }),
    );
    if (edge.label) {
      const text = cut(edge.label, 21);
      labels.push(
        s(
          "g",
          { class: "edge-label", transform: `translate(${(x1 + x2) / 2},${(y1 + y2) / 2})` },
          s("title", {}, edge.label),
          s("rect", { x: -(text.length * 3.1 + 6), y: -9, width: text.length * 6.2 + 12, height: 17, rx: 4 }),
          s("text", { "text-anchor": "middle", y: 4 }, text),
        ),
      );
    }
  }
  for (const node of graph.nodes) {
    const box = boxes.get(node.name);
    const group = s(
      "g",
      { class: "node", transform: `translate(${box.x},${box.y})`, dataset: { task: node.name }, tabindex: 0 },
      s("title", {}, `${node.name}: ${node.label}${node.when ? `\nwhen ${node.when}` : ""}`),
      s("rect", { width: W, height: H, rx: 9 }),
      s("rect", { class: "stripe", width: 6, height: H, rx: 3 }),
      s("text", { class: "name", x: 16, y: 22 }, cut(node.name, 24)),
      s("text", { class: "kind", x: 16, y: 39 }, cut(node.label, 30)),
      s("text", { class: "state", x: 16, y: 56 }, ""),
    );
    if (onSelect) {
      group.addEventListener("click", () => onSelect(node.name));
      group.addEventListener("keydown", (event) => event.key === "Enter" && onSelect(node.name));
      group.classList.add("clickable");
    }
    svg.append(group);
  }
  svg.append(...labels);
  return svg;
}

/** Colour each task by its state: states maps a task name to {phase, startTime, endTime, items}. */
export function paint(svg, states) {
  for (const group of svg.querySelectorAll("g.node")) {
    const state = states[group.dataset.task] || { phase: "PENDING" };
    const clickable = group.classList.contains("clickable");
    group.setAttribute("class", `node phase-${state.phase}${clickable ? " clickable" : ""}`);
    group.dataset.phase = state.phase;
    const parts = [state.phase.toLowerCase().replace("_", " ")];
    if (state.items && state.items.total) parts.push(`${state.items.done}/${state.items.total} items`);
    if (state.startTime) parts.push(took(state.startTime, state.endTime));
    if (state.attempts > 1) parts.push(`attempt ${state.attempts}`);
    group.querySelector("text.state").textContent = parts.join(" · ");
  }
  for (const edge of svg.querySelectorAll("path.edge")) {
    const from = states[edge.dataset.from];
    const to = states[edge.dataset.to];
    const taken = from && from.phase === "COMPLETED" && to && to.phase !== "SKIPPED" && to.phase !== "PENDING";
    edge.classList.toggle("taken", Boolean(taken));
  }
}
