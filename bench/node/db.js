// The Node.js peer of bench/db.py: Node's own http module and the npm `pg`
// package (a Pool of DB_POOL connections), one process. Same routes as
// bench/app/db.lua: GET /db and GET /queries?queries=N.
'use strict';
const http = require('http');
const { Pool } = require('pg');

const pool = new Pool({ connectionString: process.env.DB_URL, max: Number(process.env.DB_POOL || 8) });
const SQL = 'SELECT id, randomnumber FROM world WHERE id = $1';
const rnd = () => 1 + Math.floor(Math.random() * 10000);
const row = () => pool.query(SQL, [rnd()]).then((r) => ({ id: r.rows[0].id, randomNumber: r.rows[0].randomnumber }));

function send(res, value) {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Server: 'node' });
  res.end(body);
}

http.createServer((req, res) => {
  const [path, query] = req.url.split('?');
  if (path === '/db') {
    row().then((v) => send(res, v), () => { res.writeHead(500); res.end(); });
  } else if (path === '/queries') {
    const m = /(?:^|&)queries=([^&]*)/.exec(query || '');
    let n = m ? parseInt(m[1], 10) : 1;
    if (!(n >= 1)) n = 1; else if (n > 500) n = 500;
    const all = [];
    for (let i = 0; i < n; i++) all.push(row());
    Promise.all(all).then((v) => send(res, v), () => { res.writeHead(500); res.end(); });
  } else {
    res.writeHead(404); res.end();
  }
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
