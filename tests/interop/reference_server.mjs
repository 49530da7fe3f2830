// The CometD project's reference Bayeux server (`cometd-nodejs-server`, long-polling only), used to check
// that the interop harness itself is sound. Usage: node reference_server.mjs TIMEOUT_MS MAX_INTERVAL_MS
// It prints {"port": N} once listening on 127.0.0.1, then reads commands on stdin, one JSON per line:
//   {"publish": CHANNEL, "data": {...}}      deliver an event to the channel's subscribers
import {createRequire} from "node:module";
import * as http from "node:http";
import * as readline from "node:readline";

const require = createRequire(import.meta.url);
const {createCometDServer} = require("cometd-nodejs-server");

const [timeout, maxInterval] = process.argv.slice(2).map(Number);
const cometd = createCometDServer({timeout, maxInterval});

const server = http.createServer(cometd.handle);
server.listen(0, "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({port: server.address().port}) + "\n");
});

readline.createInterface({input: process.stdin}).on("line", (line) => {
    const command = JSON.parse(line);
    if (command.publish) {
        const channel = cometd.getServerChannel(command.publish) || cometd.createServerChannel(command.publish);
        channel.publish(null, command.data);
    }
});
