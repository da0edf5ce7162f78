// The Node.js peer of bench/ws.py (issue #12): Node's http module and the npm
// `ws` package (no bufferutil / utf-8-validate native add-ons), the protocol
// of bench/app/ws.lua on path /echo:
//   {"type":"echo","text":T} -> {"type":"echo","text":T} to the sender
//   {"type":"go","t":N}      -> {"type":"tick","t":N} to every client
// PORT: the port. WORKERS: 1 (default) = one process; N > 1 = the cluster
// module, N worker processes sharing the port (the primary hands out the
// connections); a `go` is then sent to the worker's own clients and, through
// the primary (process messaging), to the other workers' clients.
'use strict';
const cluster = require('cluster');
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS || 1);

function serve(onBroadcast) {
  const server = http.createServer((req, res) => { res.writeHead(426); res.end(); });
  const wss = new WebSocketServer({ server, path: '/echo' });
  const toAll = (text) => { for (const c of wss.clients) c.send(text); };
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg;
      try { msg = JSON.parse(data); } catch (e) { return; }
      if (msg === null || typeof msg !== 'object') return;
      if (msg.type === 'echo') {
        ws.send(JSON.stringify({ type: 'echo', text: msg.text }));
      } else if (msg.type === 'go') {
        const text = JSON.stringify({ type: 'tick', t: msg.t });
        toAll(text);
        if (onBroadcast) onBroadcast(text);
      }
    });
  });
  server.listen(port, '127.0.0.1', () => { if (!cluster.isWorker) console.log('listening'); });
  return toAll;
}

if (workers <= 1) {
  serve(null);
} else if (cluster.isPrimary) {
  const all = [];
  for (let i = 0; i < workers; i++) all.push(cluster.fork());
  for (const w of all) {
    w.on('message', (m) => { for (const o of all) if (o !== w) o.send(m); });
  }
  let up = 0;
  cluster.on('listening', () => { if (++up === workers) console.log('listening'); });
} else {
  const toAll = serve((text) => process.send(text));
  process.on('message', (text) => toAll(text));
}
