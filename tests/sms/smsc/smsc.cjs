// A small store-and-forward SMSC for the SMPP adapter tests, built on the npm `smpp` server (0.5.1).
//
// Usage: node smsc.cjs <system_id> <password>   (listens on 127.0.0.1, an ephemeral port)
// Talks JSON lines: events on stdout, commands on stdin.
//   events:   {"event":"listening","port":N} {"event":"bind","system_id":..,"ok":bool}
//             {"event":"submit_sm","message_id","source","destination","esm_class","data_coding",
//              "udh":[hex..],"text","payload_text"}
//             {"event":"mo_acked","tag","status"} {"event":"enquire_link"} {"event":"closed"} {"event":"killed"}
//   commands: {"cmd":"mo","tag","from","to","text"}                 MO text (encoding chosen by `smpp`)
//             {"cmd":"mo_raw","tag","from","to","data_coding","parts":[hex..]}  concatenated MO (UDH in hex)
//             {"cmd":"dlr","tag","id","from","to","stat"}            delivery receipt for message `id`
//             {"cmd":"kill"}                                         destroy the client socket now
//             {"cmd":"kill_on_submit","count":N}                     destroy it on the next N submit_sm, unanswered
//             {"cmd":"reject_next","status":N}                       answer the next submit_sm with status N
// A command carrying "seq" is answered with {"event":"done","seq":..} once applied.
// Like a real SMSC, a deliver_sm that was not acknowledged (no deliver_sm_resp with status 0) is kept and
// delivered again after the next bind.
"use strict";
const smpp = require("smpp");
const readline = require("readline");

const [systemId, password] = process.argv.slice(2);
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
let current = null;               // the bound session
let nextId = 1;
let killOnSubmit = 0;
let rejectNext = null;
const pending = new Map();        // tag -> deliver_sm params, until acknowledged

function deliver(tag) {
  const params = pending.get(tag);
  if (!params || !current) return;
  const session = current;
  session.deliver_sm(Object.assign({}, params), (pdu) => {
    emit({ event: "mo_acked", tag, status: pdu.command_status });
    if (pdu.command_status === 0) pending.delete(tag);
  });
}

const server = smpp.createServer((session) => {
  session.on("error", () => {});
  session.on("close", () => { if (current === session) current = null; emit({ event: "closed" }); });
  session.on("bind_transceiver", (pdu) => {
    const ok = pdu.system_id === systemId && pdu.password === password;
    emit({ event: "bind", system_id: pdu.system_id, system_type: pdu.system_type, ok });
    if (!ok) { session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL })); session.close(); return; }
    session.send(pdu.response());
    current = session;
    for (const tag of pending.keys()) deliver(tag);
  });
  session.on("enquire_link", (pdu) => { emit({ event: "enquire_link" }); session.send(pdu.response()); });
  session.on("unbind", (pdu) => { session.send(pdu.response()); session.close(); });
  session.on("submit_sm", (pdu) => {
    if (killOnSubmit > 0) { killOnSubmit -= 1; session.socket.destroy(); emit({ event: "killed" }); return; }
    const sm = pdu.short_message || {};
    const event = {
      event: "submit_sm",
      source: pdu.source_addr, source_ton: pdu.source_addr_ton,
      destination: pdu.destination_addr, esm_class: pdu.esm_class, data_coding: pdu.data_coding,
      udh: (sm.udh || []).map((b) => Buffer.from(b).toString("hex")),
      text: typeof sm === "string" ? sm : (sm.message || ""),
      payload_text: pdu.message_payload ? (pdu.message_payload.message || String(pdu.message_payload)) : "",
    };
    // events go out before the response, so a test that saw the response also sees the event
    if (rejectNext !== null) {
      emit(Object.assign(event, { rejected: rejectNext }));
      session.send(pdu.response({ command_status: rejectNext }));
      rejectNext = null;
      return;
    }
    event.message_id = "m" + nextId++;
    emit(event);
    session.send(pdu.response({ message_id: event.message_id }));
  });
});

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const c = JSON.parse(line);
  if (c.cmd === "mo") {
    pending.set(c.tag, { source_addr: c.from, source_addr_ton: 1, source_addr_npi: 1,
      destination_addr: c.to, dest_addr_ton: 1, dest_addr_npi: 1, short_message: c.text });
    deliver(c.tag);
  } else if (c.cmd === "mo_raw") {
    c.parts.forEach((hex, i) => {
      const tag = c.tag + "#" + (i + 1);
      pending.set(tag, { source_addr: c.from, source_addr_ton: 1, source_addr_npi: 1,
        destination_addr: c.to, dest_addr_ton: 1, dest_addr_npi: 1, esm_class: 0x40,
        data_coding: c.data_coding, short_message: Buffer.from(hex, "hex") });
      deliver(tag);
    });
  } else if (c.cmd === "dlr") {
    const text = "id:" + c.id + " sub:001 dlvrd:" + (c.stat === "DELIVRD" ? "001" : "000") +
      " submit date:2611251200 done date:2611251201 stat:" + c.stat + " err:000 text:";
    pending.set(c.tag, { source_addr: c.from, source_addr_ton: 1, source_addr_npi: 1,
      destination_addr: c.to, dest_addr_ton: 1, dest_addr_npi: 1, esm_class: 0x04,
      short_message: text, receipted_message_id: c.id });
    deliver(c.tag);
  } else if (c.cmd === "kill") {
    if (current) { current.socket.destroy(); emit({ event: "killed" }); }
  } else if (c.cmd === "kill_on_submit") {
    killOnSubmit = c.count || 1;
  } else if (c.cmd === "reject_next") {
    rejectNext = c.status;
  }
  if (c.seq !== undefined) emit({ event: "done", seq: c.seq });
});

server.listen(0, "127.0.0.1", () => emit({ event: "listening", port: server.address().port }));
process.stdin.on("end", () => process.exit(0));
