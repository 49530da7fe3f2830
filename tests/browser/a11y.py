"""Accessibility checks of a page in the browser tests (docs/ui.md, "Accessibility").

* :func:`require_axe` installs the npm ``axe-core`` package from ``tests/browser/package-lock.json`` (``npm ci``
  on first use, again when the lock file changes); it is a test dependency, so it stays out of
  ``smsdesk/web/package.json``, whose packages ship in the wheel.
* :func:`axe_problems` injects ``axe.min.js`` into the page, runs ``axe.run()`` on the whole document and
  returns one line per violation of impact *serious* or *critical*: rule id, impact, the target selectors and
  the help URL.
* :func:`keyboard_problems` presses Tab through the page and returns what the keyboard cannot do: a visible
  control (link, button, input, select, textarea, summary, ``[tabindex]``, an ARIA widget role, or any element
  a click listener was added to) that never receives the focus, or a focus trap. Click listeners are seen
  through :data:`CLICK_WATCH`, an init script a browser context must add before its pages load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.services import npm_ci

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
OUTSIDE = "(outside the page)"
MAX_STOPS = 6

# Remembers every element a click-like listener is added to, so that a clickable <div> counts as a control.
CLICK_WATCH = """
(() => {
  const clickable = new WeakSet();
  const add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, listener, options) {
    if ((type === "click" || type === "mousedown" || type === "pointerdown") && this instanceof Element) {
      clickable.add(this);
    }
    return add.call(this, type, listener, options);
  };
  window.__smsdeskClickable = (el) => clickable.has(el);
})();
"""

_RUN_AXE = """
async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({impact: n.impact, target: n.target.map(String).join(" "),
                                 summary: n.failureSummary || ""})),
  }));
}
"""

# The controls a keyboard user must reach: visible, enabled, not inert, not taken out of the tab order.
_CONTROLS = """
() => {
  const selector = "a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]," +
    " [contenteditable=''], [contenteditable=true], [role=button], [role=link], [role=checkbox]," +
    " [role=switch], [role=tab], [role=menuitem], [role=radio], [role=slider], [role=textbox]";
  const watched = window.__smsdeskClickable || (() => false);
  const all = [...document.querySelectorAll("body *")];
  const focusable = (el) => el.matches(selector) || watched(el);
  const visible = (el) => el.checkVisibility({visibilityProperty: true}) && !el.closest("[inert]") &&
    !el.disabled && !el.closest("fieldset:disabled") && el.getAttribute("tabindex") !== "-1";
  const controls = all.filter((el) => {
    if (!focusable(el) || !visible(el)) return false;
    if (el.matches("summary") && el.parentElement.querySelector(":scope > summary") !== el) return false;
    // an option of a listbox is chosen from its combobox (aria-activedescendant), not tabbed to
    if (el.closest("[role=option]")) return false;
    // a listener on a container that holds controls delegates to them
    if (!el.matches(selector) && el.querySelector(selector)) return false;
    return true;
  });
  const describe = (el) => {
    const name = (el.getAttribute("aria-label") || el.textContent || el.getAttribute("name") ||
      el.getAttribute("placeholder") || "").trim().replace(/\\s+/g, " ").slice(0, 40);
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
      (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
      (name ? ` "${name}"` : "");
  };
  window.__smsdeskKeyboard = {controls, seen: new Set(), describe, ids: new WeakMap()};
  // (re)registered on every walk: replacing a document's content (document.open) drops its listeners
  if (window.__smsdeskFocusIn) document.removeEventListener("focusin", window.__smsdeskFocusIn, true);
  window.__smsdeskFocusIn = (ev) => window.__smsdeskKeyboard.seen.add(ev.target);
  document.addEventListener("focusin", window.__smsdeskFocusIn, true);
  return controls.length;
}
"""

# After one Tab: where is the focus, and has it left the document (past the last control)?
_AFTER_TAB = """
() => {
  const k = window.__smsdeskKeyboard;
  const el = document.activeElement;
  const outside = !el || el === document.body || el === document.documentElement || !document.hasFocus();
  const radios = (c) => c.type === "radio" && c.name &&
    [...k.seen].some((s) => s.type === "radio" && s.name === c.name && s.form === c.form);
  const missing = k.controls.filter((c) => c.isConnected && !k.seen.has(c) && !radios(c)).length;
  if (outside) return {missing, at: "(outside the page)", key: 0};
  if (!k.ids.has(el)) k.ids.set(el, k.ids.next = (k.ids.next || 0) + 1);
  return {missing, at: k.describe(el), key: k.ids.get(el)};
}
"""

_MISSING = """
() => {
  const k = window.__smsdeskKeyboard;
  return k.controls.filter((c) => c.isConnected && !k.seen.has(c) &&
    !(c.type === "radio" && [...k.seen].some((s) => s.type === "radio" && s.name === c.name)))
    .map(k.describe);
}
"""


def require_axe() -> None:
    """``npm ci`` in tests/browser when ``axe-core`` is absent or older than the lock file."""
    npm_ci(HERE, "to install axe-core for the accessibility tests", needs=AXE_JS)


def axe_problems(page: Any, label: str) -> list[str]:
    """Serious and critical axe-core violations of the page as it is now, one line per violation."""
    if not page.evaluate("typeof window.axe === 'object' && typeof window.axe.run === 'function'"):
        page.add_script_tag(path=str(AXE_JS))
    problems = []
    for v in page.evaluate(_RUN_AXE):
        nodes = [n for n in v["nodes"] if (n["impact"] or v["impact"]) in BLOCKING]
        if not nodes:
            continue
        targets = "; ".join(n["target"] for n in nodes[:8]) + (" …" if len(nodes) > 8 else "")
        problems.append(
            f"[{label}] axe {v['id']} ({v['impact']}): {v['help']} — {targets} — {v['helpUrl']}"
            + (f"\n    {nodes[0]['summary']}" if nodes[0]["summary"] else "")
        )
    return problems


def keyboard_problems(page: Any, label: str) -> list[str]:
    """Tab through the page: every visible control must get the focus, and the focus must go round without
    a trap: between two exits from the page (past the last control) no control comes back after the focus
    moved on, and no control keeps it for more than :data:`MAX_STOPS` Tabs (a date input takes three)."""
    count: int = page.evaluate(_CONTROLS)
    page.evaluate("() => { if (document.activeElement) document.activeElement.blur(); }")
    limit = 3 * count + 20
    cycle: list[int] = []  # the controls focused since the focus last left the page, repeats collapsed
    names: dict[int, str] = {}
    run = 0  # Tabs the current control has kept the focus
    went_round = False
    missing = count
    trap = ""
    for _ in range(limit):
        page.keyboard.press("Tab")
        state = page.evaluate(_AFTER_TAB)
        missing, at, key = state["missing"], state["at"], state["key"]
        if at == OUTSIDE:
            went_round = True
            if missing == 0:
                break
            cycle, run = [], 0
            continue
        names[key] = at
        if cycle and cycle[-1] == key:
            run += 1
            if run > MAX_STOPS:
                trap = f"{at} keeps the focus"
                break
            continue
        if key in cycle:
            round_trip = [names[k] for k in cycle[cycle.index(key) :]]
            trap = f"the focus goes round {round_trip} without leaving the page"
            break
        cycle.append(key)
        run = 1
    else:
        if not went_round:
            last = [names[k] for k in cycle[-8:]]
            trap = f"the focus did not leave the page in {limit} Tabs: {last}"
    problems = []
    if missing:
        unreached = page.evaluate(_MISSING)
        problems.append(f"[{label}] keyboard: Tab never reaches {len(unreached)} control(s): {unreached}")
    if trap:
        problems.append(f"[{label}] keyboard trap: {trap}")
    return problems


def page_problems(page: Any, label: str, widths: tuple[int, ...] = (1280, 390)) -> list[str]:
    """axe and the keyboard walk at each width; the page gets its own size back after."""
    own = page.viewport_size or {"width": 1280, "height": 800}
    problems: list[str] = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": own["height"]})
        page.wait_for_function(f"window.innerWidth === {width}")
        problems += axe_problems(page, f"{label} @{width}px")
        problems += keyboard_problems(page, f"{label} @{width}px")
    page.set_viewport_size(own)
    return problems
