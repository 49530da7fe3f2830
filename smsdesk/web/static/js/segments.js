// SMS segment counter of the reply box: the same policy as the server's splitter (smsdesk/sms/segments.py).
// GSM-7 when every character is in the GSM 03.38 basic or extension table (extension characters cost two
// septets), else UCS-2 (UTF-16 units, so an emoji costs two). One SMS holds 160 septets or 70 units; once
// concatenated, a segment holds 153 or 67, and an escape pair or a surrogate pair is never split.
// tests/browser/test_segments.py checks this port against the Python splitter on shared vectors.
const BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const BASIC_SET = new Set([...BASIC].filter((ch) => ch !== "\x1b"));
const EXTENSION_SET = new Set(["\x0c", "^", "{", "}", "\\", "[", "~", "]", "|", "€"]);

function gsmUnits(ch) {
  if (BASIC_SET.has(ch)) return 1;
  if (EXTENSION_SET.has(ch)) return 2;
  return null;
}

// {encoding: "GSM-7" | "UCS-2", units, segments, perSegment, left}: `left` is what still fits in the last
// segment. An empty text is 0 segments.
export function countSegments(text) {
  const chars = [...(text || "")]; // code points: a surrogate pair is one character here, as in Python
  const gsm = chars.every((ch) => gsmUnits(ch) !== null);
  const cost = gsm ? (ch) => gsmUnits(ch) : (ch) => (ch.codePointAt(0) > 0xffff ? 2 : 1);
  const single = gsm ? 160 : 70;
  const limit = gsm ? 153 : 67;
  const encoding = gsm ? "GSM-7" : "UCS-2";
  let units = 0;
  for (const ch of chars) units += cost(ch);
  if (chars.length === 0) return {encoding, units: 0, segments: 0, perSegment: single, left: single};
  if (units <= single) return {encoding, units, segments: 1, perSegment: single, left: single - units};
  let segments = 1;
  let used = 0;
  for (const ch of chars) {
    const c = cost(ch);
    if (used + c > limit) { segments += 1; used = 0; }
    used += c;
  }
  return {encoding, units, segments, perSegment: limit, left: limit - used};
}

// The line under the reply box, e.g. "GSM-7 · 1 SMS · 148 left" or "UCS-2 (emoji or accents) · 2 SMS".
export function describeSegments(text) {
  const c = countSegments(text);
  if (c.segments === 0) return "";
  const why = c.encoding === "UCS-2" ? " (special characters: 70 per SMS)" : "";
  return `${c.encoding}${why} · ${c.segments} SMS · ${c.left} left`;
}
