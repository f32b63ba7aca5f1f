// Evaluations (commendations, warnings, accountability) and the protocol
// messages central counted: totals, and per second over the last few
// seconds of wall time.
import { el, number } from "./model.js";

const WINDOW_MS = 5000;
const samples = []; // [wall ms, totals by kind]

export function renderActivity(counts, list, messages, model) {
  const evaluations = Object.values(model.cases)
    .flatMap((c) => c.evaluations.map((e) => Object.assign({ case_id: c.case_id, city: c.city }, e)))
    .sort((a, b) => b.at.localeCompare(a.at));
  const byKind = {};
  for (const e of evaluations) byKind[e.kind] = (byKind[e.kind] || 0) + 1;
  counts.textContent = ["commendation", "warning", "accountability"]
    .map((k) => `${byKind[k] || 0} ${k}${k === "accountability" ? "" : "s"}`).join(", ");
  list.replaceChildren(...evaluations.map((e) => el("li", { class: `kind-${e.kind}` },
    `${e.at} ${e.kind}: ${e.province} → ${e.city}, ${Math.round(e.delivered_fraction * 100)}% delivered`
    + `${e.reason ? ` (${e.reason})` : ""}`)));

  const now = performance.now();
  const totals = model.messages || {};
  samples.push([now, totals]);
  while (samples.length > 2 && now - samples[1][0] >= WINDOW_MS) samples.shift();
  const [then, before] = samples[0];
  const seconds = (now - then) / 1000;
  const kinds = Object.keys(totals).sort();
  messages.replaceChildren(...kinds.map((k) => {
    const rate = seconds > 0.5 ? (totals[k] - (before[k] || 0)) / seconds : 0;
    return el("tr", { "data-kind": k }, el("td", {}, k),
      el("td", { class: "num" }, number.format(totals[k])),
      el("td", { class: "num" }, rate.toFixed(1)));
  }));
}
