// A separate socket load-generator process (the `ws` package). Reads on stdin:
//   { rooms: [{ url, clients: [{ headers }] }], mode: "rate" | "burst", rate, durationMs, burst }
// rate:  every client sends `rate` messages/s (random phase) for durationMs;
// burst: every client sends `burst` messages at once; the clock stops at the last ack/delivery.
// Measures ack (send → ack on the sender) and delivery (send → message at each other client of
// the room). Prints one JSON line. Bounded: ≤ 2,000 sockets, ≤ 60 s of sending, 15 s drain.
import WebSocket from "ws";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const cfg = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const total = cfg.rooms.reduce((n, r) => n + r.clients.length, 0);
if (total > 2000) throw new Error("at most 2,000 sockets");
for (const r of cfg.rooms) if (new URL(r.url).hostname !== "127.0.0.1") throw new Error("loopback only");
const durationMs = Math.min(cfg.durationMs ?? 5000, 60_000);

const sentAt = new Map();
const ack = [];
const delivery = [];
const counts = { sent: 0, acked: 0, delivered: 0, errors: 0, closed: 0 };
const closeCodes = {};
const errorCodes = {};
let closing = false;
let expectedDeliveries = 0;
let lastEvent = 0;

function open(url, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error(`connect timeout ${url}`)), 15_000);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    ws.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`upgrade refused ${res.statusCode}`));
    });
    ws.on("close", (code) => {
      if (closing) return;
      counts.closed++;
      closeCodes[code] = (closeCodes[code] ?? 0) + 1;
    });
    ws.on("message", (data) => {
      const t = performance.now();
      let f;
      try {
        f = JSON.parse(String(data));
      } catch {
        return;
      }
      const sent = f.client_id ? sentAt.get(f.client_id) : undefined;
      if (f.type === "ack" && sent !== undefined) {
        ack.push(t - sent);
        counts.acked++;
        lastEvent = t;
      } else if (f.type === "message" && sent !== undefined) {
        delivery.push(t - sent);
        counts.delivered++;
        lastEvent = t;
      } else if (f.type === "error") {
        counts.errors++;
        errorCodes[f.code] = (errorCodes[f.code] ?? 0) + 1;
      }
    });
  });
}

const rooms = [];
for (const r of cfg.rooms) {
  const sockets = [];
  for (let i = 0; i < r.clients.length; i += 25) {
    sockets.push(...(await Promise.all(r.clients.slice(i, i + 25).map((c) => open(r.url, c.headers)))));
  }
  rooms.push(sockets);
}
// Let welcome/presence frames settle before the clock starts.
await new Promise((r) => setTimeout(r, 500));

let seqNo = 0;
function sendFrom(ws, peers) {
  const clientId = `c${seqNo++}-${process.pid}`;
  sentAt.set(clientId, performance.now());
  ws.send(JSON.stringify({ type: "message", client_id: clientId, body: `bench ${clientId}` }));
  counts.sent++;
  expectedDeliveries += peers - 1;
}

const started = performance.now();
if (cfg.mode === "burst") {
  for (const sockets of rooms)
    for (const ws of sockets) for (let k = 0; k < cfg.burst; k++) sendFrom(ws, sockets.length);
} else {
  const period = 1000 / (cfg.rate ?? 1);
  const timers = [];
  for (const sockets of rooms) {
    for (const ws of sockets) {
      const phase = Math.random() * period;
      timers.push(
        setTimeout(() => {
          sendFrom(ws, sockets.length);
          timers.push(setInterval(() => sendFrom(ws, sockets.length), period));
        }, phase),
      );
    }
  }
  await new Promise((r) => setTimeout(r, durationMs));
  for (const t of timers) clearInterval(t);
}
const drainUntil = performance.now() + 15_000;
while (
  (counts.acked < counts.sent || counts.delivered < expectedDeliveries) &&
  performance.now() < drainUntil
) {
  await new Promise((r) => setTimeout(r, 10));
}
const elapsed = ((cfg.mode === "burst" ? lastEvent : performance.now()) - started) / 1000;
closing = true;
for (const sockets of rooms) for (const ws of sockets) ws.close(1000, "bench done");

const summary = (xs) => {
  const s = xs.sort((a, b) => a - b);
  const p = (q) => (s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : null);
  return { n: s.length, p50: p(0.5), p99: p(0.99), max: s.length ? s[s.length - 1] : null };
};
console.log(
  JSON.stringify({
    sockets: total,
    counts,
    close_codes: closeCodes,
    error_codes: errorCodes,
    expected_deliveries: expectedDeliveries,
    elapsed_s: elapsed,
    msgs_per_s: counts.acked / elapsed,
    deliveries_per_s: counts.delivered / elapsed,
    ack: summary(ack),
    delivery: summary(delivery),
  }),
);
process.exit(0);
