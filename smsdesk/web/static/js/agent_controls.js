// The agent's per-session controls (spec §6): Complete (confirmed first), Leave, Transfer / Invite / Consult
// (colleagues who can take it now, configured queues, an optional note for the next agent), cancelling a
// transfer not accepted yet, disposition and attached data. Each is a SessionPane button, so the session's
// `capabilities` enable it; every form submits with Enter.
import {h, flash} from "./dom.js";
import {colleagueAvailability, describeColleague} from "./targets.js";
import {DISPOSITIONS} from "./wrapup.js";
import {responsePicker} from "./responses.js";
import {contactNotes} from "./notes.js";

function field(label, input) {
  return h("label", {class: "field"}, h("span", {}, label), input);
}

// A <form> whose Enter clicks `primary` (a hidden submit button makes Enter submit forms of several fields).
function opForm(primary, ...children) {
  const enter = h("button", {type: "submit", class: "visually-hidden", tabindex: "-1", "aria-hidden": "true"}, "Submit");
  const form = h("form", {class: "op-form"}, ...children, enter);
  form.addEventListener("submit", (ev) => { ev.preventDefault(); if (!primary.disabled) primary.click(); });
  return form;
}

// Complete asks first ("Keep open" has the focus). Alt+C does the same on the current conversation; Alt+C
// again while it asks completes.
function completeControls(pane, onDone) {
  const ask = h("button", {type: "button", dataset: {op: "Complete"}, "aria-keyshortcuts": "Alt+C",
    title: "Complete (Alt+C)"}, "Complete…");
  const yes = pane.button("Yes, complete", "Complete", {class: "danger", after: () => onDone(pane)});
  yes.setAttribute("aria-keyshortcuts", "Alt+C");
  yes.title = "Yes, complete (Alt+C)";
  const no = h("button", {type: "button"}, "Keep open");
  const confirm = h("span", {class: "confirm", role: "group", "aria-label": "Confirm complete", hidden: true},
    h("span", {}, "End this conversation?"), yes, no);
  ask.addEventListener("click", () => { ask.hidden = true; confirm.hidden = false; no.focus(); });
  const close = () => { confirm.hidden = true; ask.hidden = false; };
  no.addEventListener("click", () => { close(); ask.focus(); });
  confirm.addEventListener("keydown", (ev) => { if (ev.key === "Escape") no.click(); });
  yes.addEventListener("click", close);
  pane.onRender.push(() => { ask.disabled = yes.disabled; if (yes.disabled) close(); });
  pane.keyActions.complete = () => {
    if (yes.disabled) return false;
    if (confirm.hidden) ask.click();
    else yes.click();
    return true;
  };
  return h("span", {class: "complete"}, ask, confirm);
}

// The invited colleague of a transfer / invitation not answered yet (the asker sees them Invited... as a
// participant whose state is not on the wire: a colleague listed but not joined). The pane remembers what it asked.
function pendingControls(pane) {
  const text = h("span", {});
  const cancel = h("button", {type: "button", class: "danger"}, "Cancel");
  const line = h("p", {class: "pending", role: "status", hidden: true}, text, " ", cancel);
  cancel.addEventListener("click", async () => {
    const pend = pane.pendingHandover;
    if (!pend) return;
    try {
      if (pend.kind === "Consult" && pane.can("CancelConsult")) await pane.run("CancelConsult", {}, "Cancel");
      else await pane.run("RemoveParticipantFromConference", {targetUri: pend.uri}, "Cancel");
      pane.pendingHandover = null;
      pane.refresh(); // CancelConsult sends the caller no notification: read the session again
    } catch { /* the pane says why */ }
  });
  pane.onRender.push(() => {
    const pend = pane.pendingHandover;
    const present = pend && (pane.data.participants || []).some((p) => p.uri === pend.uri);
    if (pend && !present && pend.seen) pane.pendingHandover = null; // accepted elsewhere, declined, or gone
    if (pend && present) pend.seen = true;
    const show = Boolean(pane.pendingHandover && present) && !pane.terminal;
    line.hidden = !show;
    if (show) {
      text.textContent = `Waiting for ${pend.name} to accept the ${pend.kind.toLowerCase()}…`;
      cancel.textContent = `Cancel ${pend.kind.toLowerCase()}`;
    }
  });
  return line;
}

function routingControls(pane, getColleagues, getQueues) {
  const agent = h("select", {name: "target", "aria-label": "Transfer to agent"});
  const queue = h("select", {name: "queue", "aria-label": "Transfer to queue"});
  const note = h("textarea", {name: "note", rows: "2", maxlength: "500",
    "aria-label": "Note for the next agent", placeholder: "Note for the next agent (the customer does not see it)"});
  const loading = h("span", {class: "muted", role: "status"});
  let rows = [];
  let queues = [];
  const chosen = () => rows.find((r) => r.user.uri === agent.value);
  const params = (kind) => () => {
    const body = {};
    if (note.value.trim()) { body.text = note.value.trim(); body.visibility = "Agents"; }
    if (agent.value) return {...body, targetUri: agent.value};
    const q = queues.find((x) => x.name === queue.value);
    if (q && kind === "Transfer") return {...body, queueName: q.name};
    if (q) return {...body, targetUri: q.uri};
    return kind === "Transfer" ? "Choose an agent or a queue first." : "Choose an agent first.";
  };
  const after = (kind) => () => {
    const row = chosen();
    if (row) {
      pane.pendingHandover = {kind, uri: row.user.uri, name: row.user.nickname || row.user.userName};
      pane.render();
    }
    flash(pane.status, row ? `${kind} sent to ${pane.pendingHandover.name}.` : `${kind} to the queue sent.`);
    note.value = "";
    agent.value = "";
    queue.value = "";
  };
  const transfer = pane.button("Transfer", "Transfer", {params: params("Transfer"), after: after("Transfer")});
  const block = h("details", {class: "op-block"},
    h("summary", {}, "Transfer / invite / consult"),
    opForm(transfer,
      field("Agent (can take it now)", agent), field("or queue", queue), loading,
      h("label", {class: "field note"}, h("span", {}, "Note (optional)"), note),
      h("div", {class: "op-buttons"}, transfer,
        pane.button("Invite", "Invite", {params: params("Invite"), after: after("Invite")}),
        pane.button("Consult", "Consult", {params: params("Consult"), after: after("Consult")}))));
  agent.addEventListener("change", () => { if (agent.value) queue.value = ""; });
  queue.addEventListener("change", () => { if (queue.value) agent.value = ""; });
  block.addEventListener("toggle", async () => {
    if (!block.open) return;
    flash(loading, "Checking who is free…");
    const [found, configured] = await Promise.all([colleagueAvailability(pane.gws, getColleagues()), getQueues()]);
    rows = found;
    queues = configured;
    const [keepAgent, keepQueue] = [agent.value, queue.value]; // a choice made while the lists loaded stays
    const free = rows.filter((r) => r.available);
    agent.replaceChildren(h("option", {value: ""}, free.length ? "Choose an agent…" : "Nobody is free now"),
      ...free.map((r) => h("option", {value: r.user.uri}, describeColleague(r))));
    queue.replaceChildren(h("option", {value: ""}, "Choose a queue…"),
      ...queues.map((q) => h("option", {value: q.name}, q.name)));
    if ([...agent.options].some((o) => o.value === keepAgent)) agent.value = keepAgent;
    if ([...queue.options].some((o) => o.value === keepQueue)) queue.value = keepQueue;
    const busy = rows.length - free.length;
    flash(loading, busy ? `${busy} busy or not ready (not listed)` : "");
  });
  return block;
}

function dispositionControls(pane) {
  const listId = `dispositions-${pane.id}`;
  const input = h("input", {name: "disposition", list: listId, autocomplete: "off"});
  const set = pane.button("Set disposition", "SetDisposition", {
    params: () => (input.value.trim() ? {disposition: input.value.trim()} : "Type a disposition first."),
    after: () => flash(pane.status, `Disposition set: ${input.value.trim()}`),
  });
  return h("details", {class: "op-block"}, h("summary", {}, "Disposition"),
    opForm(set, field("Disposition", input), h("datalist", {id: listId}, ...DISPOSITIONS.map((d) => h("option", {value: d}))), set));
}

function attachControls(pane) {
  const key = h("input", {name: "key", autocomplete: "off"});
  const value = h("input", {name: "value", autocomplete: "off"});
  const attach = pane.button("Attach", "AttachUserData", {
    params: () => (key.value.trim() ? {userData: {[key.value.trim()]: value.value}} : "Type a key first."),
    after: () => { key.value = ""; value.value = ""; },
  });
  return h("details", {class: "op-block"}, h("summary", {}, "Attach data"),
    opForm(attach, field("Key", key), field("Value", value), attach));
}

// The `actions` of an agent's SessionPane. `getColleagues()` lists the other agents, `getQueues()` the
// configured queues, `onDone(pane)` runs after this agent completed a session (focus moves on).
export function agentActions(getColleagues, getQueues, onDone) {
  return {
    composer: true,
    controls: [
      (pane) => completeControls(pane, onDone),
      (pane) => pane.button("Leave", "Leave", {after: () => onDone(pane)}),
      (pane) => routingControls(pane, getColleagues, getQueues),
      dispositionControls,
      attachControls,
    ],
    extras: [pendingControls, responsePicker, contactNotes],
  };
}
