// Customer history and transcript search, on GET /api/v2/smssessions (docs/operations.md):
// - `CustomerHistory`: the agent desktop's panel of the current customer's previous conversations (date,
//   agent, disposition, transcript expandable), beside the conversation;
// - `TranscriptSearch`: the supervisor console's search (customer number, words, days) opening any transcript.
import {h, timeOf} from "./dom.js";
import {mediaSummary} from "./media.js";

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  return q.toString(); // "+" of a number is sent as %2B
}

function when(session) {
  const text = session.createdDate || "";
  const ms = Date.parse(text.replace(" ", "T").replace(/(\d{2})(\d{2})$/, "$1:$2"));
  return Number.isFinite(ms) ? new Date(ms).toLocaleString([], {dateStyle: "medium", timeStyle: "short"}) : text;
}

// One session as a collapsible entry: its summary, and the transcript when opened.
export function sessionEntry(session) {
  const lines = (session.messages || []).filter((m) => m.type === "Text" || m.type === "PushUrl").map((m) =>
    h("li", {class: "history-line", dataset: {from: (m.from && m.from.type) || ""}},
      h("span", {class: "muted"}, timeOf(m) + " "),
      h("strong", {}, ((m.from && m.from.nickname) || "") + ": "),
      [m.text || m.url || "", mediaSummary(m)].filter(Boolean).join(" ")));
  const agent = session.agent ? session.agent.userName : "no agent";
  return h("details", {class: "history-entry", dataset: {session: session.id}},
    h("summary", {},
      h("span", {class: "history-date"}, when(session)), " · ",
      h("span", {class: "history-agent"}, agent), " · ",
      h("span", {class: "history-disposition"}, session.disposition || "no disposition"),
      session.queue ? h("span", {class: "muted"}, ` · ${session.queue}`) : null),
    h("ol", {class: "history-transcript"}, ...(lines.length ? lines : [h("li", {class: "muted"}, "No texts")])));
}

export class CustomerHistory {
  constructor({gws, root}) {
    this.gws = gws;
    this.root = root;
    this.customer = null;
    this.current = null;
    this.list = h("div", {class: "history-list"});
    root.replaceChildren(h("h2", {}, "Previous conversations"), this.list);
    this.show(null);
  }

  // The customer of the session in front of the agent (`sessionId` is left out of the list).
  async show(customer, sessionId = null) {
    if (customer === this.customer && sessionId === this.current) return;
    this.customer = customer;
    this.current = sessionId;
    if (!customer) {
      this.list.replaceChildren(h("p", {class: "muted"}, "Open a session to see the customer's history."));
      return;
    }
    this.list.replaceChildren(h("p", {class: "muted"}, "Loading…"));
    try {
      const body = await this.gws.get(`/api/v2/smssessions?${query({customerNumber: customer, fields: "*", limit: 20})}`);
      if (customer !== this.customer) return; // another customer was opened meanwhile
      const previous = body.smssessions.filter((s) => s.id !== sessionId);
      this.list.replaceChildren(...(previous.length ? previous.map(sessionEntry)
        : [h("p", {class: "muted"}, "No previous conversations.")]));
    } catch (err) {
      this.list.replaceChildren(h("p", {class: "error"}, `Could not read the history: ${err.message}`));
    }
  }
}

export class TranscriptSearch {
  constructor({gws, root}) {
    this.gws = gws;
    this.offset = 0;
    this.fields = {
      customerNumber: h("input", {id: "search-customer", type: "tel", placeholder: "+15551230001", "aria-label": "Customer number"}),
      q: h("input", {id: "search-words", type: "search", placeholder: "words in the transcript", "aria-label": "Words"}),
      from: h("input", {id: "search-from", type: "date", "aria-label": "From day"}),
      to: h("input", {id: "search-to", type: "date", "aria-label": "To day"}),
    };
    this.results = h("div", {id: "search-results", class: "history-list", "aria-live": "polite"});
    this.more = h("button", {type: "button", hidden: true, onclick: () => this.run(this.offset)}, "More");
    const form = h("form", {id: "search-form", class: "op-form", onsubmit: (e) => { e.preventDefault(); this.run(0); }},
      ...Object.values(this.fields), h("button", {type: "submit", class: "primary"}, "Search"));
    root.replaceChildren(h("h2", {}, "Transcript search"), form, this.results, this.more);
  }

  async run(offset) {
    const params = Object.fromEntries(Object.entries(this.fields).map(([k, el]) => [k, el.value.trim()]));
    try {
      const body = await this.gws.get(`/api/v2/smssessions?${query({...params, fields: "*", offset, limit: 20})}`);
      const entries = body.smssessions.map(sessionEntry);
      if (offset === 0) this.results.replaceChildren(...(entries.length ? entries : [h("p", {class: "muted"}, "Nothing found.")]));
      else this.results.append(...entries);
      this.offset = offset + body.smssessions.length;
      this.more.hidden = !body.more;
    } catch (err) {
      this.results.replaceChildren(h("p", {class: "error"}, `Search failed: ${err.message}`));
      this.more.hidden = true;
    }
  }
}
