// Desktop notifications of the agent desktop (docs/ui.md): an offer that arrives while the tab is hidden shows
// a browser notification; clicking it brings the tab forward and puts the focus on that offer. Browsers ask
// for the permission only on a user gesture, so the page shows an "Enable desktop notifications" button while
// the permission is not decided, a note when it is blocked, and nothing once granted. No notification is
// shown while the tab is visible: the ring, the banner and the title say it there.
import {h} from "./dom.js";

export class DesktopAlerts {
  // `root`: where the control goes; `doc`/`win` are injectable for tests.
  constructor({root, doc = globalThis.document, win = globalThis}) {
    this.doc = doc;
    this.win = win;
    this.shown = new Map(); // session id -> Notification, closed when the offer is answered or withdrawn
    this.button = h("button", {type: "button", id: "enable-notifications"},
      "Enable ", h("span", {class: "wide-only"}, "desktop "), "notifications");
    this.note = h("span", {class: "muted notifications-note", role: "status"});
    this.button.addEventListener("click", () => this.ask());
    root.append(this.button, this.note);
    this.render();
  }

  get api() { return this.win.Notification || null; }

  get permission() { return this.api ? this.api.permission : "unsupported"; }

  render() {
    const permission = this.permission;
    this.button.hidden = permission !== "default";
    this.note.textContent = permission === "denied"
      ? "Desktop notifications are blocked in this browser's site settings." : "";
    this.note.hidden = !this.note.textContent;
  }

  // On the button's click (a user gesture): the browser asks the agent.
  async ask() {
    if (!this.api) return;
    try { await this.api.requestPermission(); } catch { /* an old browser's callback form: state re-read below */ }
    this.render();
  }

  // An offer (an Invited pane) just arrived: notified only while the tab is hidden.
  offer(pane, {title, body}) {
    if (!this.doc.hidden || this.permission !== "granted" || this.shown.has(pane.id)) return null;
    let note;
    try {
      note = new this.api(title, {body, tag: `smsdesk-offer-${pane.id}`, requireInteraction: true});
    } catch {
      return null; // a browser that notifies through a service worker only (Android): the title still says it
    }
    note.onclick = () => {
      try { this.win.focus(); } catch { /* not allowed: the click itself usually brings the tab forward */ }
      note.close();
      pane.focus();
    };
    this.shown.set(pane.id, note);
    return note;
  }

  // The offer is no longer ringing (accepted, rejected, withdrawn): its notification goes.
  done(sessionId) {
    const note = this.shown.get(sessionId);
    if (!note) return;
    this.shown.delete(sessionId);
    note.close();
  }
}
