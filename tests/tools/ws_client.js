// A WebSocket client driven line by line, for tests/integration/test_websocket.py:
// the npm `ws` package (what Node apps use) as an independent implementation.
//   node ws_client.js URL [header=value ...]
// stdin, one JSON command per line:
//   {"send": <value>}    sends JSON.stringify(value) as a text message
//   {"binary": "<hex>"}  sends bytes
//   {"ping": "<text>"}   sends a ping
//   {"close": code}      starts the close handshake
// stdout, one JSON event per line: {"open": {headers}}, {"message": <parsed JSON>},
// {"pong": "<text>"}, {"close": code, "reason": "..."}, {"error": "..."}
const WebSocket = require("ws");
const readline = require("readline");

const [url, ...hdrs] = process.argv.slice(2);
const headers = {};
for (const h of hdrs) {
  const i = h.indexOf("=");
  headers[h.slice(0, i)] = h.slice(i + 1);
}
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const ws = new WebSocket(url, { headers });
ws.on("upgrade", (res) => out({ open: res.headers }));
ws.on("unexpected-response", (req, res) => {
  let body = "";
  res.on("data", (d) => (body += d));
  res.on("end", () => {
    out({ refused: res.statusCode, body });
    process.exit(0);
  });
});
ws.on("message", (data, isBinary) => {
  out(isBinary ? { binary: data.toString("hex") } : { message: JSON.parse(data.toString()) });
});
ws.on("pong", (data) => out({ pong: data.toString() }));
ws.on("close", (code, reason) => {
  out({ close: code, reason: reason.toString() });
  process.exit(0);
});
ws.on("error", (e) => out({ error: String(e.message || e) }));
const pending = [];
const run = (cmd) => {
  if ("send" in cmd) ws.send(JSON.stringify(cmd.send));
  else if ("binary" in cmd) ws.send(Buffer.from(cmd.binary, "hex"));
  else if ("ping" in cmd) ws.ping(cmd.ping);
  else if ("close" in cmd) ws.close(cmd.close);
};
ws.on("open", () => {
  while (pending.length) run(pending.shift());
});
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  if (ws.readyState === WebSocket.OPEN) run(cmd);
  else pending.push(cmd);
});
