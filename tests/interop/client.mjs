// A CometD client driven by the Python interop tests: the official `cometd` 9 library running under Node
// through `cometd-nodejs-client`. Usage:
//   node client.mjs URL TRANSPORT USER PASSWORD CHANNEL [FLAGS]
// TRANSPORT is "long-polling" or "websocket". FLAGS, comma-separated: "ack" (the ack extension),
// "messagesUpdated" (the handshake ext flag asking for delivery-status notifications, docs/notifications.md). It prints one JSON object per line on stdout
// ({"event": "handshake" | "subscribed" | "message" | "connect" | "disconnected", ...}) and obeys
// commands read line by line on stdin: "disconnect", "unsubscribe", "exit".
import {adapt} from "cometd-nodejs-client";
import {AckExtension, CometD} from "cometd";
import * as ws from "ws";
import * as readline from "node:readline";

const [url, transport, user, password, channel, flagList] = process.argv.slice(2);
const flags = (flagList ?? "").split(",");
const authorization = "Basic " + Buffer.from(`${user}:${password}`).toString("base64");

adapt();
// `requestHeaders` only reach HTTP requests: give the websocket upgrade the same Authorization header.
class AuthWebSocket extends ws.WebSocket {
    constructor(address, protocols) {
        super(address, protocols, {headers: {Authorization: authorization}});
    }
}
globalThis.window.WebSocket = AuthWebSocket;

const emit = (event, fields = {}) => process.stdout.write(JSON.stringify({event, ...fields}) + "\n");

const cometd = new CometD();
if (flags.includes("ack")) {
    cometd.registerExtension("ack", new AckExtension());
}
for (const type of cometd.getTransportTypes()) {
    if (type !== transport) {
        cometd.unregisterTransport(type);
    }
}
cometd.configure({url, requestHeaders: {Authorization: authorization}, logLevel: "warn", maxNetworkDelay: 5000});

let subscription = null;
cometd.addListener("/meta/handshake", (reply) => {
    emit("handshake", {successful: reply.successful, error: reply.error ?? null, clientId: reply.clientId ?? null, transport: cometd.getTransport()?.type ?? null, ext: reply.ext ?? null});
    if (reply.successful) {
        subscription = cometd.subscribe(channel, (message) => emit("message", {channel: message.channel, data: message.data}),
            (sub) => emit("subscribed", {successful: sub.successful, error: sub.error ?? null}));
    }
});
cometd.addListener("/meta/connect", (reply) => {
    if (!reply.successful) {
        emit("connect", {successful: false, error: reply.error ?? null, advice: reply.advice ?? null});
    }
});
if (flags.includes("messagesUpdated")) {
    cometd.handshake({ext: {messagesUpdated: true}});
} else {
    cometd.handshake();
}

const rl = readline.createInterface({input: process.stdin});
rl.on("line", (line) => {
    const command = line.trim();
    if (command === "unsubscribe" && subscription) {
        cometd.unsubscribe(subscription, (reply) => emit("unsubscribed", {successful: reply.successful}));
    } else if (command === "disconnect") {
        cometd.disconnect((reply) => emit("disconnected", {successful: reply.successful}));
    } else if (command === "exit") {
        process.exit(0);
    }
});
