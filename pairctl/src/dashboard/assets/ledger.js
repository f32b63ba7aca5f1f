// The ledger, 3W style (who gave what to whom): per donor, city and
// resource type, the target and what was shipped, received, short of the
// target and still in transit; each donor's cost; a flag wherever the books
// disagree.
import { el, ledgerRows, number } from "./model.js";

const FIGURES = ["target", "shipped", "received", "short", "in_transit"];

export function renderLedger(tbody, tfoot, costs, books, model) {
  const problems = (model.reconciliation && model.reconciliation.problems) || [];
  const totals = Object.fromEntries(FIGURES.map((f) => [f, 0]));
  const rows = ledgerRows(model).map((r) => {
    r.short = Math.max(0, r.target - r.received);
    for (const f of FIGURES) totals[f] += r[f];
    const flags = [];
    if (r.shipped !== r.received + r.discrepancy + r.in_transit) {
      flags.push("central's figures disagree: shipped ≠ received + lost + in transit");
    }
    if (r.discrepancy > 0) flags.push(`${number.format(r.discrepancy)} lost in transit`);
    const pair = `${r.province} -> ${r.city} ${r.resource_type}`;
    for (const p of problems) if (p.includes(pair)) flags.push(p);
    return el("tr", { "data-pair": `${r.province}-${r.city}`, "data-resource": r.resource_type },
      el("td", {}, r.province), el("td", {}, r.city), el("td", {}, r.resource_type),
      ...FIGURES.map((f) => el("td", { class: "num" }, number.format(r[f]))),
      el("td", { class: flags.length ? "flag" : "" }, flags.join("; ")));
  });
  tbody.replaceChildren(...rows);
  tfoot.replaceChildren(el("tr", {},
    el("td", { colspan: "3" }, "All pairs"),
    ...FIGURES.map((f) => el("td", { class: "num", "data-total": f }, number.format(totals[f]))),
    el("td", {}, "")));
  const donors = Object.entries(model.costs).sort((a, b) => b[1] - a[1]);
  costs.replaceChildren(...donors.map(([p, cny]) =>
    el("tr", { "data-donor": p }, el("td", {}, p), el("td", { class: "num" }, number.format(cny)))));
  const r = model.reconciliation;
  books.textContent = !r ? "The nodes' own books are compared with central's ledger at the end of a pairctl up run."
    : r.problems.length ? `The nodes' books differ from central's ledger: ${r.problems.length} differences (flagged below).`
      : `The nodes' books agree with central's ledger (${r.lines} lines).`;
  books.className = r && r.problems.length ? "note flag" : "note";
}
