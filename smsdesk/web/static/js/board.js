// All SMS sessions of the signed-in user, side by side, plus the session list with unread counts.
// The "current" conversation is the one the user last worked in (focus or click, Alt+N / Alt+P): messages
// from others count as unread in every other one, and in that one too while the tab is hidden; a pane is read
// again when it becomes current (or the tab visible). The page title counts what waits: "(3) smsdesk – …" for
// the offers ringing plus the unread messages.
// Fed by `/v2/me/smssessions` notifications (spec §5) and re-read over REST after every (re)connect:
// GET /api/v2/me/smssessions?fields=* then GET .../{id}/messages for each session that is not Invited.
import {h, flash} from "./dom.js";
import {SessionPane} from "./pane.js";
import {explainFailure, stateWord} from "./words.js";

const STATE_CHANGE = new Set(["SMSsessionStateChangeMessage", "SMSSessionStateChangeMessage"]);
// Invited too: the offer shows what the customer wrote before it is accepted (one GET per offer).
const WITH_TRANSCRIPT = new Set(["Invited", "Chatting", "LeftChat"]);

export function sessionIdFrom(data) {
  const obj = data.smssession || data.smsession;
  if (obj && obj.id) return obj.id;
  const ref = data.smssessionUri || data.smsessionUri || data.smssessionPath || data.smsessionPath || "";
  const parts = ref.split("/").filter(Boolean);
  return parts.length ? decodeURIComponent(parts[parts.length - 1]) : null;
}

export class Board {
  constructor({gws, viewer, panesEl, listEl, statusEl, actions, emptyText, drafts}) {
    this.drafts = drafts || null;
    this.gws = gws;
    this.viewer = viewer;
    this.panesEl = panesEl;
    this.listEl = listEl;
    this.statusEl = statusEl;
    this.actions = actions;
    this.emptyText = emptyText;
    this.panes = new Map();
    this.current = null;
    this.onPaneChange = () => {};
    this.baseTitle = document.title.replace(/^\(\d+\) /, "");
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.current && this.panes.has(this.current.id)) this.current.markRead();
    });
    this.renderList();
  }

  // Is this pane the one the user looks at now?
  viewing(pane) { return pane === this.current && !document.hidden; }

  // The panes in list order; `open` only: without the finished ones (unless all are).
  ordered({open = false} = {}) {
    const all = [...this.panes.values()];
    const live = all.filter((p) => !p.terminal);
    return open && live.length ? live : all;
  }

  // Alt+N / Alt+P: the next (step 1) or previous (-1) conversation becomes current and gets the focus.
  step(by) {
    const panes = this.ordered({open: true});
    if (!panes.length) return false;
    const at = panes.indexOf(this.current);
    const next = at < 0 ? (by > 0 ? 0 : panes.length - 1) : (at + by + panes.length) % panes.length;
    panes[next].focus();
    return true;
  }

  pane(id, session) {
    let pane = this.panes.get(id);
    if (!pane) {
      pane = new SessionPane({
        session: session || {id}, viewer: this.viewer, gws: this.gws, actions: this.actions, drafts: this.drafts,
        viewing: (p) => this.viewing(p),
        onCurrent: (p) => { if (this.current !== p) { this.current = p; this.renderList(); } },
        onChange: (p) => { this.renderList(); this.onPaneChange(p); },
        onClose: (p) => this.close(p),
      });
      this.panes.set(id, pane);
      this.panesEl.append(pane.el);
      this.renderList();
      this.onPaneChange(pane);
    } else if (session) {
      pane.update(session);
    }
    return pane;
  }

  setEmptyText(text) {
    if (text === this.emptyText) return;
    this.emptyText = text;
    this.renderList();
  }

  close(pane) {
    if (this.current === pane) this.current = null;
    pane.close();
    pane.el.remove();
    this.panes.delete(pane.id);
    this.renderList();
  }

  // One notification from /v2/me/smssessions.
  handle(data) {
    if (data.notificationType === "Error") {
      // A request accepted earlier failed (e.g. a transfer declined): said in the conversation it concerns.
      const target = this.panes.get(sessionIdFrom(data));
      if (target) {
        target.pendingHandover = null;
        target.showProblem(explainFailure("Request", data.errorMessage || "request failed"));
        target.render();
      } else {
        flash(this.statusEl, explainFailure("Request", data.errorMessage || "request failed"), "error");
      }
      return;
    }
    const id = sessionIdFrom(data);
    if (!id) return;
    if (STATE_CHANGE.has(data.messageType)) {
      const obj = data.smssession || data.smsession;
      const pane = this.pane(id, obj);
      pane.version += 1;
      if (WITH_TRANSCRIPT.has(pane.state) && !pane.historyLoaded) this.loadHistory(pane);
    } else if (data.messageType === "MessageLogUpdated") {
      this.pane(id).addMessages(data.messages);
    }
  }

  async loadHistory(pane) {
    pane.historyLoaded = true;
    try {
      pane.addMessages(await this.gws.messages(pane.id), {history: true});
    } catch (err) {
      pane.historyLoaded = false;
      pane.showProblem(`Could not load the messages: ${err.message}`);
    }
  }

  // After (re)connect: the server's list is the truth, except for panes a notification changed while the
  // list was on its way (the notification is newer than the read).
  async restore() {
    const before = new Map([...this.panes.values()].map((p) => [p.id, p.version]));
    const sessions = await this.gws.sessions();
    const fresh = (id) => !this.panes.has(id) || before.get(id) === this.panes.get(id).version;
    const seen = new Set();
    for (const s of sessions) {
      seen.add(s.id);
      const pane = fresh(s.id) ? this.pane(s.id, s) : this.panes.get(s.id);
      if (WITH_TRANSCRIPT.has(pane.state)) {
        pane.historyLoaded = false;
        await this.loadHistory(pane);
      }
    }
    for (const pane of this.panes.values()) {
      if (before.has(pane.id) && fresh(pane.id) && !seen.has(pane.id) && !pane.terminal) {
        pane.update({state: "Completed", capabilities: []});
      }
    }
    if (this.drafts) this.drafts.prune(seen); // drafts of conversations that ended while the page was away
  }

  renderList() {
    const panes = [...this.panes.values()];
    const items = panes.map((p) => {
      const unread = p.unread ? h("span", {class: "badge unread", "aria-label": `${p.unread} unread`}, String(p.unread)) : null;
      return h("li", {class: `session-item state-${p.state.toLowerCase()}`, dataset: {session: p.id},
        "aria-current": p === this.current ? "true" : null},
        h("button", {type: "button", onclick: () => p.focus()},
          h("span", {class: "item-name"}, p.customerName()),
          h("span", {class: "badge state", dataset: {state: p.state}}, p.state === "Invited" ? "Ringing" : stateWord(p.state)),
          unread));
    });
    this.listEl.replaceChildren(...(items.length ? items : [h("li", {class: "empty"}, this.emptyText)]));
    const waiting = panes.filter((p) => p.state === "Invited").length + panes.reduce((n, p) => n + p.unread, 0);
    document.title = (waiting ? `(${waiting}) ` : "") + this.baseTitle;
  }
}
