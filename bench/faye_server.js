// The Faye Bayeux server (npm faye 1.4.3) for the CometD fan-out side-by-side of `smsdesk bench fanout`.
// Usage: node faye_server.js [port]   (port 0 = any free port). Prints one JSON line {"port": N} when
// listening, then serves /faye (long-polling and websocket) until killed. No extensions, default engine
// (in-memory), so it does the same job as smsdesk's hub: hold connects and fan messages out.
"use strict";
const http = require("http");
const faye = require("faye");

const port = Number(process.argv[2] || 0);
const bayeux = new faye.NodeAdapter({ mount: "/faye", timeout: 30 });
const server = http.createServer();
bayeux.attach(server);
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
process.on("SIGTERM", () => process.exit(0));
