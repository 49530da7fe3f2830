// The media of a transcript message (an MMS's pictures; docs/api.md, "Media"): pictures inline, sized to the
// pane and opening full size in a new tab; other media as a link; media the server could not keep as a note.
// The bytes come from GET /api/v2/media/{id} on this origin (the JSESSIONID cookie authorises them).
import {h} from "./dom.js";

const INLINE = new Set(["image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"]);
const PATH = /^\/media\/[0-9A-Za-z_-]{1,64}$/;

function sizeText(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n <= 0) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

function kindName(type) {
  const major = String(type || "").split("/")[0];
  return {image: "Picture", audio: "Audio", video: "Video"}[major] || "File";
}

// A picture that loads after the transcript scrolled to its end would push the end out of view: follow it.
function keepEndInView(ev) {
  const img = ev.target;
  const list = img.closest(".transcript");
  if (!list) return;
  const below = list.scrollHeight - list.scrollTop - list.clientHeight;
  if (below <= img.offsetHeight + 48) list.scrollTop = list.scrollHeight;
}

function item(media, who) {
  const type = String(media.contentType || "");
  const name = kindName(type);
  const url = media.available && PATH.test(media.path || "") ? `/api/v2${media.path}` : null;
  if (!url) {
    return h("span", {class: "msg-media msg-media-gone"},
      `${name} not available${media.reason ? ": " + media.reason : ""}`);
  }
  const details = [type, sizeText(media.size)].filter(Boolean).join(", ");
  if (INLINE.has(type)) {
    const alt = `${name} from ${who || "the customer"} (${details})`;
    return h("a", {class: "msg-media msg-media-link", href: url, target: "_blank", rel: "noopener",
      title: "Open full size"}, h("img", {class: "msg-media-img", src: url, alt, onload: keepEndInView}));
  }
  return h("a", {class: "msg-media msg-media-file", href: url, target: "_blank", rel: "noopener"},
    `${name} (${details})`);
}

// The message's media as one element, or null when it has none.
export function renderMedia(m, who) {
  const list = Array.isArray(m.media) ? m.media.filter((x) => x && typeof x === "object") : [];
  if (!list.length) return null;
  return h("span", {class: "msg-media-list"}, list.map((x) => item(x, who)));
}

// A short note of a message's media for lists that show no media (the customer's previous conversations,
// where a picture of a session the agent had no part in is not theirs to fetch): "(1 picture)".
export function mediaSummary(m) {
  const list = Array.isArray(m.media) ? m.media : [];
  if (!list.length) return "";
  const pictures = list.every((x) => x && kindName(x.contentType) === "Picture");
  const noun = pictures ? "picture" : "attachment";
  return `(${list.length} ${noun}${list.length === 1 ? "" : "s"})`;
}
