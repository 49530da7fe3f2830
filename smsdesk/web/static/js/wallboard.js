// The live wallboard of the supervisor console: queues (waiting, longest wait, service level, agents by
// state, today's figures) and the team (state with reason, time in state, sessions, handled today), from
// GET /api/v2/statistics and then the /v2/statistics notifications (docs/operations.md). No polling: the
// figures change when a message arrives; only the clocks (longest wait, time in state) tick locally, from
// the times the server gave. Sort and filter by queue.
import {h} from "./dom.js";

const SORTS = {
  name: (a, b) => a.name.localeCompare(b.name),
  waiting: (a, b) => b.waiting - a.waiting || a.name.localeCompare(b.name),
  longest: (a, b) => (a.oldestWaitingSince ?? Infinity) - (b.oldestWaitingSince ?? Infinity) || a.name.localeCompare(b.name),
  serviceLevel: (a, b) => (a.today.serviceLevel ?? 2) - (b.today.serviceLevel ?? 2) || a.name.localeCompare(b.name),
};

export function seconds(total) {
  const s = Math.max(0, Math.floor(total));
  const m = Math.floor(s / 60);
  const hh = Math.floor(m / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return hh ? `${hh}:${pad(m % 60)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function percent(share) {
  return share === null || share === undefined ? "–" : `${Math.round(share * 100)} %`;
}

// The figures a client holds: a GET, then every message not older than it applied (entries replaced by name
// or id; a complete message replaces everything). Pure: tested in tests/browser/test_ui_logic.py.
export class StatisticsView {
  constructor() {
    this.asOf = 0;
    this.queues = new Map();
    this.agents = new Map();
  }

  load(body) {
    this.asOf = body.asOf;
    this.queues = new Map(body.queues.map((q) => [q.name, q]));
    this.agents = new Map(body.agents.map((a) => [a.id, a]));
  }

  apply(message) {
    if (!message || message.asOf < this.asOf) return false;
    this.asOf = message.asOf;
    if (message.complete) {
      this.queues = new Map();
      this.agents = new Map();
    }
    for (const q of message.queues || []) this.queues.set(q.name, q);
    for (const a of message.agents || []) this.agents.set(a.id, a);
    for (const name of message.removedQueues || []) this.queues.delete(name);
    for (const id of message.removedAgents || []) this.agents.delete(id);
    return true;
  }
}

export class Wallboard {
  constructor({gws, root, onError}) {
    this.gws = gws;
    this.view = new StatisticsView();
    this.onError = onError || (() => {});
    this.sort = "name";
    this.filter = "";
    const sort = h("select", {id: "wallboard-sort", "aria-label": "Sort queues by",
      onchange: (e) => { this.sort = e.target.value; this.render(); }},
    h("option", {value: "name"}, "Queue name"), h("option", {value: "waiting"}, "Most waiting"),
    h("option", {value: "longest"}, "Longest wait"), h("option", {value: "serviceLevel"}, "Lowest service level"));
    const filter = h("input", {id: "wallboard-filter", type: "search", placeholder: "Filter queues",
      "aria-label": "Filter queues", oninput: (e) => { this.filter = e.target.value.trim().toLowerCase(); this.render(); }});
    this.queueBody = h("tbody");
    this.agentBody = h("tbody");
    this.asOfEl = h("span", {class: "muted", id: "wallboard-asof"});
    root.replaceChildren(
      h("h2", {id: "wallboard-title"}, "Wallboard"),
      h("div", {class: "op-form"}, h("label", {for: "wallboard-sort"}, "Sort"), sort, filter, this.asOfEl),
      h("div", {class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Queues"}, h("table", {id: "queue-table"},
        h("thead", {}, h("tr", {}, ...["Queue", "Waiting", "Longest wait", "Service level", "Ready", "Busy",
          "Not ready", "Offered", "Accepted", "Abandoned", "Avg wait"].map((t) => h("th", {scope: "col"}, t)))),
        this.queueBody)),
      h("div", {class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Agents"}, h("table", {id: "agent-table"},
        h("thead", {}, h("tr", {}, ...["Agent", "State", "Time in state", "Sessions", "Handled today",
          "Avg handle"].map((t) => h("th", {scope: "col"}, t)))),
        this.agentBody)));
    this.ticker = setInterval(() => this.tick(), 1000); // the clocks only: no request
  }

  async reload() {
    try {
      this.view.load(await this.gws.get("/api/v2/statistics"));
      this.render();
    } catch (err) {
      this.onError(`Could not read the statistics: ${err.message}`);
    }
  }

  handle(message) {
    if (this.view.apply(message)) this.render();
  }

  queues() {
    const all = [...this.view.queues.values()].filter((q) => !this.filter || q.name.toLowerCase().includes(this.filter));
    return all.sort(SORTS[this.sort] || SORTS.name);
  }

  render() {
    this.queueBody.replaceChildren(...this.queues().map((q) => h("tr", {dataset: {queue: q.name}},
      h("th", {scope: "row"}, q.name),
      h("td", {class: "q-waiting"}, String(q.waiting)),
      h("td", {class: "q-longest", dataset: {since: q.oldestWaitingSince ?? ""}}, this.waitText(q)),
      h("td", {class: "q-sl"}, percent(q.today.serviceLevel)),
      h("td", {class: "q-ready"}, String(q.agentsReady)),
      h("td", {class: "q-busy"}, String(q.agentsBusy)),
      h("td", {class: "q-notready"}, String(q.agentsNotReady)),
      h("td", {class: "q-offered"}, String(q.today.offered)),
      h("td", {class: "q-accepted"}, String(q.today.accepted)),
      h("td", {class: "q-abandoned"}, String(q.today.abandoned)),
      h("td", {}, q.today.averageWaitSeconds === null ? "–" : seconds(q.today.averageWaitSeconds)))));
    const agents = [...this.view.agents.values()].sort((a, b) => a.userName.localeCompare(b.userName));
    this.agentBody.replaceChildren(...agents.map((a) => h("tr", {dataset: {wbAgent: a.userName}},
      h("th", {scope: "row"}, a.userName),
      h("td", {class: "a-state", dataset: {state: a.state}}, a.state + (a.reason ? ` (${a.reason})` : "")),
      h("td", {class: "a-since", dataset: {since: a.stateSince}}, this.sinceText(a.stateSince)),
      h("td", {class: "a-sessions"}, `${a.sessions} / ${a.capacity}`),
      h("td", {class: "a-handled"}, String(a.handledToday)),
      h("td", {}, a.averageHandleSeconds === null ? "–" : seconds(a.averageHandleSeconds)))));
    this.asOfEl.textContent = this.view.asOf ? `as of ${new Date(this.view.asOf).toLocaleTimeString()}` : "";
  }

  waitText(q) {
    return q.oldestWaitingSince ? seconds((Date.now() - q.oldestWaitingSince) / 1000) : "–";
  }

  sinceText(since) {
    return since ? seconds((Date.now() - since) / 1000) : "–";
  }

  tick() {
    for (const cell of this.queueBody.querySelectorAll(".q-longest")) {
      const since = Number(cell.dataset.since);
      cell.textContent = since ? seconds((Date.now() - since) / 1000) : "–";
    }
    for (const cell of this.agentBody.querySelectorAll(".a-since")) cell.textContent = this.sinceText(Number(cell.dataset.since));
  }
}
