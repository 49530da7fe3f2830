// Wrap-up (after-call work) on the agent desktop: while the channel is NotReady with workMode AfterCallWork
// (the server starts it after Complete when `wrap_up_s` > 0), a bar says so with the time left, lets the
// agent set the disposition of the conversation just finished, and ends wrap-up on request (Ready). The state
// chooser says it too, with the same time left (`onTick`).
import {h, flash} from "./dom.js";
import {clockText} from "./words.js";

export const DISPOSITIONS = ["Resolved", "Follow-up needed", "Escalated", "Spam", "No answer"];

export class WrapUpBar {
  constructor({el, gws, onFinish, nameOf, onTick = () => {}}) {
    this.el = el;
    this.gws = gws;
    this.onFinish = onFinish; // () => Promise: set Ready
    this.nameOf = nameOf;     // session id -> customer name shown, or null
    this.onTick = onTick;     // (time-left text) => void, every second of a wrap-up
    this.wrap = null;
    this.label = h("strong", {}, "Wrap-up");
    this.left = h("span", {class: "wrapup-left", role: "timer"});
    this.input = h("input", {name: "wrapup-disposition", list: "wrapup-dispositions", autocomplete: "off",
      "aria-label": "Disposition of the finished conversation"});
    this.status = h("span", {class: "wrapup-status", role: "status"});
    const save = h("button", {type: "submit"}, "Save", h("span", {class: "wide-only"}, " disposition"));
    this.finish = h("button", {type: "button", class: "primary", onclick: () => this.end()}, "End wrap-up");
    const form = h("form", {class: "wrapup-form"},
      this.input, h("datalist", {id: "wrapup-dispositions"}, ...DISPOSITIONS.map((d) => h("option", {value: d}))),
      save);
    form.addEventListener("submit", (ev) => { ev.preventDefault(); this.save(); });
    this.el.replaceChildren(this.label, this.left, form, this.finish, this.status);
    this.timer = setInterval(() => this.tick(), 1000);
  }

  // From the channel's userState: {workMode, wrapUp: {smssessionId, sinceSeconds, endsSeconds}}.
  show(userState) {
    const wrapping = userState && userState.workMode === "AfterCallWork";
    const before = this.wrap && this.wrap.smssessionId;
    this.wrap = wrapping ? (userState.wrapUp || {}) : null;
    this.el.hidden = !wrapping;
    document.body.dataset.wrapUp = wrapping ? "yes" : "no";
    if (!wrapping) return;
    if (before !== this.wrap.smssessionId) { this.input.value = ""; flash(this.status, ""); }
    const name = this.nameOf(this.wrap.smssessionId);
    this.label.textContent = name ? `Wrap-up: ${name}` : "Wrap-up";
    this.tick();
  }

  tick() {
    if (!this.wrap) return;
    const ends = Number(this.wrap.endsSeconds);
    this.left.textContent = Number.isFinite(ends) ? `${clockText(ends - this.gws.serverNow())} left` : "until you end it";
    this.onTick(this.left.textContent);
  }

  async save() {
    const value = this.input.value.trim();
    if (!value) { flash(this.status, "Type or pick a disposition first.", "error"); return; }
    try {
      await this.gws.sessionOp(this.wrap.smssessionId, "SetDisposition", {disposition: value});
      flash(this.status, `Saved: ${value}`);
    } catch (err) {
      flash(this.status, `Could not save the disposition: ${err.message}`, "error");
    }
  }

  async end() {
    try {
      await this.onFinish();
    } catch (err) {
      flash(this.status, err.message, "error");
      this.input.focus();
    }
  }
}
