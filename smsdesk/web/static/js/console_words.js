// What the supervisor console says about a conversation: a current session as "customer · state · duration"
// (not its id), and the supervisor's own mode in a pane with who sees what they write.
import {stateWord} from "./words.js";

// "2023-11-14 22:13:20.000+0000" -> milliseconds
export function parseGwsTime(text) {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?/.exec(text || "");
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], +(m[7] || 0));
}

export function durationText(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "";
  const min = Math.floor(ms / 60000);
  if (min < 1) return "under a minute";
  if (min < 60) return `${min} min`;
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

export function sessionSummary(sess, nowMs) {
  const customer = ((sess.participants || []).find((p) => p.type === "Customer") || {}).nickname || "Customer";
  const since = durationText(nowMs - parseGwsTime(sess.receivedDate));
  return {customer, text: [customer, stateWord(sess.state), since].filter(Boolean).join(" · ")};
}

// My mode in a pane, from my participant's visibility: Supervisors = Monitor, Agents = Coach, All = BargeIn.
const MODE_OF_VISIBILITY = {Supervisors: "Monitor", Agents: "Coach", All: "BargeIn"};

export function supervisorMode(pane) {
  const me = pane.me();
  return me && !pane.terminal ? MODE_OF_VISIBILITY[me.visibility] || null : null;
}

export function supervisorAudience(pane) {
  switch (supervisorMode(pane)) {
    case "Monitor": return "Listening only: switch to Coach or Barge in to write.";
    case "Coach": return "Coaching: only the agents see what you write, never the customer.";
    case "BargeIn": return "Barged in: the customer and the agents see what you write.";
    default: return "";
  }
}
