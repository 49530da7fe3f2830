// Unsent replies survive a reload: each pane's draft is kept in sessionStorage (this tab only, gone when the
// tab closes, so customer texts do not linger on disk), keyed by user and session. A draft goes when it is
// sent, when its conversation ends or is closed, and after a reload when the server no longer lists it. Leaving the page while a
// draft is typed asks first (the browser's own "Leave site?" dialog).
const PREFIX = "smsdesk.draft.";

export class Drafts {
  constructor(userId, storage = globalThis.sessionStorage) {
    this.prefix = `${PREFIX}${userId}.`;
    this.storage = storage;
    this.live = new Map(); // session id -> () => current text (the panes on screen)
  }

  get(sessionId) {
    try { return this.storage.getItem(this.prefix + sessionId) || ""; } catch { return ""; }
  }

  set(sessionId, text) {
    try {
      if (text) this.storage.setItem(this.prefix + sessionId, text);
      else this.storage.removeItem(this.prefix + sessionId);
    } catch { /* storage full or blocked: the draft lives on screen only */ }
  }

  // A pane registers how to read its text now, and drops out when closed.
  track(sessionId, read) { this.live.set(sessionId, read); }

  untrack(sessionId) { this.live.delete(sessionId); this.set(sessionId, ""); }

  // Forget the drafts of every session not in `keep` (after a reload: those that ended meanwhile).
  prune(keep) {
    const ids = new Set(keep);
    try {
      const mine = [];
      for (let i = 0; i < this.storage.length; i += 1) {
        const key = this.storage.key(i);
        if (key && key.startsWith(this.prefix) && !ids.has(key.slice(this.prefix.length))) mine.push(key);
      }
      for (const key of mine) this.storage.removeItem(key);
    } catch { /* storage blocked: nothing kept either */ }
  }

  unsent() { return [...this.live.values()].some((read) => (read() || "").trim() !== ""); }

  // Warn before leaving the page with an unsent draft (reloads keep it, but a closed tab does not).
  warnOnLeave(win = globalThis) {
    win.addEventListener("beforeunload", (ev) => {
      if (!this.unsent()) return;
      ev.preventDefault();
      ev.returnValue = "";
    });
  }
}
