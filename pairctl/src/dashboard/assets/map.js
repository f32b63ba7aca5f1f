// The map: places at their coordinates (an equirectangular projection fitted
// to the scenario's places), a line per pairing coloured by the stage of the
// city's latest case, wider as more of the pair's target was received.
import { STAGES, stageColour, latestCaseOf, svg } from "./model.js";

const WIDTH = 560, HEIGHT = 400, PAD = 40;

export function renderMap(root, legend, model) {
  const places = (model.outline && model.outline.places) || [];
  const at = project(places);
  root.querySelectorAll("g").forEach((g) => g.remove());
  const lines = svg("g", { class: "pairings" });
  const delivered = deliveredByPair(model);
  for (const p of model.pairings || []) {
    const stage = (latestCaseOf(model, p.city) || {}).status || "awaiting_pairing";
    for (const donor of p.donors) {
      const a = at.get(donor), b = at.get(p.city);
      if (!a || !b) continue;
      const fraction = delivered.get(`${donor}|${p.city}`) || 0;
      const line = svg("line", {
        class: "pairing", "data-pair": `${donor}-${p.city}`, "data-stage": stage,
        x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: stageColour(stage),
        "stroke-width": (1.5 + 7 * fraction).toFixed(1), tabindex: "0",
      }, svg("title", {}, `${donor} → ${p.city}: ${stage.replace("_", " ")}, `
        + `${Math.round(fraction * 100)}% of the target received`));
      lines.append(line);
    }
  }
  const dots = svg("g", { class: "places" });
  for (const place of places) {
    const { x, y } = at.get(place.id);
    const estimated = place.estimated || !place.located ? " estimated" : "";
    const mark = place.role === "city"
      ? svg("rect", { class: "city" + estimated, x: x - 4, y: y - 4, width: 8, height: 8 })
      : svg("circle", { class: "province" + estimated, cx: x, cy: y, r: 5 });
    const where = place.located
      ? `${place.lat.toFixed(2)}, ${place.lon.toFixed(2)}${place.estimated ? " (estimated)" : ""}`
      : "no coordinates in the scenario";
    const label = svg("text", { x: x + 7, y: y + 4 }, place.name);
    dots.append(svg("g", { class: "place", "data-place": place.id, tabindex: "0" },
      svg("title", {}, `${place.name} (${place.role}): ${where}`), mark, label));
  }
  root.append(lines, dots);
  if (!legend.childElementCount) {
    for (const stage of STAGES) {
      const swatch = document.createElement("i");
      swatch.style.background = stageColour(stage);
      const item = document.createElement("li");
      item.append(swatch, stage.replace("_", " "));
      legend.append(item);
    }
  }
}

// Each place's point: located places projected (equirectangular), then
// spread around the recipient cities' centre on a square-root scale, so that
// cities a few dozen kilometres apart stay apart beside donors a thousand
// away; the others on a ring around the middle (and drawn as estimates).
function project(places) {
  const located = places.filter((p) => p.located);
  const at = new Map();
  if (located.length) {
    const lats = located.map((p) => p.lat);
    const midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
    const k = Math.cos((midLat * Math.PI) / 180);
    const flat = new Map(located.map((p) => [p.id, { x: p.lon * k, y: -p.lat }]));
    const cities = located.filter((p) => p.role === "city");
    const centre = mean((cities.length ? cities : located).map((p) => flat.get(p.id)));
    const spread = new Map([...flat].map(([id, q]) => {
      const dx = q.x - centre.x, dy = q.y - centre.y, r = Math.hypot(dx, dy);
      const s = r > 0 ? Math.sqrt(r) / r : 0;
      return [id, { x: dx * s, y: dy * s }];
    }));
    const xs = [...spread.values()].map((q) => q.x), ys = [...spread.values()].map((q) => q.y);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const scale = Math.min((WIDTH - 2 * PAD) / Math.max(x1 - x0, 1e-6),
      (HEIGHT - 2 * PAD) / Math.max(y1 - y0, 1e-6));
    const dx = (WIDTH - scale * (x1 - x0)) / 2, dy = (HEIGHT - scale * (y1 - y0)) / 2;
    for (const [id, q] of spread) at.set(id, { x: dx + scale * (q.x - x0), y: dy + scale * (q.y - y0) });
  }
  const others = places.filter((p) => !p.located);
  others.forEach((p, i) => {
    const angle = (2 * Math.PI * i) / others.length;
    at.set(p.id, { x: WIDTH / 2 + 0.4 * WIDTH * Math.cos(angle), y: HEIGHT / 2 + 0.4 * HEIGHT * Math.sin(angle) });
  });
  return at;
}

function mean(points) {
  const n = Math.max(points.length, 1);
  return { x: points.reduce((a, q) => a + q.x, 0) / n, y: points.reduce((a, q) => a + q.y, 0) / n };
}

// Per donor and city: the mean over resource types of min(1, received /
// target), from the ledger lines of every case.
function deliveredByPair(model) {
  const sums = new Map();
  for (const l of Object.values(model.ledger)) {
    if (l.target <= 0) continue;
    const key = `${l.province}|${l.city}`;
    const s = sums.get(key) || { total: 0, n: 0 };
    s.total += Math.min(1, l.received / l.target);
    s.n += 1;
    sums.set(key, s);
  }
  return new Map([...sums].map(([k, s]) => [k, s.total / s.n]));
}
