// The page's copy of the operation: the server's snapshot, then each patch
// folded in by the same rules as the server's board (board.rs, `fold`).

export function fold(model, patch) {
  if (patch.scenario_ms > 0) model.scenario_ms = patch.scenario_ms;
  switch (patch.type) {
    case "outline":
      // A new stream from central starts with the outline and repeats all.
      model.cases = {}; model.ledger = {}; model.costs = {}; model.finished_at = null;
      model.outline = patch;
      break;
    case "pairings": model.pairings = patch.pairings; break;
    case "case": {
      const id = patch.case.case_id;
      const old = model.cases[id] || { steps: [], evaluations: [] };
      model.cases[id] = Object.assign({}, patch.case, {
        steps: old.steps.concat(patch.new_steps || []),
        evaluations: old.evaluations.concat(patch.new_evaluations || []),
      });
      break;
    }
    case "ledger": model.ledger[patch.key] = patch.line; break;
    case "cost": model.costs[patch.province] = patch.cost_cny; break;
    case "messages": model.messages = patch.by_kind; break;
    case "finished": model.finished_at = patch.finished_at; break;
    case "link": model.link = patch.link; break;
    case "reconciliation":
      model.reconciliation = { lines: patch.lines, problems: patch.problems };
      break;
  }
  return model;
}

// The stages a case goes through, in order, with the colour of each.
export const STAGES = ["awaiting_pairing", "implementing", "demobilising", "closed", "rejected"];

export function stageColour(stage) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(`--${stage}`);
  return value.trim() || "#777";
}

// The case that speaks for a city now: its latest (cases are numbered).
export function latestCaseOf(model, city) {
  let latest = null;
  for (const c of Object.values(model.cases)) {
    if (c.city !== city) continue;
    if (!latest || caseNumber(c.case_id) > caseNumber(latest.case_id)) latest = c;
  }
  return latest;
}

function caseNumber(id) {
  const n = parseInt(id.slice(id.lastIndexOf("-") + 1), 10);
  return Number.isNaN(n) ? 0 : n;
}

// Ledger lines summed per (donor, city, resource type): the 3W rows.
export function ledgerRows(model) {
  const rows = new Map();
  for (const l of Object.values(model.ledger)) {
    const key = `${l.province}|${l.city}|${l.resource_type}`;
    const row = rows.get(key) || { province: l.province, city: l.city, resource_type: l.resource_type,
      target: 0, shipped: 0, received: 0, discrepancy: 0, in_transit: 0 };
    for (const f of ["target", "shipped", "received", "discrepancy", "in_transit"]) row[f] += l[f];
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) =>
    a.province.localeCompare(b.province) || a.city.localeCompare(b.city)
    || a.resource_type.localeCompare(b.resource_type));
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

export const number = new Intl.NumberFormat("en");
