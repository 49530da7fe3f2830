// The agent's state chooser: a state changes on an explicit choice only. A mouse pick applies at once; with
// the keyboard, arrows move through the list without changing anything and Enter applies (Escape goes back).
// During wrap-up (NotReady with workMode AfterCallWork) it reads "Wrap-up – 0:18 left (after-call work)" and
// its first choice is "End wrap-up (Ready)"; any other state chosen ends the wrap-up too.
import {h, flash} from "./dom.js";

export const NOT_READY_REASONS = ["Break", "Lunch", "Meeting", "Training", "After call work"];
const WRAP_UP = "AfterCallWork";
const KEYS_THAT_BROWSE = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]);

export class StatePicker {
  constructor({select, hint, apply}) {
    this.select = select;
    this.hint = hint;
    this.apply = apply; // (operationName, reason) => Promise
    this.current = "NotReady";
    this.browsing = false;
    this.wrapOption = h("option", {value: WRAP_UP}, "Wrap-up (after-call work)");
    this.readyOption = h("option", {value: "Ready"}, "Ready");
    select.replaceChildren(
      this.readyOption,
      h("option", {value: "NotReady"}, "Not Ready"),
      ...NOT_READY_REASONS.map((r) => h("option", {value: `NotReady:${r}`}, `Not Ready – ${r}`)));
    select.addEventListener("keydown", (ev) => {
      if (KEYS_THAT_BROWSE.has(ev.key) || (ev.key.length === 1 && !ev.ctrlKey && !ev.metaKey)) this.browsing = true;
      if (ev.key === "Enter") { ev.preventDefault(); this.browsing = false; this.choose(); }
      if (ev.key === "Escape") this.revert();
    });
    select.addEventListener("pointerdown", () => { this.browsing = false; });
    select.addEventListener("change", () => {
      if (this.browsing) { flash(this.hint, "Press Enter to change your state"); return; }
      this.choose();
    });
    select.addEventListener("blur", () => this.revert());
  }

  choose() {
    flash(this.hint, "");
    if (this.select.value === this.current || this.select.value === WRAP_UP) return;
    const [op, reason] = this.select.value.split(":");
    this.apply(op, reason);
  }

  revert() {
    this.browsing = false;
    flash(this.hint, "");
    this.select.value = this.current;
  }

  // The server's state: shown unless the agent is in the middle of a keyboard choice.
  show(state, reason, workMode) {
    const wrapping = workMode === "AfterCallWork";
    if (wrapping && !this.wrapOption.isConnected) this.select.prepend(this.wrapOption);
    if (!wrapping) this.wrapOption.remove();
    this.readyOption.textContent = wrapping ? "End wrap-up (Ready)" : "Ready";
    const value = wrapping ? WRAP_UP
      : state === "NotReady" && reason && NOT_READY_REASONS.includes(reason) ? `NotReady:${reason}` : state;
    this.current = [...this.select.options].some((o) => o.value === value) ? value : "NotReady";
    if (!this.browsing) this.select.value = this.current;
  }

  // Every second of a wrap-up: the time left ("0:18 left", or "until you end it").
  wrapLeft(text) {
    this.wrapOption.textContent = `Wrap-up – ${text} (after-call work)`;
  }
}
