// The supervisor console (`/supervisor`): the team's agents with channel state and current sessions;
// Monitor / Coach / BargeIn (NextChat or AllChats), cancel, Intrude; the supervised sessions live with
// SwitchToMonitor / SwitchToCoach / SwitchToBargeIn, coaching or barge-in messages, and Leave (spec §7).
// A row's channel state follows the team events (/v2/users); its current sessions are read with one request
// per agent, and only for the rows on screen (when a row scrolls into view, then every REFRESH_MS while it
// stays there): with a team of a thousand agents the console stays at a few requests per second.
import {Gws} from "./gws.js";
import {$, h, flash} from "./dom.js";
import {signIn} from "./login.js";
import {Notifications} from "./notifications.js";
import {Board} from "./board.js";
import {Viewer} from "./transcript.js";
import {Drafts} from "./drafts.js";
import {modeShort, modeWord, scopeWord, stateWord} from "./words.js";
import {sessionSummary, supervisorAudience, supervisorMode} from "./console_words.js";
import {Wallboard} from "./wallboard.js";
import {TranscriptSearch} from "./history.js";

const MODES = ["Monitor", "Coach", "BargeIn"];
const SCOPES = ["AllChats", "NextChat"];
const REFRESH_MS = 5000;

const gws = new Gws();
const status = $("#status");
const team = new Map(); // agent id -> {user, channel, sessions, row}
let monitoring = {};    // agent id -> {operation, mode}: from GET /api/v2/me/supervision, else what this tab started
let storageKey = "";
let myNickname = ""; // what agents and supervisors see of me in a conversation: my nickname, not my user name
const liveMode = {};     // agent id -> my mode in a session of theirs now (after SwitchToCoach / BargeIn)
const onScreen = new Set();      // agent ids whose row is visible
const readAt = new Map();        // agent id -> when its sessions were last read (ms)
const reading = new Set();       // agent ids being read now
const rowWatcher = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const id = entry.target.dataset.agentId;
    if (!entry.isIntersecting) {
      onScreen.delete(id);
    } else {
      onScreen.add(id);
      if (Date.now() - (readAt.get(id) || 0) >= REFRESH_MS) refreshAgent(team.get(id));
    }
  }
});

function refreshOnScreen() {
  return Promise.all([...onScreen].map((id) => refreshAgent(team.get(id))));
}

function connection(text, kind) {
  const el = $("#connection");
  el.textContent = text;
  el.dataset.kind = kind;
}

function saveMonitoring() {
  sessionStorage.setItem(storageKey, JSON.stringify(monitoring));
  const names = Object.entries(monitoring).map(([id, m]) => {
    const agent = team.get(id);
    return `${agent ? agent.user.nickname || agent.user.userName : id} (${modeShort(liveMode[id] || m.operation)}, ${scopeWord(m.mode)})`;
  });
  $("#monitoring-summary").textContent = names.length ? `Supervising: ${names.join("; ")}` : "Supervising nobody";
}

// "Ready", "Busy · 1/3" (Ready with conversations), "Not Ready (Lunch)", "After Call Work".
function stateText(agent) {
  const s = agent.channel && agent.channel.userState;
  if (!s) return "Unknown";
  const load = (agent.sessions || []).length;
  const capacity = agent.user.capacity || "?";
  if (s.state === "Ready" && load > 0) return `Busy · ${load}/${capacity}`;
  return s.displayName + (s.reason ? ` (${s.reason})` : "") + (load > 0 ? ` · ${load}/${capacity}` : "");
}

// "billing 5 · spanish 2": the agent's skills (GET /api/v2/users/{id}?subresources=*, docs/routing.md)
function skillsText(skills) {
  return (skills || []).map((k) => `${k.name} ${k.level}`).join(" · ");
}

function select(name, values, label, word = (v) => v) {
  return h("select", {name, "aria-label": label}, ...values.map((v) => h("option", {value: v}, word(v))));
}

function buildRow(agent) {
  const name = agent.user.nickname || agent.user.userName;
  const mode = select("operation", MODES, `Supervision mode for ${name}`, modeWord);
  const scope = select("scope", SCOPES, `Which conversations of ${name}`, scopeWord);
  const start = h("button", {type: "button", class: "primary", onclick: () => startSupervision(agent, mode.value, scope.value)}, "Start");
  const cancel = h("button", {type: "button", onclick: () => cancelSupervision(agent)}, "Cancel");
  agent.cells = {
    state: h("td", {class: "agent-state", "data-label": "State"}),
    skills: h("td", {class: "agent-skills", "data-label": "Skills"}),
    sessions: h("td", {class: "agent-sessions", "data-label": "Conversations"}),
    current: h("span", {class: "supervising"}),
    cancel,
  };
  agent.row = h("tr", {dataset: {agent: agent.user.userName, agentId: agent.user.id}},
    h("th", {scope: "row"}, name),
    agent.cells.state, agent.cells.skills, agent.cells.sessions,
    h("td", {class: "agent-supervision", "data-label": "Supervision"},
      h("div", {class: "op-form"}, mode, scope, start, cancel, agent.cells.current)));
  return agent.row;
}

function renderRow(agent) {
  const s = agent.channel && agent.channel.userState;
  agent.cells.state.textContent = stateText(agent);
  agent.cells.state.dataset.state = s ? s.state : "";
  agent.cells.state.dataset.busy = (agent.sessions || []).length > 0 ? "yes" : "no";
  agent.cells.state.dataset.reason = (s && s.reason) || ""; // e.g. "Not Responding", "No Client Connected"
  if (agent.skills === null) agent.cells.skills.replaceChildren(h("span", {class: "muted", title: "read when shown"}, "…"));
  else agent.cells.skills.textContent = skillsText(agent.skills) || "none";
  const sessions = agent.sessions || [];
  if (agent.sessions === null) { // not read yet: it is read once the row is on screen
    agent.cells.sessions.replaceChildren(h("span", {class: "muted", title: "read when shown"}, "…"));
  } else agent.cells.sessions.replaceChildren(...(sessions.length ? sessions.map((sess) => {
    const summary = sessionSummary(sess, Date.now());
    const mode = select("visibility", MODES, `Intrude mode for the conversation with ${summary.customer}`, modeWord);
    return h("div", {class: "agent-session", dataset: {session: sess.id}, title: `Conversation id ${sess.id}`},
      h("span", {class: "agent-session-text"}, summary.text), mode,
      h("button", {type: "button", "aria-label": `Intrude on the conversation with ${summary.customer}`,
        onclick: () => intrude(agent, sess.id, mode.value)}, "Intrude"));
  }) : [h("span", {class: "muted"}, "none")]));
  const m = monitoring[agent.user.id];
  const now = liveMode[agent.user.id] || (m && m.operation);
  agent.cells.current.textContent = m || liveMode[agent.user.id] ? `${modeShort(now)}${m ? " · " + scopeWord(m.mode) : ""}` : "";
  agent.cells.cancel.disabled = !m;
}

async function refreshAgent(agent) {
  if (!agent || reading.has(agent.user.id)) return;
  reading.add(agent.user.id);
  readAt.set(agent.user.id, Date.now());
  try {
    const detail = await gws.userDetail(agent.user.id);
    agent.channel = (detail.channels || [])[0] || agent.channel;
    agent.sessions = (detail.smssessions || []).filter((s) => !["Completed", "Revoked"].includes(s.state));
    agent.skills = detail.skills || [];
    renderRow(agent);
  } catch (err) {
    flash(status, `Could not read ${agent.user.userName}: ${err.message}`, "error");
  } finally {
    reading.delete(agent.user.id);
  }
}

async function loadTeam() {
  const users = await gws.users();
  const body = $("#team-table tbody");
  for (const user of users.filter((u) => (u.roles || []).includes("ROLE_AGENT"))) {
    if (!team.has(user.id)) {
      const agent = {user, channel: null, sessions: null, skills: null};
      team.set(user.id, agent);
      body.append(buildRow(agent));
      rowWatcher.observe(agent.row); // its sessions are read once it is on screen
    }
  }
  const subscriptions = await gws.subscriptions();
  if (subscriptions) {
    monitoring = Object.fromEntries(subscriptions.map((sub) => [sub.agentId,
      {operation: sub.operationName, mode: sub.supervisorMonitoringMode}]));
  }
  for (const agent of team.values()) renderRow(agent);
  await refreshOnScreen();
  saveMonitoring();
}

async function startSupervision(agent, operation, mode) {
  try {
    await gws.supervise(agent.user.id, operation, mode, myNickname);
    monitoring[agent.user.id] = {operation, mode};
    delete liveMode[agent.user.id];
    flash(status, `${modeShort(operation)} ${agent.user.nickname || agent.user.userName} (${scopeWord(mode)}).`);
  } catch (err) {
    flash(status, `${operation} failed: ${err.message}`, "error");
  }
  saveMonitoring();
  renderRow(agent);
}

async function cancelSupervision(agent) {
  try {
    await gws.supervise(agent.user.id, "CancelSupervisorMonitoring");
    flash(status, `Supervision of ${agent.user.nickname || agent.user.userName} cancelled.`);
  } catch (err) {
    flash(status, `Cancel failed: ${err.message}`, "error");
  }
  delete monitoring[agent.user.id];
  saveMonitoring();
  renderRow(agent);
}

async function intrude(agent, sessionId, visibilityMode) {
  try {
    await gws.intrude(agent.user.id, sessionId, visibilityMode, myNickname);
    flash(status, `Joining the conversation (${modeWord(visibilityMode)}): accept it under Supervised conversations.`);
  } catch (err) {
    flash(status, `Intrude failed: ${err.message}`, "error");
  }
}

// /v2/users: ChannelStateChangeMessageV2 with userId (the team view).
function onTeamEvent(data) {
  const agent = data.userId && team.get(data.userId);
  if (!agent) return;
  if (data.channels && data.channels.length) agent.channel = data.channels[0];
  renderRow(agent);
  if (onScreen.has(agent.user.id)) refreshAgent(agent);
  else readAt.delete(agent.user.id); // read when it scrolls into view
}

const ACTIONS = {
  composer: true,
  audience: supervisorAudience, // who sees what I write, instead of an "Agents only" box
  controls: [
    (pane) => pane.button("Monitor", "SwitchToMonitor"),
    (pane) => pane.button("Coach", "SwitchToCoach"),
    (pane) => pane.button("Barge in", "SwitchToBargeIn", {capability: ["SwitchToBargeIn"]}),
    (pane) => pane.button("Leave", "Leave", {class: "danger"}),
  ],
};

async function main() {
  const user = await signIn(gws, {requireRole: "ROLE_SUPERVISOR"});
  storageKey = `smsdesk.monitoring.${user.id}`;
  try { monitoring = JSON.parse(sessionStorage.getItem(storageKey) || "{}") || {}; } catch { monitoring = {}; }
  $("#me").textContent = user.nickname || user.userName;
  myNickname = user.nickname || "";
  $("#app").hidden = false;
  const drafts = new Drafts(user.id);
  drafts.warnOnLeave();
  const board = new Board({
    gws, viewer: new Viewer(user), drafts, panesEl: $("#panes"), listEl: $("#session-list"), statusEl: status,
    actions: ACTIONS, emptyText: "No supervised conversations yet. Start Monitor, Coach or Barge in on an agent.",
  });
  // A NextChat subscription ends once it joined a session: forget it when a session of that agent arrives.
  board.onPaneChange = (pane) => {
    const mine = supervisorMode(pane);
    const ids = (pane.data.participants || []).filter((p) => p.type === "Agent")
      .map((p) => (p.path || "").split("/").pop()).filter((id) => team.has(id));
    pane.agentIds = ids.length ? ids : pane.agentIds || []; // a finished pane lists nobody: keep the last ones
    for (const id of pane.agentIds) {
      if (Date.now() - (readAt.get(id) || 0) > 1000) refreshAgent(team.get(id)); // its load changed
      const next = mine && monitoring[id] ? mine : undefined; // my mode shows on the agents I supervise
      if (liveMode[id] !== next) {
        if (next) liveMode[id] = next;
        else delete liveMode[id];
        flash(status, ""); // "Monitoring … started" is no longer true
        renderRow(team.get(id));
        saveMonitoring();
      }
    }
    for (const person of pane.data.participants || []) {
      const agentId = Object.keys(monitoring).find((id) => (person.uri || "").endsWith(`/users/${id}`));
      if (agentId && monitoring[agentId].mode === "NextChat") {
        delete monitoring[agentId];
        saveMonitoring();
        if (team.has(agentId)) renderRow(team.get(agentId));
      }
    }
  };
  const wallboard = new Wallboard({gws, root: $("#wallboard"), onError: (text) => flash(status, text, "error")});
  new TranscriptSearch({gws, root: $("#search")});
  const notifications = new Notifications({
    topics: {"/v2/me/smssessions": (data) => board.handle(data), "/v2/users": onTeamEvent,
      "/v2/statistics": (data) => wallboard.handle(data)},
    onStatus: connection,
    onReady: async () => { await wallboard.reload(); await loadTeam(); await board.restore(); },
  });
  $("#refresh").addEventListener("click", () => loadTeam().catch((err) => flash(status, err.message, "error")));
  $("#logout").addEventListener("click", async () => {
    notifications.stop();
    sessionStorage.removeItem(storageKey);
    try { await gws.logout(); } catch { /* the session is gone either way */ }
    location.reload();
  });
  setInterval(() => {
    if (notifications.connected && !document.hidden) refreshOnScreen();
  }, REFRESH_MS);
  notifications.start();
}

main().catch((err) => flash(status, `The console failed to start: ${err.message}`, "error"));
