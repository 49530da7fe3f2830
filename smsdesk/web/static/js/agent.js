// The agent desktop (`/`): sign in, Ready/NotReady with reasons, incoming conversations ring with Accept/Reject
// (and a desktop notification while the tab is hidden), wrap-up after Complete, conversations side by side
// with unread counts and drafts, keyboard shortcuts, and per-session operations. Built only on the public GWS
// API (see docs/ui.md).
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
import {DesktopAlerts} from "./alerts.js";
import {Shortcuts} from "./shortcuts.js";

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
    onTick: (left) => picker.wrapLeft(left),
  });
  function showChannel(channels) {
    const sms = (channels || []).find((c) => ["sms", "smssession"].includes(c.channel)) || (channels || [])[0];
    if (!sms || !sms.userState) return;
    const {state, reason, workMode} = sms.userState;
    picker.show(state, reason, workMode);
    $("#state-label").textContent = sms.userState.displayName + (reason ? ` (${reason})` : "");
    document.body.dataset.agentState = state;
    wrapBar.show(sms.userState);
    if (board) board.setEmptyText(emptyText(state, workMode));
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
  const alerts = new DesktopAlerts({root: $("#desktop-alerts")});
  const ringingPanes = () => [...board.panes.values()].filter((p) => p.state === "Invited");
  const ring = $("#ring");
  // The banner takes to the oldest offer: by a click, or by Enter / Space while it has the focus (it is in
  // the Tab order while something rings)
  const toOffer = () => { const first = ringingPanes()[0]; if (first) first.focus(); };
  ring.addEventListener("click", toOffer);
  ring.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toOffer(); }
  });
  board.onPaneChange = (changed) => {
    const ud = (changed && changed.data && changed.data.userData) || {};
    if (ud.CustomerNumber) history.show(ud.CustomerNumber, changed.data.id);
    if (changed && changed.state !== "Invited") alerts.done(changed.id);
    const ringing = ringingPanes();
    ringer.update(ringing.length > 0);
    document.body.dataset.ringing = ringer.ringing ? "yes" : "no";
    if (ringing.length === 0) { flash(ring, ""); ring.removeAttribute("tabindex"); }
    for (const pane of ringing.filter((p) => !p.announced)) {
      pane.announced = true;
      const what = offerWords(pane);
      ring.replaceChildren(h("span", {class: "ring-what"}, what), h("span", {class: "ring-key"}, " — Alt+A accepts"));
      ring.dataset.kind = "ring";
      ring.tabIndex = 0;
      pane.el.scrollIntoView({block: "nearest"});
      setTimeout(showBlocked, 300);
    }
    for (const pane of ringing.filter((p) => !p.notified)) notifyOffer(pane);
  };
  // The desktop notification of an offer (tab hidden only) says what the customer wrote: it waits for the
  // texts (one GET after the offer), at most a second and a half.
  function notifyOffer(pane, waited = false) {
    if (pane.notified || pane.state !== "Invited") return;
    const said = pane.transcript.list().filter((m) => m.type === "Text" && m.from && m.from.type === "Customer");
    const offer = pane.data.offer || {};
    if (!said.length && !offer.text && !waited) {
      if (!pane.notifyTimer) pane.notifyTimer = setTimeout(() => notifyOffer(pane, true), 1500);
      return;
    }
    pane.notified = true;
    clearTimeout(pane.notifyTimer);
    const body = offer.text ? `Note: ${offer.text}` : said.length ? said[said.length - 1].text || "" : "";
    alerts.offer(pane, {title: offerWords(pane), body});
  }
  // Every second: the offers' countdowns.
  setInterval(() => {
    for (const pane of board.panes.values()) if (pane.state === "Invited") pane.offer.tick();
  }, 1000);
  // Alt+A accepts the oldest offer, Alt+C completes the current conversation (asking first), Alt+N / Alt+P
  // go to the next / previous one; "?" or the button lists them.
  const briefly = (text) => {
    flash(status, text);
    setTimeout(() => { if (status.textContent === text) flash(status, ""); }, 4000);
  };
  const current = () => {
    if (board.current && board.panes.has(board.current.id)) return board.current;
    const open = board.ordered({open: true}).filter((p) => !p.terminal);
    return open.length === 1 ? open[0] : null;
  };
  new Shortcuts({button: $("#show-shortcuts"), actions: {
    accept: () => {
      const offer = ringingPanes().find((p) => !p.acceptButton.disabled);
      if (offer) offer.acceptButton.click();
      else briefly("Nothing to accept.");
      return Boolean(offer);
    },
    complete: () => {
      const pane = current();
      const done = Boolean(pane && pane.keyActions.complete && pane.keyActions.complete());
      if (!done) briefly("No conversation to complete here: go to one first (Alt+N).");
      return done;
    },
    next: () => board.step(1),
    previous: () => board.step(-1),
  }});
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

function offerWords(pane) {
  const offer = pane.data.offer || {};
  return offer.kind && offer.kind !== "Offer"
    ? `${offerKindWord(offer.kind)}${offer.from ? " from " + offer.from : ""}: ${pane.customerName()}`
    : `Incoming SMS from ${pane.customerName()}`;
}

function emptyText(state, workMode) {
  if (workMode === "AfterCallWork") return "No conversations. Wrapping up: new ones come after wrap-up.";
  if (state === "Ready") return "No conversations yet. You are Ready: new ones ring here.";
  return "No conversations. Set Ready to receive SMS.";
}

main().catch((err) => flash(status, `The desktop failed to start: ${err.message}`, "error"));
