// Keyboard shortcuts of the agent desktop, and the "Keyboard shortcuts" list that shows them (the toolbar's
// button, or "?" outside a text box). Alt+letter does not type anything in a text box on Windows, Linux or
// ChromeOS, and no browser uses Alt+A, C, N or P for itself. A key is matched by the letter it types (any
// keyboard layout), else by its physical key (`code`): a Mac's Option+letter types "å" or a dead key, and
// works too (and types nothing).
import {h} from "./dom.js";

export const SHORTCUTS = [
  {keys: "Alt+A", code: "KeyA", action: "accept", what: "Accept the oldest incoming conversation"},
  {keys: "Alt+C", code: "KeyC", action: "complete", what: "Complete the current conversation (asks first: Alt+C again confirms)"},
  {keys: "Alt+N", code: "KeyN", action: "next", what: "Next conversation"},
  {keys: "Alt+P", code: "KeyP", action: "previous", what: "Previous conversation"},
  {keys: "Enter", what: "In the reply box: send (Shift+Enter: a new line)"},
  {keys: "/", what: "At the start of the reply box: standard responses"},
  {keys: "Escape", what: "Close this list, a picker or a confirmation"},
  {keys: "?", what: "Show this list (outside a text box)"},
];

const BY_CODE = new Map(SHORTCUTS.filter((s) => s.code).map((s) => [s.code, s]));

function typingIn(el) {
  if (!el) return false;
  const tag = el.tagName;
  return tag === "TEXTAREA" || el.isContentEditable
    || (tag === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(el.type));
}

// The Alt+letter shortcut an event is, or null.
export function shortcutOf(ev) {
  if (!ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) return null;
  const letter = String(ev.key || "").toLowerCase();
  const code = /^[a-z]$/.test(letter) ? `Key${letter.toUpperCase()}` : ev.code;
  return BY_CODE.get(code) || null;
}

export class Shortcuts {
  // `actions`: {accept, complete, next, previous}, each () => true when it did something.
  constructor({button, actions, doc = globalThis.document}) {
    this.actions = actions;
    this.doc = doc;
    this.opener = null;
    const titleId = "shortcuts-title";
    const close = h("button", {type: "button", class: "primary"}, "Close");
    this.dialog = h("dialog", {id: "shortcuts", class: "shortcuts", "aria-labelledby": titleId},
      h("h2", {id: titleId}, "Keyboard shortcuts"),
      h("table", {},
        h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Keys"), h("th", {scope: "col"}, "What it does"))),
        h("tbody", {}, ...SHORTCUTS.map((s) => h("tr", {dataset: {keys: s.keys}},
          h("td", {}, h("kbd", {}, s.keys)), h("td", {}, s.what))))),
      h("form", {method: "dialog"}, close));
    this.dialog.addEventListener("close", () => { if (this.opener && this.opener.isConnected) this.opener.focus(); });
    doc.body.append(this.dialog);
    button.setAttribute("aria-keyshortcuts", "?");
    button.addEventListener("click", () => this.show());
    doc.addEventListener("keydown", (ev) => this.#onKey(ev));
  }

  show() {
    if (this.dialog.open) return;
    this.opener = this.doc.activeElement;
    this.dialog.showModal();
  }

  #onKey(ev) {
    if (ev.defaultPrevented || ev.isComposing) return;
    const shortcut = shortcutOf(ev);
    if (shortcut) {
      ev.preventDefault(); // nothing typed, no browser menu: even when there is nothing to do
      if (!this.dialog.open) this.actions[shortcut.action]();
      return;
    }
    if (ev.key === "?" && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !typingIn(ev.target)) {
      ev.preventDefault();
      this.show();
    }
  }
}
