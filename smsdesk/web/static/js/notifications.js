// CometD notifications (spec §5, §9.4): one connection per page to /api/v2/notifications, authenticated by
// the JSESSIONID cookie. WebSocket first, long-polling as fallback; the CometD client retries with backoff
// and re-handshakes by itself when the server forgot us (restart: "402::Unknown client").
//
// Every successful handshake re-subscribes (CometD drops subscriptions on re-handshake) and then calls
// `onReady(first)`, where the page re-reads its state over REST: notifications missed while disconnected
// are thereby never needed.
import {CometD} from "/static/vendor/cometd/cometd.js";

export class Notifications {
  // topics: {"/v2/me/smssessions": (data) => ..., ...}
  // onStatus(text, kind) with kind "ok" | "warn" | "down"; onReady(first) after each (re)handshake.
  constructor({topics, onStatus, onReady}) {
    this.topics = topics;
    this.onStatus = onStatus;
    this.onReady = onReady;
    this.cometd = new CometD();
    this.handshakes = 0;
    this.connected = false;
    this.stopped = false;
  }

  start() {
    const cometd = this.cometd;
    cometd.configure({
      url: location.origin + "/api/v2/notifications",
      logLevel: "warn",
      maxBackoff: 5000,
      backoffIncrement: 500,
    });
    cometd.addListener("/meta/connect", (m) => this.#onConnect(m));
    cometd.addListener("/meta/unsuccessful", () => this.#status("Connection lost, retrying…", "down"));
    this.onStatus("Connecting…", "warn");
    // Delivery statuses (MessageLogUpdated "MessagesUpdated") come only to clients that ask for them: the
    // transcript replaces a message by its index (docs/notifications.md). CometD re-sends these on re-handshake.
    cometd.handshake({ext: {messagesUpdated: true}}, (reply) => this.#onHandshake(reply));
  }

  stop() {
    this.stopped = true;
    if (!this.cometd.isDisconnected()) this.cometd.disconnect();
  }

  transport() {
    const t = this.cometd.getTransport();
    return t ? t.type : "";
  }

  #status(text, kind) {
    if (!this.stopped) this.onStatus(text, kind);
  }

  #onHandshake(reply) {
    if (!reply.successful) {
      this.connected = false;
      this.#status("Cannot open notifications (" + (reply.error || "no answer") + "), retrying…", "down");
      return;
    }
    const first = this.handshakes === 0;
    this.handshakes += 1;
    this.connected = true;
    this.cometd.batch(() => {
      for (const [topic, handler] of Object.entries(this.topics)) {
        this.cometd.subscribe(topic, (message) => {
          try { handler(message.data || {}); } catch (err) { console.warn("notification handler failed", err); }
        });
      }
    });
    this.#status("Connected (" + this.transport() + ")", "ok");
    Promise.resolve(this.onReady(first)).catch((err) => console.warn("state restore failed", err));
  }

  #onConnect(message) {
    if (this.cometd.isDisconnected()) {
      this.connected = false;
      return;
    }
    const was = this.connected;
    this.connected = message.successful === true;
    if (!was && this.connected && this.handshakes > 0) {
      // A network drop that did not cost our clientId: the server kept our queue; re-read anyway.
      this.#status("Connected (" + this.transport() + ")", "ok");
      Promise.resolve(this.onReady(false)).catch((err) => console.warn("state restore failed", err));
    } else if (was && !this.connected) {
      this.#status("Connection lost, retrying…", "down");
    }
  }
}
