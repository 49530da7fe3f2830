// The agent desktop (`/`): sign in, Ready/NotReady with reasons, incoming conversations ring with Accept/Reject,
// wrap-up after Complete, conversations side by side, and per-session operations. Built only on the public
// GWS API (see docs/ui.md).
import {Ringer} from "./ringer.js";
import {Gws} from "./gws.js";
import {$, h, flash} from "./dom.js";
import {signIn} from "./login.js";
import {Notifications} from "./notifications.js";
import {Board} from "./board.js";
import {Viewer} from "./transcript.js";
import {agentActions} from "./agent_controls.js";
import {Drafts} from "./drafts.js";
import {WrapUpBar} from "./wrapup.js";
import {StatePicker} from "./state_picker.js";
import {offerKindWord} from "./words.js";
import {CustomerHistory} from "./history.js";
import {NewConversation} from "./new_conversation.js";

const gws = new Gws();
const status = $("#status");
let colleagues = []; // other agents: transfer / invite / consult targets
let queues = null;   // configured queues, read once
let channelVersion = 0; // bumped by each /v2/me/channels notification: a REST read older than one is dropped

function connection(text, kind) {
  const el = $("#connection");
  el.textContent = text;
  el.dataset.kind = kind;
}

async function getQueues() {
  if (queues === null) queues = await gws.queues().catch(() => []);
  return queues;
}

async function main() {
  const picker = new StatePicker({select: $("#agent-state"), hint: $("#state-hint"), apply: changeState});
  const user = await signIn(gws);
  $("#me").textContent = user.nickname || user.userName;
  $("#app").hidden = false;
  const drafts = new Drafts(user.id);
  drafts.warnOnLeave();
  let board = null;
  const ringer = new Ringer();
  ringer.prime();

  // ---- channel state (spec §9.3) ----
  const wrapBar = new WrapUpBar({
    el: $("#wrapup"), gws,
    onFinish: () => gws.setChannelState("Ready"),
    nameOf: (id) => (board && board.panes.has(id) ? board.panes.get(id).customerName() : null),
  });
  function showChannel(channels) {
    const sms = (channels || []).find((c) => ["sms", "smssession"].includes(c.channel)) || (channels || [])[0];
    if (!sms || !sms.userState) return;
    const {state, reason} = sms.userState;
    picker.show(state, reason);
    $("#state-label").textContent = sms.userState.displayName + (reason ? ` (${reason})` : "");
    document.body.dataset.agentState = state;
    wrapBar.show(sms.userState);
    if (board) board.setEmptyText(emptyText(state, sms.userState.workMode));
  }
  async function changeState(op, reason) {
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

  // After Complete or Leave the focus moves on: the next ringing or open conversation, else the state.
  function focusNext(done) {
    const panes = [...board.panes.values()].filter((p) => p !== done && !p.terminal);
    const next = panes.find((p) => p.state === "Invited") || panes[0];
    if (next) next.focus();
    else $("#agent-state").focus();
  }

  board = new Board({
    gws, viewer: new Viewer(user), panesEl: $("#panes"), listEl: $("#session-list"), statusEl: status, drafts,
    actions: agentActions(() => colleagues, getQueues, focusNext), emptyText: emptyText("NotReady"),
  });
  // "New conversation": the pane of the session it starts gets the focus once its notification has come.
  new NewConversation({el: $("#new-conversation"), gws, focusSession: (id) => {
    const started = Date.now();
    const tryFocus = () => {
      const pane = board.panes.get(id);
      if (pane) pane.focus();
      else if (Date.now() - started < 10000) setTimeout(tryFocus, 100);
    };
    tryFocus();
  }});
  const soundButton = $("#enable-sound");
  const showBlocked = () => { soundButton.hidden = !ringer.blocked; };
  soundButton.addEventListener("click", async () => { await ringer.unlock(); showBlocked(); });
  setTimeout(showBlocked, 300);
  $("#mute").checked = ringer.muted;
  $("#mute").addEventListener("change", (e) => { ringer.setMuted(e.target.checked); showBlocked(); });
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
      const offer = pane.data.offer || {};
      const what = offer.kind && offer.kind !== "Offer"
        ? `${offerKindWord(offer.kind)}${offer.from ? " from " + offer.from : ""}: ${pane.customerName()}`
        : `Incoming SMS from ${pane.customerName()}`;
      flash($("#ring"), `${what} — Alt+A accepts`, "ring");
      pane.el.scrollIntoView({block: "nearest"});
      setTimeout(showBlocked, 300);
    }
  };
  // Every second: the offers' countdowns.
  setInterval(() => {
    for (const pane of board.panes.values()) if (pane.state === "Invited") pane.offer.tick();
  }, 1000);
  // Alt+A accepts the oldest ringing conversation, from anywhere on the page.
  document.addEventListener("keydown", (ev) => {
    if (!ev.altKey || ev.ctrlKey || ev.metaKey || ev.key.toLowerCase() !== "a") return;
    const ringing = [...board.panes.values()].find((p) => p.state === "Invited" && !p.acceptButton.disabled);
    if (!ringing) return;
    ev.preventDefault();
    ringing.acceptButton.click();
  });
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
  $("#agent-state").focus(); // the first thing to do after signing in: get Ready
}

function emptyText(state, workMode) {
  if (workMode === "AfterCallWork") return "No conversations. Wrapping up: new ones come after wrap-up.";
  if (state === "Ready") return "No conversations yet. You are Ready: new ones ring here.";
  return "No conversations. Set Ready to receive SMS.";
}

main().catch((err) => flash(status, `The desktop failed to start: ${err.message}`, "error"));
