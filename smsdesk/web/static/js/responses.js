// Standard responses in the reply box (docs/ui.md, "Standard responses"): "/" typed at the start of the reply
// box opens a picker; typing searches (GET /api/v2/responses?q=), Up/Down choose, Enter (or a click) inserts
// the response with its placeholders filled for this session (GET /api/v2/responses/{id}?session=), Escape
// closes. The inserted text stays in the reply box, to be edited before it is sent: nothing is sent here.
import {h, uid} from "./dom.js";

const SEARCH_DELAY_MS = 150;

export function responsePicker(pane) {
  const listId = uid("responses");
  const search = h("input", {type: "search", class: "response-search", autocomplete: "off", role: "combobox",
    "aria-label": "Search standard responses", "aria-controls": listId, "aria-expanded": "true",
    "aria-autocomplete": "list", placeholder: "Search standard responses"});
  const list = h("ul", {id: listId, role: "listbox", class: "response-list", "aria-label": "Standard responses"});
  const status = h("p", {class: "response-status", role: "status"});
  const box = h("div", {class: "response-picker", hidden: true, role: "group",
    "aria-label": "Insert a standard response"}, search, list, status);
  let items = [];
  let active = 0;
  let asked = 0;
  let timer = null;

  const render = () => {
    list.replaceChildren(...items.map((r, i) => {
      const li = h("li", {id: `${listId}-${i}`, role: "option", class: "response-option",
        "aria-selected": i === active ? "true" : "false", dataset: {response: r.id}},
      h("strong", {}, r.name), r.category ? h("span", {class: "response-category"}, ` ${r.category}`) : null,
      h("span", {class: "response-text"}, r.text));
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); insert(r); });
      return li;
    }));
    if (items.length) search.setAttribute("aria-activedescendant", `${listId}-${active}`);
    else search.removeAttribute("aria-activedescendant");
    const option = list.children[active];
    if (option) option.scrollIntoView({block: "nearest"});
  };

  const find = async () => {
    const mine = ++asked;
    const q = search.value.trim();
    try {
      const body = await pane.gws.get(`/api/v2/responses?q=${encodeURIComponent(q)}`);
      if (mine !== asked) return;
      items = body.responses || [];
      active = 0;
      status.textContent = items.length ? `${items.length} response${items.length === 1 ? "" : "s"}` : "No standard response matches";
    } catch (err) {
      if (mine !== asked) return;
      items = [];
      status.textContent = `Standard responses unavailable: ${err.message}`;
    }
    render();
  };

  const close = (refocus = true) => {
    box.hidden = true;
    clearTimeout(timer);
    asked += 1;
    if (refocus) pane.text.focus();
  };

  const open = () => {
    box.hidden = false;
    search.value = "";
    items = [];
    render();
    search.focus();
    find();
  };

  const insert = async (response) => {
    let text = response.text;
    try {
      const body = await pane.gws.get(
        `/api/v2/responses/${encodeURIComponent(response.id)}?session=${encodeURIComponent(pane.id)}`);
      text = body.response.filledText ?? body.response.text;
    } catch (err) {
      status.textContent = `Could not fill the response: ${err.message}`;
      return;
    }
    close(false);
    const input = pane.text;
    const start = input.selectionStart ?? 0;
    input.setRangeText(text, start, input.selectionEnd ?? start, "end");
    input.dispatchEvent(new Event("input", {bubbles: true})); // the draft and the segment counter follow
    input.focus();
  };

  pane.text.addEventListener("keydown", (ev) => {
    if (ev.key !== "/" || ev.ctrlKey || ev.altKey || ev.metaKey || pane.text.disabled) return;
    if (pane.text.selectionStart !== 0 || pane.text.selectionEnd !== 0) return;
    ev.preventDefault();
    open();
  });
  pane.text.setAttribute("aria-keyshortcuts", "/");
  pane.text.placeholder = "Type a reply (Enter sends, Shift+Enter new line, / at the start: standard responses)";
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, SEARCH_DELAY_MS); });
  search.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      if (!items.length) return;
      active = (active + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      render();
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      if (items[active]) insert(items[active]);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      close();
    }
  });
  search.addEventListener("blur", () => setTimeout(() => {
    if (!box.contains(document.activeElement)) { box.hidden = true; asked += 1; }
  }, 0));
  return box;
}
