// The page: follows the dashboard's event stream (a snapshot, then patches)
// and redraws at most once per animation frame.
import { fold } from "./model.js";
import { renderMap } from "./map.js";
import { renderCases } from "./cases.js";
import { renderLedger } from "./ledger.js";
import { renderActivity } from "./activity.js";

const $ = (id) => document.getElementById(id);
let model = null;
let queued = false;

function render() {
  queued = false;
  if (!model) return;
  const o = model.outline;
  $("scenario").textContent = o ? `${o.scenario} (${o.mode} pairing)` : "…";
  const state = model.finished_at ? "finished" : model.link === "connected" ? "running" : model.link;
  $("run-state").textContent = state;
  $("run-state").dataset.state = model.finished_at ? "finished" : model.link === "connected" ? "running" : "down";
  $("clock").textContent = o ? ` day ${(model.scenario_ms / 86400000).toFixed(1)} from ${o.start_date}` : "";
  $("link").textContent = model.finished_at ? `, every case settled by ${model.finished_at}` : "";
  renderMap($("map"), $("legend"), model);
  renderCases(document.querySelector("#case-table tbody"), model);
  renderLedger(document.querySelector("#ledger-table tbody"), document.querySelector("#ledger-table tfoot"),
    document.querySelector("#cost-table tbody"), $("books"), model);
  renderActivity($("evaluation-counts"), $("evaluations"), document.querySelector("#message-table tbody"), model);
}

function schedule() {
  if (!queued) {
    queued = true;
    requestAnimationFrame(render);
  }
}

const events = new EventSource("/events");
events.addEventListener("snapshot", (e) => { model = JSON.parse(e.data); schedule(); });
events.addEventListener("patch", (e) => {
  if (model) { fold(model, JSON.parse(e.data)); schedule(); }
});
events.addEventListener("error", () => {
  // The browser reconnects by itself; say so meanwhile.
  $("run-state").textContent = "dashboard unreachable, retrying";
  $("run-state").dataset.state = "down";
});
