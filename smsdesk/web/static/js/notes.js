// Contact notes beside the conversation (docs/ui.md, "Contact notes"): what agents and supervisors wrote about
// this customer number (GET /api/v2/contacts/{number}/notes), and a form to add one (POST). Notes are never
// sent to the customer. Read when the pane first knows the customer's number, and after adding one.
import {h, uid} from "./dom.js";

const E164 = /^\+[1-9][0-9]{1,14}$/;

// The customer's number: from the offer, else the customer participant's nickname when it is one.
function customerNumber(pane) {
  const offered = pane.data.offer && pane.data.offer.customerNumber;
  if (offered && E164.test(offered)) return offered;
  const c = (pane.data.participants || []).find((p) => p.type === "Customer");
  return c && E164.test(c.nickname || "") ? c.nickname : null;
}

export function contactNotes(pane) {
  const headId = uid("notes-title");
  const inputId = uid("note");
  const list = h("ul", {class: "notes-list"});
  const input = h("textarea", {id: inputId, rows: "2", maxlength: "2000", placeholder: "Never sent to the customer"});
  const add = h("button", {type: "submit"}, "Add note");
  const status = h("p", {class: "notes-status", role: "status"});
  const form = h("form", {class: "notes-form"}, h("label", {for: inputId}, "New note"), input, add);
  const box = h("section", {class: "contact-notes", "aria-labelledby": headId, hidden: true},
    h("h3", {id: headId}, "Notes about this customer"), list, form, status);
  let number = null;

  const show = (notes) => {
    list.replaceChildren(...notes.map((n) => h("li", {class: "note"},
      h("span", {class: "note-author"}, `${n.authorName}, ${new Date(n.createdMs).toLocaleString()}: `),
      h("span", {class: "note-text"}, n.text))));
    if (!notes.length) list.append(h("li", {class: "note empty"}, "No notes yet"));
  };

  const load = async () => {
    try {
      const body = await pane.gws.get(`/api/v2/contacts/${encodeURIComponent(number)}/notes`);
      show(body.notes || []);
      status.textContent = "";
    } catch (err) {
      status.textContent = `Notes unavailable: ${err.message}`;
    }
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = input.value;
    if (!number || !text.trim()) return;
    add.disabled = true;
    try {
      await pane.gws.post(`/api/v2/contacts/${encodeURIComponent(number)}/notes`, {text});
      input.value = "";
      await load();
      status.textContent = "Note added";
    } catch (err) {
      status.textContent = `Note not added: ${err.message}`;
    } finally {
      add.disabled = false;
    }
  });

  pane.onRender.push(() => {
    const found = customerNumber(pane);
    if (!found || found === number) return;
    number = found;
    box.hidden = false;
    load();
  });
  return box;
}
