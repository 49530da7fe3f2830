// One SMS session on screen: header (customer, state, participants, details folded away), the offer while
// ringing, transcript, typing line, composer (segment counter, draft kept across reloads) and the operations
// the session's `capabilities` allow (spec §4.4). Agents and supervisors share it; the `actions` passed in
// decide which controls exist. Every control posts one operation through Gws.sessionOp.
import {h, flash, uid} from "./dom.js";
import {Transcript, renderMessage} from "./transcript.js";
import {OfferCard} from "./offer.js";
import {describeSegments} from "./segments.js";
import {explainFailure, stateWord} from "./words.js";

const TERMINAL = new Set(["Completed", "Revoked"]);
// Capability spellings differ from operation names for a few operations (spec §10 item 2).
const CAPABILITY_NAMES = {SwitchToBargeIn: ["SwitchToBargeIn", "SwitchBargeIn"], SetInFocus: ["SetInFocus", "InFocus"]};
const TYPING_IDLE_MS = 4000;

export class SessionPane {
  constructor({session, viewer, gws, actions, drafts, onChange, onClose, viewing, onCurrent}) {
    this.id = session.id;
    this.data = {};
    this.viewer = viewer;
    this.gws = gws;
    this.actions = actions;
    this.drafts = drafts || null;
    this.onChange = onChange;
    this.onClose = onClose;
    // Is the user looking at this pane now (the current one, tab visible)? Else new messages are unread.
    this.viewing = viewing || ((p) => p.el.contains(document.activeElement) && !document.hidden);
    this.onCurrent = onCurrent || (() => {});
    this.keyActions = {}; // keyboard shortcuts that act on this pane (agent_controls.js: complete)
    this.transcript = new Transcript();
    this.unread = 0;
    this.version = 0; // bumped by every state-change notification (see Board.restore)
    this.historyLoaded = false;
    this.typingSent = false;
    this.typingTimer = null;
    this.onRender = [];        // controls that follow the session (see agent_controls.js)
    this.pendingHandover = null;
    this.focusOnChat = false;  // after Accept: the reply box gets the focus once it is enabled
    this.el = this.#build(actions);
    this.update(session);
  }

  get state() { return this.data.state || "Unknown"; }
  get terminal() { return TERMINAL.has(this.state); }

  customerName() {
    const c = (this.data.participants || []).find((p) => p.type === "Customer");
    return (c && c.nickname) || (this.data.offer && this.data.offer.customerNumber) || this.lastCustomer || "Customer";
  }

  can(op) {
    const names = CAPABILITY_NAMES[op] || [op];
    const caps = this.data.capabilities || [];
    // A server that lists no capabilities for an offer still lets the invitee answer it.
    if (this.state === "Invited" && caps.length === 0 && (op === "Accept" || op === "Reject")) return true;
    return caps.some((c) => names.includes(c));
  }

  me() { return (this.data.participants || []).find((p) => this.viewer.isMe(p)) || null; }

  // Merge a `smssession` object (full or partial) from a notification or a GET.
  update(session) {
    const next = {...this.data, ...session};
    if (TERMINAL.has(next.state) && !session.capabilities) next.capabilities = [];
    if (next.state !== "Invited") delete next.offer;
    if (session.participants && session.participants.length === 0 && this.data.participants) {
      this.lastCustomer = this.customerName();
    }
    const changedState = session.state && session.state !== this.data.state;
    this.data = next;
    this.viewer.learn(next.participants);
    if (changedState) this.clearProblem();
    this.render();
  }

  // Read the session again (after an operation that notifies nobody, e.g. CancelConsult).
  async refresh() {
    try { this.update(await this.gws.session(this.id)); } catch { /* the next notification brings it */ }
  }

  // Add messages from MessageLogUpdated or GET .../messages. History never counts as unread.
  addMessages(messages, {history = false} = {}) {
    const fresh = this.transcript.merge(messages);
    if (history) this.historyLoaded = true;
    if (!history && !this.viewing(this)) {
      this.unread += fresh.filter((m) => Transcript.countsAsUnread(m, this.viewer)).length;
    }
    this.#renderUnread();
    this.renderTranscript();
    if (this.state === "Invited") this.offer.render();
    this.onChange(this);
  }

  // The pane becomes the current one (focus, click) and its messages are read.
  markRead() {
    this.onCurrent(this);
    if (this.unread === 0) return;
    this.unread = 0;
    this.#renderUnread();
    this.onChange(this);
  }

  #renderUnread() {
    this.unreadBadge.hidden = this.unread === 0;
    this.unreadBadge.textContent = `${this.unread} new`;
  }

  focus() {
    this.el.scrollIntoView({block: "nearest", inline: "nearest"});
    const accept = this.state === "Invited" ? this.acceptButton : null;
    const target = accept || (this.text && !this.text.disabled ? this.text : this.el.querySelector("button:not([disabled])"));
    (target || this.el).focus();
    this.markRead();
  }

  // A problem with this session, in words (a failed operation, a transfer declined): shown until an
  // operation succeeds or the state changes.
  showProblem(text) { flash(this.problem, text, "error"); this.problem.hidden = false; }

  clearProblem() { flash(this.problem, ""); this.problem.hidden = true; }

  #build(actions) {
    const titleId = uid("pane-title");
    this.title = h("h2", {id: titleId, class: "pane-title"});
    this.stateBadge = h("span", {class: "badge state"});
    this.unreadBadge = h("span", {class: "badge unread", hidden: true});
    this.people = h("ul", {class: "participants", "aria-label": "Participants"});
    this.userData = h("dl", {class: "userdata"});
    this.details = h("details", {class: "pane-details"}, h("summary", {}, "Details"), this.userData);
    this.list = h("ol", {class: "transcript", "aria-label": "Transcript", "aria-live": "polite", tabindex: "0"});
    this.typingLine = h("p", {class: "typing", "aria-live": "polite"});
    this.status = h("p", {class: "pane-status", role: "status"});
    this.problem = h("p", {class: "pane-problem", role: "alert", hidden: true});
    this.closeButton = h("button", {type: "button", class: "close", hidden: true,
      onclick: () => this.onClose(this)}, "Close");
    const el = h("section", {class: "pane", "aria-labelledby": titleId, tabindex: "-1", dataset: {session: this.id}},
      h("header", {class: "pane-head"}, this.title, this.unreadBadge, this.stateBadge, this.closeButton),
      this.people, this.details);
    el.addEventListener("focusin", () => this.markRead());
    el.addEventListener("pointerdown", () => this.markRead());
    this.opButtons = [];
    this.offer = new OfferCard(this);
    this.acceptButton = this.button("Accept", "Accept", {class: "primary", after: () => this.#focusReplyWhenOpen()});
    this.acceptButton.setAttribute("aria-keyshortcuts", "Alt+A");
    this.acceptButton.title = "Accept (Alt+A)";
    this.ring = h("div", {class: "ring", role: "group", "aria-label": "Incoming conversation"},
      this.offer.el, h("div", {class: "ring-buttons"}, this.acceptButton,
        this.button("Reject", "Reject", {class: "danger"})));
    el.append(this.ring, this.list, this.typingLine, this.problem);
    if (actions.composer) el.append(this.#composer(actions));
    for (const build of actions.extras || []) el.append(build(this));
    const bar = h("div", {class: "ops", role: "group", "aria-label": "Conversation actions"});
    for (const build of actions.controls || []) bar.append(build(this));
    el.append(bar, this.status);
    return el;
  }

  // After Accept: the reply box gets the focus, now if the Chatting notification came first, else once it comes.
  #focusReplyWhenOpen() {
    if (this.text && !this.text.disabled) this.text.focus();
    else this.focusOnChat = true;
  }

  // A button that posts `op` (with params from `params()`), enabled while the capability is present.
  // `params()` returns a string instead of an object when the form is incomplete: shown, nothing posted.
  button(label, op, {params = () => ({}), class: cls, capability = op, after} = {}) {
    const b = h("button", {type: "button", class: cls, dataset: {op}, onclick: async () => {
      const body = params();
      if (typeof body === "string") { this.showProblem(body); return; }
      try { await this.run(op, body, label); if (after) after(); } catch { /* shown in the pane */ }
    }}, label);
    this.opButtons.push({button: b, capability});
    return b;
  }

  async run(op, params = {}, label = op) {
    try {
      await this.gws.sessionOp(this.id, op, params);
      flash(this.status, "");
      this.clearProblem();
    } catch (err) {
      this.showProblem(explainFailure(label, err.message));
      throw err;
    }
  }

  #composer(actions) {
    const inputId = uid("compose");
    this.text = h("textarea", {id: inputId, rows: "3", maxlength: "1600",
      placeholder: "Type a reply (Enter sends, Shift+Enter new line)"});
    this.agentsOnly = h("input", {type: "checkbox"});
    this.agentsOnlyLabel = h("label", {class: "agents-only"}, this.agentsOnly, " Agents only");
    this.audience = h("p", {class: "audience"});
    this.segments = h("p", {class: "segments", "aria-live": "polite"});
    this.sendButton = h("button", {type: "submit", class: "primary"}, "Send");
    this.audienceText = actions.audience || null; // (pane) => text saying who sees what this user writes
    const form = h("form", {class: "composer"},
      h("label", {for: inputId, class: "visually-hidden"}, "Reply"),
      h("div", {class: "composer-main"}, this.text, h("div", {class: "composer-meta"}, this.segments, this.audience)),
      h("div", {class: "composer-side"}, this.sendButton, this.agentsOnlyLabel));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); this.send(); });
    this.text.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); this.send(); }
    });
    this.text.addEventListener("input", () => { this.#typing(); this.#draftChanged(); });
    this.agentsOnly.addEventListener("change", () => this.#draftChanged());
    if (this.drafts) {
      this.text.value = this.drafts.get(this.id);
      this.drafts.track(this.id, () => this.text.value);
    }
    this.#draftChanged(false);
    return form;
  }

  #draftChanged(save = true) {
    if (save && this.drafts) this.drafts.set(this.id, this.text.value);
    const toCustomer = !(this.agentsOnly.checked && this.can("SendToAgents")) && this.can("SendMessage");
    this.segments.textContent = toCustomer ? describeSegments(this.text.value) : "";
  }

  #typing() {
    if (!this.can("SendStartTypingNotification") || this.agentsOnly.checked) return;
    if (!this.typingSent && this.text.value) {
      this.typingSent = true;
      this.gws.sessionOp(this.id, "SendStartTypingNotification").catch(() => {});
    }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.#stopTyping(), TYPING_IDLE_MS);
  }

  #stopTyping() {
    clearTimeout(this.typingTimer);
    if (!this.typingSent) return;
    this.typingSent = false;
    if (this.can("SendStopTypingNotification")) {
      this.gws.sessionOp(this.id, "SendStopTypingNotification").catch(() => {});
    }
  }

  async send() {
    const text = this.text.value.trim();
    if (!text) return;
    const op = this.agentsOnly.checked && this.can("SendToAgents") ? "SendToAgents" : "SendMessage";
    this.sendButton.disabled = true;
    try {
      await this.run(op, {text}, "Send");
      this.text.value = "";
      this.#draftChanged();
      this.typingSent = false;
      clearTimeout(this.typingTimer);
    } catch { /* the pane says why */ } finally {
      this.sendButton.disabled = false;
      this.renderControls();
      this.text.focus();
    }
  }

  close() {
    if (this.drafts) this.drafts.untrack(this.id);
    clearTimeout(this.typingTimer);
  }

  render() {
    this.title.textContent = this.customerName();
    this.stateBadge.textContent = stateWord(this.state);
    this.stateBadge.dataset.state = this.state;
    this.el.dataset.state = this.state;
    this.people.replaceChildren(...(this.data.participants || []).map((p) => h("li", {
      class: `person person-${(p.type || "").toLowerCase()}${this.viewer.isMe(p) ? " person-me" : ""}`,
      dataset: {visibility: p.visibility || "All"},
    }, p.nickname || p.type, this.viewer.isMe(p) ? " (you)" : "",
      p.visibility && p.visibility !== "All" ? h("small", {}, ` · ${p.visibility === "Agents" ? "agents only" : "supervisors only"}`) : "")));
    const data = [["Conversation id", this.id], ...Object.entries(this.data.userData || {})];
    this.userData.replaceChildren(...data.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
    this.ring.hidden = this.state !== "Invited";
    if (this.state === "Invited") this.offer.render();
    this.closeButton.hidden = !this.terminal;
    if (this.terminal && this.drafts) this.drafts.untrack(this.id); // an ended conversation keeps no draft
    this.renderControls();
    for (const fn of this.onRender) fn(this);
    this.onChange(this);
  }

  renderControls() {
    for (const {button, capability} of this.opButtons) {
      const caps = Array.isArray(capability) ? capability : [capability];
      const allowed = caps.some((c) => this.can(c));
      button.disabled = !allowed;
      const block = button.closest("details");
      if (block) block.classList.toggle("unavailable", !allowed);
    }
    if (this.text) {
      const canSend = this.can("SendMessage") || this.can("SendToAgents");
      this.text.disabled = !canSend;
      this.sendButton.disabled = !canSend;
      const both = this.can("SendToAgents") && this.can("SendMessage");
      this.agentsOnlyLabel.hidden = !both || Boolean(this.audienceText);
      if (!this.can("SendMessage") && this.can("SendToAgents")) this.agentsOnly.checked = true;
      const said = this.audienceText ? this.audienceText(this) : "";
      this.audience.textContent = said;
      this.audience.hidden = !said;
      this.#draftChanged(false);
      if (canSend && this.focusOnChat) { this.focusOnChat = false; this.text.focus(); }
    }
  }

  renderTranscript() {
    const atBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.replaceChildren(...this.transcript.list().map((m) => renderMessage(m, this.viewer)));
    if (atBottom) this.list.scrollTop = this.list.scrollHeight;
    const names = this.transcript.typingNames(this.viewer);
    this.typingLine.textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
  }
}
