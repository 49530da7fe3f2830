// The agent's state chooser: a state changes on an explicit choice only. A mouse pick applies at once; with
// the keyboard, arrows move through the list without changing anything and Enter applies (Escape goes back).
import {h, flash} from "./dom.js";

export const NOT_READY_REASONS = ["Break", "Lunch", "Meeting", "Training", "After call work"];
const KEYS_THAT_BROWSE = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]);

export class StatePicker {
  constructor({select, hint, apply}) {
    this.select = select;
    this.hint = hint;
    this.apply = apply; // (operationName, reason) => Promise
    this.current = "NotReady";
    this.browsing = false;
    select.replaceChildren(
      h("option", {value: "Ready"}, "Ready"),
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
    if (this.select.value === this.current) return;
    const [op, reason] = this.select.value.split(":");
    this.apply(op, reason);
  }

  revert() {
    this.browsing = false;
    flash(this.hint, "");
    this.select.value = this.current;
  }

  // The server's state: shown unless the agent is in the middle of a keyboard choice.
  show(state, reason) {
    const value = state === "NotReady" && reason && NOT_READY_REASONS.includes(reason) ? `NotReady:${reason}` : state;
    this.current = [...this.select.options].some((o) => o.value === value) ? value : "NotReady";
    if (!this.browsing) this.select.value = this.current;
  }
}
