// Agent-facing words for the API's protocol terms: the pages say "Incoming", the API keeps "Invited".
// Only what is shown changes; every request and every data-* attribute keeps the API's names.
const STATES = {
  Invited: "Incoming",
  Chatting: "In conversation",
  LeftChat: "Customer gone",
  Completed: "Done",
  Revoked: "Withdrawn",
  Unknown: "…",
};
const MODES = {Monitor: "Monitor (listen only)", Coach: "Coach (whisper to the agent)", BargeIn: "Barge in (everyone sees you)"};
const SHORT_MODES = {Monitor: "Monitoring", Coach: "Coaching", BargeIn: "Barged in"};
const SCOPES = {AllChats: "All conversations", NextChat: "Next conversation only"};
const VISIBILITY = {All: "everyone", Agents: "agents only", Supervisors: "supervisors only"};
const OFFER_KINDS = {Offer: "Incoming SMS", Transfer: "Transfer", Invite: "Invitation to join", Consult: "Consultation"};

export const stateWord = (state) => STATES[state] || state;
export const modeWord = (mode) => MODES[mode] || mode;
export const modeShort = (mode) => SHORT_MODES[mode] || mode;
export const scopeWord = (scope) => SCOPES[scope] || scope;
export const visibilityWord = (v) => VISIBILITY[v] || v;
export const offerKindWord = (kind) => OFFER_KINDS[kind] || "Incoming SMS";

// "1:05" / "0:09" from milliseconds (never negative).
export function clockText(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// Failure texts from the server, in words an agent understands.
export function explainFailure(op, message) {
  const m = String(message || "");
  const declined = /^Request failed: (Transfer|Invite|Consult) to (.*): (rejected|did not accept)$/.exec(m);
  if (declined) {
    const what = {Transfer: "transfer", Invite: "invitation", Consult: "consultation"}[declined[1]];
    return declined[3] === "rejected" ? `${declined[2]} declined the ${what}.`
      : `${declined[2]} did not answer the ${what} in time.`;
  }
  if (/not an agent/.test(m)) return `${op}: that person cannot take SMS conversations.`;
  if (/already in this session/.test(m)) return `${op}: that agent is already in this conversation.`;
  if (/pending/.test(m)) return `${op}: wait until the other transfer or invitation is answered, or cancel it.`;
  if (/opted out/.test(m)) return "The customer replied STOP: no more SMS can be sent to them.";
  if (/cannot be reached/.test(m)) return "The server cannot be reached; check the connection and try again.";
  return `${op} did not work: ${m}`;
}
