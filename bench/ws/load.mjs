// Opens N authenticated WebSocket connections (bearer subprotocol), subscribes each to "system",
// then triggers BROADCASTS broadcasts through the API and measures, per broadcast, how long each
// client waited for it (server publish time to client receipt).
//   node load.mjs PORT TOKEN N BROADCASTS
import http from 'node:http';
import WebSocket from 'ws';

const [port, token, nArg, bArg] = process.argv.slice(2);
const N = Number(nArg || 10000), BROADCASTS = Number(bArg || 5);
const base = `ws://127.0.0.1:${port}/api/v1/ws`;
let ready = 0, failed = 0;
const clients = [];
const pending = new Map();  // broadcast seq -> {sent, latencies[]}

function open() {
  return new Promise((resolve) => {
    const ws = new WebSocket(base, ['c19ai.v1', `bearer.${token}`], { perMessageDeflate: false });
    let subscribed = false;
    ws.on('message', (raw) => {
      const m = JSON.parse(raw);
      if (m.type === 'ack' && m.op === 'auth') ws.send(JSON.stringify({ op: 'subscribe', room: 'system' }));
      else if (m.type === 'ack' && m.op === 'subscribe' && !subscribed) { subscribed = true; ready++; resolve(true); }
      else if (m.type === 'bench.broadcast') {
        const p = pending.get(m.data.seq);
        if (p) p.latencies.push(Date.now() - m.data.sent);
      }
    });
    ws.on('error', () => { failed++; resolve(false); });
    ws.on('close', (code) => { if (!subscribed) { failed++; resolve(false); } });
    clients.push(ws);
  });
}

function post(path, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Authorization': `Bearer ${token}`, 'Content-Length': data.length } },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end(data);
  });
}

const t0 = Date.now();
for (let i = 0; i < N; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, N - i) }, open));
}
console.log(`connected ${ready}/${N} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${failed} failed)`);
console.log('READY');  // the driver samples the server's memory now
await new Promise((r) => setTimeout(r, 1500));

const results = [];
for (let b = 1; b <= BROADCASTS; b++) {
  const p = { latencies: [] };
  pending.set(b, p);
  const sent = Date.now();
  await post('/api/v1/realtime/broadcast', { room: 'system', type: 'bench.broadcast', data: { seq: b, sent } });
  const deadline = Date.now() + 10000;
  while (p.latencies.length < ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  const l = p.latencies.sort((a, b) => a - b);
  const q = (f) => l.length ? l[Math.min(l.length - 1, Math.floor(f * l.length))] : NaN;
  results.push({ delivered: l.length, p50: q(0.5), p99: q(0.99), max: l[l.length - 1] });
  console.log(`broadcast ${b}: delivered ${l.length}/${ready}, p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${l[l.length - 1]} ms`);
  await new Promise((r) => setTimeout(r, 500));
}
const p99s = results.map((r) => r.p99).sort((a, b) => a - b);
console.log(`SUMMARY connections=${ready} median_p99_ms=${p99s[Math.floor(p99s.length / 2)]} ` +
            `all_delivered=${results.every((r) => r.delivered === ready)}`);
for (const ws of clients) ws.terminate();
process.exit(0);
