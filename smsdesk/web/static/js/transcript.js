// The transcript of one SMS session as this viewer sees it (spec §4.5): messages de-duplicated by index
// (a repeated index updates the message, e.g. its delivery `status`), sorted, and classified for styling.
import {h, timeOf} from "./dom.js";
import {renderMedia} from "./media.js";

const COUNTED = new Set(["Text", "PushUrl", "CustomNotice"]);
const SYSTEM = new Set(["ParticipantJoined", "ParticipantLeft", "ParticipantRejoined", "Notice",
  "CustomNotice", "TranscriptSaveDone"]);
const TYPING = new Set(["TypingStarted", "TypingStopped"]);
// Delivery statuses only move forward: a stale read (history fetched before a newer notification) can't undo.
const STATUS_RANK = {queued: 0, sent: 1, delivered: 2, failed: 3, undelivered: 3};
const FAILED_NOTICE = /^DELIVERY_FAILED(\d+)(?::\s*(.*))?/s;

function rank(status) {
  return STATUS_RANK[String(status || "").toLowerCase()] ?? -1;
}

function laterStatus(a, b) {
  if (b === undefined || b === null) return a;
  return rank(b) >= rank(a) ? b : a;
}

export class Transcript {
  constructor() {
    this.byIndex = new Map();
    this.typing = new Map(); // participantId -> nickname
  }

  // Merge messages; returns those that were new (not seen before by index).
  merge(messages) {
    const fresh = [];
    for (const m of messages || []) {
      if (!m || typeof m.index !== "number") continue;
      const old = this.byIndex.get(m.index);
      this.byIndex.set(m.index, old ? {...old, ...m, status: laterStatus(old.status, m.status)} : m);
      if (!old) fresh.push(m);
      const failed = m.type === "Notice" && typeof m.text === "string" && FAILED_NOTICE.exec(m.text);
      if (failed) {
        const target = this.byIndex.get(Number(failed[1]));
        if (target) this.byIndex.set(target.index, {...target, status: "failed"});
      }
    }
    for (const m of fresh.sort((a, b) => a.index - b.index)) this.#trackTyping(m);
    return fresh;
  }

  #trackTyping(m) {
    const pid = m.from && m.from.participantId;
    if (!pid) return;
    if (m.type === "TypingStarted") this.typing.set(pid, m.from.nickname || m.from.type || "Someone");
    else if (m.type === "TypingStopped" || m.type === "Text" || m.type === "ParticipantLeft") this.typing.delete(pid);
  }

  list() {
    return [...this.byIndex.values()].filter((m) => !TYPING.has(m.type)).sort((a, b) => a.index - b.index);
  }

  typingNames(me) {
    return [...this.typing.entries()].filter(([pid]) => !me.isMe({participantId: pid})).map(([, n]) => n);
  }

  static countsAsUnread(m, me) {
    return COUNTED.has(m.type) && !me.isMe(m.from || {});
  }
}

// Who "I" am inside a session: matched by participantId, user uri or user path.
export class Viewer {
  constructor(user) {
    this.user = user;
    this.participantIds = new Set();
  }

  learn(participants) {
    for (const p of participants || []) {
      if (this.#isMyUser(p)) this.participantIds.add(p.participantId);
    }
  }

  #isMyUser(p) {
    if (!p) return false;
    const path = `/users/${this.user.id}`;
    return p.path === path || (typeof p.uri === "string" && p.uri.endsWith(path));
  }

  isMe(p) {
    return Boolean(p) && (this.participantIds.has(p.participantId) || this.#isMyUser(p));
  }
}

function kindOf(m, me) {
  if (SYSTEM.has(m.type)) return "system";
  const from = m.from || {};
  if (from.type === "Customer") return "customer";
  if (me.isMe(from)) return "mine";
  if (from.type === "External" || from.type === "System") return "system";
  return "agent";
}

function describeSystem(m) {
  const who = (m.from && m.from.nickname) || "Someone";
  switch (m.type) {
    case "ParticipantJoined": return `${who} joined`;
    case "ParticipantLeft": return `${who} left`;
    case "ParticipantRejoined": return `${who} rejoined`;
    case "CustomNotice": return m.noticeText || "";
    case "TranscriptSaveDone": return "Transcript saved";
    case "Notice": {
      const failed = typeof m.text === "string" && FAILED_NOTICE.exec(m.text);
      if (failed) return `Message #${failed[1]} was not delivered${failed[2] ? ": " + failed[2] : ""}`;
      if (/^REMOVE_PARTICIPANT_FROM_CONFERENCE/.test(m.text || "")) return `${who} withdrew a colleague from the conversation`;
      return m.text || m.type;
    }
    default: return m.text || m.noticeText || m.type;
  }
}

const AUDIENCE = {Agents: "agents only", Supervisors: "supervisors only"};

export function renderMessage(m, me) {
  const kind = kindOf(m, me);
  const audience = AUDIENCE[m.visibility];
  const classes = ["msg", `msg-${kind}`];
  if (audience) classes.push(`vis-${m.visibility.toLowerCase()}`);
  const who = kind === "mine" ? "You" : (m.from && m.from.nickname) || (m.from && m.from.type) || "";
  let body;
  if (kind === "system") body = h("span", {class: "msg-text"}, describeSystem(m));
  else if (m.type === "PushUrl") {
    const safe = /^https?:\/\//i.test(m.url || "") ? m.url : null;
    body = safe ? h("a", {class: "msg-text", href: safe, target: "_blank", rel: "noopener noreferrer"}, safe)
      : h("span", {class: "msg-text"}, m.url || "");
  } else body = h("span", {class: "msg-text"}, m.text ?? "");
  const meta = h("span", {class: "msg-meta"},
    kind === "system" ? null : h("span", {class: "msg-who"}, who),
    audience ? h("span", {class: "msg-audience"}, audience) : null,
    h("time", {}, timeOf(m)),
    m.status ? h("span", {class: `msg-status status-${String(m.status).toLowerCase()}`,
      title: "Delivery status"}, String(m.status).toLowerCase()) : null);
  const media = kind === "system" ? null : renderMedia(m, who);
  if (media && !m.text) body = null; // a picture alone: no empty bubble line
  return h("li", {class: classes.join(" "), dataset: {index: m.index, type: m.type}}, body, media, meta);
}
