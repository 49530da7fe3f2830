// The agent desktop (`/`): sign in, Ready/NotReady with reasons, incoming sessions ring with Accept/Reject,
// sessions side by side, and per-session operations. Built only on the public GWS API (see docs/ui.md).
import {Ringer} from "./ringer.js";
import {Gws} from "./gws.js";
import {$, h, flash} from "./dom.js";
import {signIn} from "./login.js";
import {Notifications} from "./notifications.js";
import {Board} from "./board.js";
import {Viewer} from "./transcript.js";
import {agentActions} from "./agent_controls.js";
import {CustomerHistory} from "./history.js";

const NOT_READY_REASONS = ["Break", "Lunch", "Meeting", "Training", "After call work"];

const gws = new Gws();
const status = $("#status");
let colleagues = []; // other agents: transfer / invite / consult targets
let channelVersion = 0; // bumped by each /v2/me/channels notification: a REST read older than one is dropped

function connection(text, kind) {
  const el = $("#connection");
  el.textContent = text;
  el.dataset.kind = kind;
}

// ---- channel state (spec §9.3) ----
function showChannel(channels) {
  const sms = (channels || []).find((c) => ["sms", "smssession"].includes(c.channel)) || (channels || [])[0];
  if (!sms || !sms.userState) return;
  const {state, reason} = sms.userState;
  const select = $("#agent-state");
  select.value = state === "NotReady" && reason && NOT_READY_REASONS.includes(reason) ? `NotReady:${reason}` : state;
  if (!select.value) select.value = "NotReady";
  $("#state-label").textContent = sms.userState.displayName + (reason ? ` (${reason})` : "");
  document.body.dataset.agentState = state;
}

async function changeState() {
  const [op, reason] = $("#agent-state").value.split(":");
  try {
    await gws.setChannelState(op, reason);
    flash(status, "");
  } catch (err) {
    flash(status, `Could not change state: ${err.message}`, "error");
    refreshChannel();
  }
}

async function refreshChannel() {
  const version = channelVersion;
  try {
    let channels = await gws.myChannels();
    const sms = channels[0];
    if (sms && sms.userState && sms.userState.state === "LoggedOut") {
      await gws.post("/api/v2/me", {operationName: "StartContactCenterSession", channels: ["sms"]});
      channels = await gws.myChannels();
    }
    if (version === channelVersion) showChannel(channels);
  } catch (err) {
    flash(status, `Could not read the channel state: ${err.message}`, "error");
  }
}

async function main() {
  $("#agent-state").replaceChildren(
    h("option", {value: "Ready"}, "Ready"),
    h("option", {value: "NotReady"}, "Not Ready"),
    ...NOT_READY_REASONS.map((r) => h("option", {value: `NotReady:${r}`}, `Not Ready – ${r}`)));
  const user = await signIn(gws);
  $("#me").textContent = user.nickname || user.userName;
  $("#app").hidden = false;
  const board = new Board({
    gws, viewer: new Viewer(user), panesEl: $("#panes"), listEl: $("#session-list"), statusEl: status,
    actions: agentActions(() => colleagues), emptyText: "No sessions. Set Ready to receive SMS sessions.",
  });
  const ringer = new Ringer();
  $("#mute").checked = ringer.muted;
  $("#mute").addEventListener("change", (e) => ringer.setMuted(e.target.checked));
  const history = new CustomerHistory({gws, root: $("#history")});
  board.onPaneChange = (changed) => {
    const ud = (changed && changed.data && changed.data.userData) || {};
    if (ud.CustomerNumber) history.show(ud.CustomerNumber, changed.data.id);
    const ringing = [...board.panes.values()].filter((p) => p.state === "Invited");
    ringer.update(ringing.length > 0);
    document.body.dataset.ringing = ringer.ringing ? "yes" : "no";
    if (ringing.length === 0) flash($("#ring"), "");
    for (const pane of ringing.filter((p) => !p.announced)) {
      pane.announced = true;
      flash($("#ring"), `Incoming SMS session from ${pane.customerName()}`, "ring");
    }
  };
  $("#agent-state").addEventListener("change", changeState);
  const notifications = new Notifications({
    topics: {
      "/v2/me/smssessions": (data) => board.handle(data),
      "/v2/me/channels": (data) => { channelVersion += 1; showChannel(data.channels); },
    },
    onStatus: connection,
    onReady: async () => {
      await refreshChannel();
      await board.restore();
      gws.users().then((users) => {
        colleagues = users.filter((u) => u.id !== user.id && (u.roles || []).includes("ROLE_AGENT"));
      }).catch(() => {});
    },
  });
  $("#logout").addEventListener("click", async () => {
    notifications.stop();
    try { await gws.logout(); } catch { /* the session is gone either way */ }
    location.reload();
  });
  notifications.start();
}

main().catch((err) => flash(status, `The desktop failed to start: ${err.message}`, "error"));
