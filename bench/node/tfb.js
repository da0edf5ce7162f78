// The Node.js peer of bench/tfb.sh (issue 13): the six TechEmpower tests with
// Node's own http module and the npm `pg` package (a Pool of TFB_DB_POOL
// connections, unnamed statements, like bench/node/db.js). Same routes and
// rules as bench/tfb/app.lua. TFB_CLUSTER=1: the cluster module, one process
// per CPU (os.availableParallelism()), each with its own pool.
'use strict';
const cluster = require('cluster');
const os = require('os');

if (process.env.TFB_CLUSTER === '1' && cluster.isPrimary) {
  const n = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  for (let i = 0; i < n; i++) cluster.fork();
  cluster.on('exit', () => process.exit(1));
} else {
  serve();
}

function serve() {
  const http = require('http');
  const { Pool } = require('pg');
  const pool = new Pool({ connectionString: process.env.TFB_DB_URL, max: Number(process.env.TFB_DB_POOL || 8),
    idleTimeoutMillis: 0 }); // keep connections, as Rover's pool does (pg's default closes idle ones after 10 s)
  const SELECT_WORLD = 'SELECT id, randomnumber FROM world WHERE id = $1';
  const SELECT_FORTUNES = 'SELECT id, message FROM fortune';
  const rnd = () => 1 + Math.floor(Math.random() * 10000);
  const row = (id) => pool.query(SELECT_WORLD, [id]).then((r) => ({ id: r.rows[0].id, randomNumber: r.rows[0].randomnumber }));

  const send = (res, type, body) => {
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), Server: 'Node' });
    res.end(body);
  };
  const json = (res, v) => send(res, 'application/json', JSON.stringify(v));
  const fail = (res) => (e) => { res.writeHead(500, { Server: 'Node', 'Content-Length': 0 }); res.end(); console.error(e); };

  // TFB: missing, not an integer or < 1 -> 1; > 500 -> 500.
  const count = (query) => {
    const m = /(?:^|&)queries=([^&]*)/.exec(query || '');
    const n = m && /^\d+$/.test(m[1]) ? parseInt(m[1], 10) : 1;
    return n < 1 ? 1 : n > 500 ? 500 : n;
  };

  const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  const escape = (s) => s.replace(/[&<>"']/g, (c) => ESC[c]);

  const updateSql = new Map();
  const updateStatement = (n) => {
    let sql = updateSql.get(n);
    if (!sql) {
      const v = [];
      for (let i = 0; i < n; i++) v.push(`($${2 * i + 1}::int, $${2 * i + 2}::int)`);
      sql = `UPDATE world SET randomnumber = v.r FROM (VALUES ${v.join(', ')}) AS v(id, r) WHERE world.id = v.id`;
      updateSql.set(n, sql);
    }
    return sql;
  };

  http.createServer((req, res) => {
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const query = q < 0 ? '' : req.url.slice(q + 1);
    switch (path) {
      case '/plaintext':
        return send(res, 'text/plain', 'Hello, World!');
      case '/json':
        return json(res, { message: 'Hello, World!' });
      case '/db':
        return row(rnd()).then((v) => json(res, v), fail(res));
      case '/queries': {
        const n = count(query), all = [];
        for (let i = 0; i < n; i++) all.push(row(rnd()));
        return Promise.all(all).then((v) => json(res, v), fail(res));
      }
      case '/fortunes':
        return pool.query(SELECT_FORTUNES).then((r) => {
          const rows = r.rows;
          rows.push({ id: 0, message: 'Additional fortune added at request time.' });
          rows.sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0));
          let html = '<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>';
          for (const f of rows) html += `<tr><td>${f.id}</td><td>${escape(f.message)}</td></tr>`;
          send(res, 'text/html; charset=utf-8', html + '</table></body></html>');
        }, fail(res));
      case '/updates': {
        const n = count(query), ids = new Set(), all = [];
        while (ids.size < n) ids.add(rnd());
        for (const id of ids) all.push(row(id));
        return Promise.all(all).then((rows) => {
          for (const w of rows) w.randomNumber = rnd();
          const sorted = rows.slice().sort((a, b) => a.id - b.id), params = [];
          for (const w of sorted) params.push(w.id, w.randomNumber);
          return pool.query(updateStatement(n), params).then(() => json(res, rows));
        }).catch(fail(res));
      }
      default:
        res.writeHead(404, { Server: 'Node', 'Content-Length': 0 });
        return res.end();
    }
  }).listen(Number(process.env.PORT), '127.0.0.1');
}
