// One SMS session on screen: header (customer, state, participants), transcript, typing line, composer and
// the operations the session's `capabilities` allow (spec §4.4). Agents and supervisors share it; the
// `actions` passed in decide which controls exist. Every control posts one operation through Gws.sessionOp.
import {h, flash, uid} from "./dom.js";
import {Transcript, renderMessage} from "./transcript.js";

const TERMINAL = new Set(["Completed", "Revoked"]);
// Capability spellings differ from operation names for a few operations (spec §10 item 2).
const CAPABILITY_NAMES = {SwitchToBargeIn: ["SwitchToBargeIn", "SwitchBargeIn"], SetInFocus: ["SetInFocus", "InFocus"]};
const TYPING_IDLE_MS = 4000;

export class SessionPane {
  constructor({session, viewer, gws, actions, onChange, onClose}) {
    this.id = session.id;
    this.data = {};
    this.viewer = viewer;
    this.gws = gws;
    this.onChange = onChange;
    this.onClose = onClose;
    this.transcript = new Transcript();
    this.unread = 0;
    this.version = 0; // bumped by every state-change notification (see Board.restore)
    this.historyLoaded = false;
    this.typingSent = false;
    this.typingTimer = null;
    this.el = this.#build(actions);
    this.update(session);
  }

  get state() { return this.data.state || "Unknown"; }
  get terminal() { return TERMINAL.has(this.state); }

  customerName() {
    const c = (this.data.participants || []).find((p) => p.type === "Customer");
    return (c && c.nickname) || this.lastCustomer || `Session ${this.id}`;
  }

  can(op) {
    const names = CAPABILITY_NAMES[op] || [op];
    const caps = this.data.capabilities || [];
    // A server that lists no capabilities for an offer still lets the invitee answer it.
    if (this.state === "Invited" && caps.length === 0 && (op === "Accept" || op === "Reject")) return true;
    return caps.some((c) => names.includes(c));
  }

  // Merge a `smssession` object (full or partial) from a notification or a GET.
  update(session) {
    const next = {...this.data, ...session};
    if (TERMINAL.has(next.state) && !session.capabilities) next.capabilities = [];
    if (session.participants && session.participants.length === 0 && this.data.participants) {
      this.lastCustomer = this.customerName();
    }
    this.data = next;
    this.viewer.learn(next.participants);
    this.render();
  }

  // Add messages from MessageLogUpdated or GET .../messages. History never counts as unread.
  addMessages(messages, {history = false} = {}) {
    const fresh = this.transcript.merge(messages);
    if (history) this.historyLoaded = true;
    if (!history && !this.el.contains(document.activeElement)) {
      this.unread += fresh.filter((m) => Transcript.countsAsUnread(m, this.viewer)).length;
    }
    this.renderTranscript();
    this.onChange(this);
  }

  markRead() {
    if (this.unread === 0) return;
    this.unread = 0;
    this.onChange(this);
  }

  focus() {
    this.el.scrollIntoView({block: "nearest", inline: "nearest"});
    const target = this.text && !this.text.disabled ? this.text : this.el.querySelector("button:not([disabled])");
    (target || this.el).focus();
    this.markRead();
  }

  #build(actions) {
    const titleId = uid("pane-title");
    this.title = h("h2", {id: titleId, class: "pane-title"});
    this.stateBadge = h("span", {class: "badge state"});
    this.people = h("ul", {class: "participants", "aria-label": "Participants"});
    this.userData = h("dl", {class: "userdata"});
    this.list = h("ol", {class: "transcript", "aria-label": "Transcript", "aria-live": "polite", tabindex: "0"});
    this.typingLine = h("p", {class: "typing", "aria-live": "polite"});
    this.status = h("p", {class: "pane-status", role: "status"});
    this.closeButton = h("button", {type: "button", class: "close", hidden: true,
      onclick: () => this.onClose(this)}, "Close");
    const el = h("section", {class: "pane", "aria-labelledby": titleId, tabindex: "-1", dataset: {session: this.id}},
      h("header", {class: "pane-head"}, this.title, this.stateBadge, this.closeButton),
      this.people, this.userData, this.list, this.typingLine);
    el.addEventListener("focusin", () => this.markRead());
    el.addEventListener("pointerdown", () => this.markRead());
    this.opButtons = [];
    this.ring = h("div", {class: "ring", role: "group", "aria-label": "Incoming session"},
      h("span", {}, "Incoming SMS session"),
      this.button("Accept", "Accept", {class: "primary"}),
      this.button("Reject", "Reject", {class: "danger"}));
    el.append(this.ring);
    if (actions.composer) el.append(this.#composer());
    const bar = h("div", {class: "ops", role: "group", "aria-label": "Session operations"});
    for (const build of actions.controls || []) bar.append(build(this));
    el.append(bar, this.status);
    return el;
  }

  // A button that posts `op` (with params from `params()`), enabled while the capability is present.
  // `params()` returns a string instead of an object when the form is incomplete: shown, nothing posted.
  button(label, op, {params = () => ({}), class: cls, capability = op, after} = {}) {
    const b = h("button", {type: "button", class: cls, dataset: {op}, onclick: async () => {
      const body = params();
      if (typeof body === "string") { flash(this.status, body, "error"); return; }
      try { await this.run(op, body); if (after) after(); } catch { /* shown in the status line */ }
    }}, label);
    this.opButtons.push({button: b, capability});
    return b;
  }

  async run(op, params = {}) {
    try {
      await this.gws.sessionOp(this.id, op, params);
      flash(this.status, "");
    } catch (err) {
      flash(this.status, `${op} failed: ${err.message}`, "error");
      throw err;
    }
  }

  #composer() {
    const inputId = uid("compose");
    this.text = h("textarea", {id: inputId, rows: "2", maxlength: "1600", placeholder: "Type a reply (Enter sends, Shift+Enter new line)"});
    this.agentsOnly = h("input", {type: "checkbox"});
    this.agentsOnlyLabel = h("label", {class: "agents-only"}, this.agentsOnly, " Agents only");
    this.sendButton = h("button", {type: "submit", class: "primary"}, "Send");
    const form = h("form", {class: "composer"},
      h("label", {for: inputId, class: "visually-hidden"}, "Message"), this.text,
      h("div", {class: "composer-side"}, this.sendButton, this.agentsOnlyLabel));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); this.send(); });
    this.text.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); this.send(); }
    });
    this.text.addEventListener("input", () => this.#typing());
    return form;
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
      await this.run(op, {text});
      this.text.value = "";
      this.typingSent = false;
      clearTimeout(this.typingTimer);
    } catch { /* status line says why */ } finally {
      this.sendButton.disabled = false;
      this.renderControls();
      this.text.focus();
    }
  }

  render() {
    this.title.textContent = this.customerName();
    this.stateBadge.textContent = this.state;
    this.stateBadge.dataset.state = this.state;
    this.el.dataset.state = this.state;
    this.people.replaceChildren(...(this.data.participants || []).map((p) => h("li", {
      class: `person person-${(p.type || "").toLowerCase()}${this.viewer.isMe(p) ? " person-me" : ""}`,
      dataset: {visibility: p.visibility || "All"},
    }, p.nickname || p.type, this.viewer.isMe(p) ? " (you)" : "",
      p.visibility && p.visibility !== "All" ? h("small", {}, ` · ${p.visibility}`) : "")));
    const data = Object.entries(this.data.userData || {});
    this.userData.replaceChildren(...data.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
    this.userData.hidden = data.length === 0;
    this.ring.hidden = this.state !== "Invited";
    this.closeButton.hidden = !this.terminal;
    this.renderControls();
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
      this.agentsOnlyLabel.hidden = !this.can("SendToAgents") || !this.can("SendMessage");
      if (!this.can("SendMessage") && this.can("SendToAgents")) this.agentsOnly.checked = true;
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
