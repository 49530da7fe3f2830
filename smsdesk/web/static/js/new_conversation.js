// "New conversation" (docs/ui.md): the agent texts a customer first. The numbers are checked as they are typed
// (a + and the country code, 8 to 15 digits; spaces, dots, dashes and brackets allowed, as the server reads
// them), then POST /api/v2/me/smssessions {"operationName":"Create", customerNumber, businessNumber, text}; the
// session arrives as any other (CometD) and its pane gets the focus. The business number is remembered here.
import {h, uid, flash} from "./dom.js";

const BUSINESS_KEY = "smsdesk.businessNumber";

// "" when `raw` looks like a number in international form, else why not (in words).
export function numberProblem(raw) {
  const compact = String(raw || "").replace(/[\s().\-]/g, "");
  if (!compact) return "Enter a number";
  if (!compact.startsWith("+")) return "Start with + and the country code";
  if (!/^\+[0-9]*$/.test(compact)) return "Only digits after the +";
  if (compact.length < 9) return "Too short for a phone number";
  if (compact.length > 16) return "Too long for a phone number";
  if (compact[1] === "0") return "A country code does not start with 0";
  return "";
}

function numberField(label, name, value = "") {
  const id = uid(name);
  const hintId = uid(`${name}-hint`);
  const input = h("input", {id, name, type: "tel", autocomplete: "off", value, "aria-describedby": hintId,
    inputmode: "tel", placeholder: "+1 555 123 0001"});
  const hint = h("span", {id: hintId, class: "field-hint", "aria-live": "polite"});
  const check = () => {
    const problem = input.value ? numberProblem(input.value) : "";
    hint.textContent = problem;
    input.setAttribute("aria-invalid", problem ? "true" : "false");
    return !numberProblem(input.value);
  };
  input.addEventListener("input", check);
  return {input, check, el: h("label", {for: id, class: "field"}, h("span", {}, label), input, hint)};
}

export class NewConversation {
  constructor({el, gws, focusSession}) {
    this.gws = gws;
    this.focusSession = focusSession;
    this.customer = numberField("Customer number", "customer");
    this.business = numberField("From our number", "business", localStorage.getItem(BUSINESS_KEY) || "");
    const textId = uid("first-text");
    this.text = h("textarea", {id: textId, rows: "2", maxlength: "1600", required: true});
    this.status = h("p", {class: "new-status", role: "status"});
    this.submit = h("button", {type: "submit", class: "primary"}, "Send and open");
    this.form = h("form", {class: "new-conversation", hidden: true, "aria-label": "New conversation"},
      this.customer.el, this.business.el,
      h("label", {for: textId, class: "field"}, h("span", {}, "First message"), this.text),
      h("div", {class: "new-buttons"}, this.submit,
        h("button", {type: "button", onclick: () => this.close()}, "Cancel")),
      this.status);
    this.toggle = h("button", {type: "button", "aria-expanded": "false", onclick: () => this.open()},
      "New conversation");
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.send(); });
    this.form.addEventListener("keydown", (ev) => { if (ev.key === "Escape") this.close(); });
    el.append(this.toggle, this.form);
  }

  open() {
    this.form.hidden = false;
    this.toggle.setAttribute("aria-expanded", "true");
    this.customer.input.focus();
  }

  close() {
    this.form.hidden = true;
    this.toggle.setAttribute("aria-expanded", "false");
    flash(this.status, "");
    this.toggle.focus();
  }

  async send() {
    const okCustomer = this.customer.check();
    const okBusiness = this.business.check();
    if (!okCustomer || !okBusiness) {
      flash(this.status, "Check the numbers", "error");
      (okCustomer ? this.business.input : this.customer.input).focus();
      return;
    }
    if (!this.text.value.trim()) {
      flash(this.status, "Write the first message", "error");
      this.text.focus();
      return;
    }
    this.submit.disabled = true;
    try {
      const body = await this.gws.post("/api/v2/me/smssessions", {
        operationName: "Create", customerNumber: this.customer.input.value,
        businessNumber: this.business.input.value, text: this.text.value});
      localStorage.setItem(BUSINESS_KEY, this.business.input.value);
      this.customer.input.value = "";
      this.text.value = "";
      this.form.hidden = true;
      this.toggle.setAttribute("aria-expanded", "false");
      this.focusSession(body.smssession.id);
    } catch (err) {
      flash(this.status, `Not started: ${err.message}`, "error");
    } finally {
      this.submit.disabled = false;
    }
  }
}
