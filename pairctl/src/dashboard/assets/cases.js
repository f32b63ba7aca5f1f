// The cases: one row each, with its stage, a timeline of every step from
// the request to the closure (a mark per step; the full list opens with
// Enter), and a link to the case's trace.
import { el, svg, stageColour } from "./model.js";

export function renderCases(tbody, model) {
  const cases = Object.values(model.cases).sort((a, b) => a.case_id.localeCompare(b.case_id));
  const open = new Set([...tbody.querySelectorAll("details[open]")].map((d) => d.dataset.case));
  const rows = cases.map((c) => {
    const stage = el("span", { class: `stage stage-${c.status}` }, c.status.replace("_", " "));
    const steps = el("ol", {}, ...c.steps.map((s) => el("li", {},
      `${s.at} ${s.step.replaceAll("_", " ")}${s.province ? ` (${s.province})` : ""}`
      + `${s.detail ? `: ${s.detail}` : ""}`)));
    const details = el("details", { "data-case": c.case_id },
      el("summary", {}, timeline(c, model), el("span", { class: "steps" }, `${c.steps.length} steps`)), steps);
    if (open.has(c.case_id)) details.open = true;
    const trace = c.trace_id
      ? el("a", { class: "trace", href: `${model.jaeger_url}/trace/${c.trace_id}`,
        target: "_blank", rel: "noopener", title: `trace ${c.trace_id} in Jaeger` }, "trace")
      : el("span", { class: "note", title: "the nodes export no traces (see --otlp)" }, "none");
    return el("tr", { class: "case", "data-case": c.case_id, "data-status": c.status },
      el("td", {}, c.case_id), el("td", {}, c.city), el("td", {}, c.provinces.join(", ")),
      el("td", {}, c.severity), el("td", {}, stage), el("td", {}, details), el("td", {}, trace));
  });
  tbody.replaceChildren(...rows);
}

// A strip from the case's request to its closure (or now): a tick per step.
function timeline(c, model) {
  const W = 180, H = 16;
  const times = c.steps.map((s) => s.at_ms);
  const start = Math.min(...times, model.scenario_ms);
  const end = Math.max(...times, c.status === "closed" || c.status === "rejected" ? 0 : model.scenario_ms);
  const x = (t) => 4 + ((W - 8) * (t - start)) / Math.max(end - start, 1);
  const strip = svg("svg", { class: "timeline", viewBox: `0 0 ${W} ${H}`, "aria-hidden": "true" },
    svg("line", { x1: 4, y1: H / 2, x2: W - 4, y2: H / 2, stroke: "#c4cad3" }));
  for (const s of c.steps) {
    const shipment = s.step === "shipped" || s.step === "received";
    strip.append(svg("line", {
      x1: x(s.at_ms), x2: x(s.at_ms), y1: shipment ? 5 : 2, y2: shipment ? H - 5 : H - 2,
      stroke: s.step === "closed" ? stageColour("closed") : shipment ? "#e08a00" : "#1d2430",
      "stroke-width": 1.5,
    }, svg("title", {}, `${s.at} ${s.step}`)));
  }
  return strip;
}
