// The offer inside a ringing pane: what kind (incoming SMS, or a transfer / invitation / consultation from a
// colleague, with their note), the customer's number and what they wrote so far, and a countdown to the offer
// timeout. The server adds `offer` to an Invited agent's session (docs/ui.md); the texts come from one
// GET .../messages when the offer arrives (the board loads them).
import {h} from "./dom.js";
import {clockText, offerKindWord} from "./words.js";

const PREVIEW_TEXTS = 3;

export class OfferCard {
  constructor(pane) {
    this.pane = pane;
    this.kind = h("strong", {class: "offer-kind"});
    this.from = h("span", {class: "offer-from"});
    this.number = h("span", {class: "offer-number"});
    this.note = h("p", {class: "offer-note"});
    this.texts = h("ul", {class: "offer-texts", "aria-label": "What the customer wrote"});
    this.countdown = h("span", {class: "offer-countdown", role: "timer", "aria-live": "off"});
    this.el = h("div", {class: "offer-info"},
      h("p", {class: "offer-line"}, this.kind, this.from, this.number, this.countdown),
      this.note, this.texts);
  }

  render() {
    const data = this.pane.data;
    const offer = data.offer || {};
    const kind = offer.kind || "Offer";
    this.kind.textContent = offerKindWord(kind);
    this.from.textContent = offer.from && kind !== "Offer" ? ` from ${offer.from}` : "";
    const number = offer.customerNumber || this.pane.customerName();
    this.number.textContent = ` · ${number}`;
    this.note.textContent = offer.text ? `Note: ${offer.text}` : "";
    this.note.hidden = !offer.text;
    const said = this.pane.transcript.list().filter((m) => m.type === "Text" && m.from && m.from.type === "Customer");
    this.texts.replaceChildren(...said.slice(-PREVIEW_TEXTS).map((m) => h("li", {}, m.text || "")));
    this.texts.hidden = said.length === 0;
    this.tick();
  }

  // Called every second while ringing: "0:24 left", then "expiring…".
  tick() {
    const offer = this.pane.data.offer;
    if (!offer || !Number.isFinite(Number(offer.expiresSeconds))) { this.countdown.textContent = ""; return; }
    const left = Number(offer.expiresSeconds) - this.pane.gws.serverNow();
    this.countdown.textContent = left > 0 ? ` · ${clockText(left)} left` : " · expiring…";
    this.countdown.dataset.urgent = left < 10_000 ? "yes" : "no";
  }
}
