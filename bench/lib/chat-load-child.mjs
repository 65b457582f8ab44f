// A separate socket load-generator process (the `ws` package). Reads on stdin:
//   { rooms: [{ url, clients: [{ headers }] }], mode: "rate" | "burst", rate, durationMs, burst,
//     protocol: "ours" | "reference" }
// rate:  every client sends `rate` messages/s (random phase) for durationMs;
// burst: every client sends `burst` messages at once; the clock stops at the last ack/delivery.
// Measures ack (send → ack on the sender) and delivery (send → message at each other client of
// the room), and completeness: how many of the expected deliveries and acks arrived within
// WINDOW_MS of the last send. "ours" is the platform's protocol and the bare room's (which
// echoes it); "reference" is cloudflare/workers-chat-demo's (`{"name"}` first, then
// `{"message"}`; no ack, the sender gets its own message back). Prints one JSON line.
// Bounded: ≤ 2,000 sockets, ≤ 60 s of sending, 15 s drain.
import { randomBytes } from "node:crypto";
import os from "node:os";
import WebSocket from "ws";

const WINDOW_MS = 2000;
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const cfg = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const reference = cfg.protocol === "reference";
const total = cfg.rooms.reduce((n, r) => n + r.clients.length, 0);
if (total > 2000) throw new Error("at most 2,000 sockets");
for (const r of cfg.rooms) if (new URL(r.url).hostname !== "127.0.0.1") throw new Error("loopback only");
const durationMs = Math.min(cfg.durationMs ?? 5000, 60_000);
const loadAvg = os.loadavg()[0];

const sentAt = new Map();
const ack = [];
const delivery = [];
const counts = { sent: 0, acked: 0, delivered: 0, errors: 0, closed: 0 };
const closeCodes = {};
const errorCodes = {};
let closing = false;
let expectedDeliveries = 0;
let lastEvent = 0;
let lastSend = 0;
/** Arrival times, to count what came within WINDOW_MS of the last send once sending stops. */
const ackTimes = [];
const deliveryTimes = [];
// Client ids unique across runs, so a reference room's replayed backlog never matches.
const runTag = randomBytes(4).toString("hex");

function onFrame(ws, f, t) {
  if (reference) {
    // {name, message, timestamp}; the message text is the client id. The sender's own copy is its "ack".
    const sent = typeof f.message === "string" ? sentAt.get(f.message) : undefined;
    if (sent === undefined) return;
    if (f.name === ws.benchName) {
      ack.push(t - sent);
      ackTimes.push(t);
      counts.acked++;
    } else {
      delivery.push(t - sent);
      deliveryTimes.push(t);
      counts.delivered++;
    }
    lastEvent = t;
    return;
  }
  const sent = f.client_id ? sentAt.get(f.client_id) : undefined;
  if (f.type === "ack" && sent !== undefined) {
    ack.push(t - sent);
    ackTimes.push(t);
    counts.acked++;
    lastEvent = t;
  } else if (f.type === "message" && sent !== undefined) {
    delivery.push(t - sent);
    deliveryTimes.push(t);
    counts.delivered++;
    lastEvent = t;
  } else if (f.type === "error" || (reference && f.error)) {
    counts.errors++;
    errorCodes[f.code ?? "error"] = (errorCodes[f.code ?? "error"] ?? 0) + 1;
  }
}

function open(url, headers, name) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    ws.benchName = name;
    // Generous: on the shared machine under load, 100 upgrades can take tens of seconds.
    const timer = setTimeout(() => reject(new Error(`connect timeout ${url}`)), 60_000);
    ws.once("open", () => {
      clearTimeout(timer);
      if (reference) ws.send(JSON.stringify({ name }));
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
      onFrame(ws, f, t);
    });
  });
}

const rooms = [];
let opened = 0;
for (const r of cfg.rooms) {
  const sockets = [];
  for (let i = 0; i < r.clients.length; i += 25) {
    const batch = r.clients.slice(i, i + 25).map((c) => open(r.url, c.headers, `u${opened++}`));
    sockets.push(...(await Promise.all(batch)));
  }
  rooms.push(sockets);
}
// Let welcome/presence (and the reference's join/backlog) frames settle before the clock starts.
await new Promise((r) => setTimeout(r, 500));

let seqNo = 0;
function sendFrom(ws, peers) {
  const clientId = `c${seqNo++}-${runTag}`;
  const t = performance.now();
  sentAt.set(clientId, t);
  lastSend = t;
  const frame = reference
    ? { message: clientId }
    : { type: "message", client_id: clientId, body: `bench ${clientId}` };
  ws.send(JSON.stringify(frame));
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

const deadline = lastSend + WINDOW_MS;
const within = (times) => times.filter((t) => t <= deadline);
const inWindow = within(deliveryTimes);
// Delivery rate: deliveries that made the window, over first send → the last of them.
const lastInWindow = inWindow.reduce((a, b) => Math.max(a, b), started);
// Delivery latency by the second its message was sent in: shows whether a tail is a warm-up, a
// periodic stall (e.g. drains aligning) or spread evenly. Computed before summary() sorts in place.
const bySecond = [];
for (let i = 0; i < delivery.length; i++) {
  const s = Math.floor((deliveryTimes[i] - delivery[i] - started) / 1000);
  if (s < 0) continue;
  bySecond[s] ??= [];
  bySecond[s].push(delivery[i]);
}
// BENCH_CHAT_DUMP=<file>: one line per side, [send time, latency] of every delivery in epoch ms,
// for bench/timeline.mjs to line up with what else the runtime did (see that file).
if (process.env.BENCH_CHAT_DUMP) {
  const { appendFileSync } = await import("node:fs");
  const o = performance.timeOrigin;
  const d = delivery.map((x, i) => [Math.round(o + deliveryTimes[i] - x), Math.round(x * 10) / 10]);
  appendFileSync(
    process.env.BENCH_CHAT_DUMP,
    `${JSON.stringify({ url: cfg.rooms[0]?.url, started: o + started, ended: o + performance.now(), d })}\n`,
  );
}
const summary = (xs) => {
  const s = xs.sort((a, b) => a - b);
  const p = (q) => (s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : null);
  return { n: s.length, p50: p(0.5), p99: p(0.99), max: s.length ? s[s.length - 1] : null };
};
console.log(
  JSON.stringify({
    sockets: total,
    load_avg: loadAvg,
    counts,
    close_codes: closeCodes,
    error_codes: errorCodes,
    expected_deliveries: expectedDeliveries,
    // Fractions of what was expected that arrived within WINDOW_MS of the last send.
    delivered_within_window: expectedDeliveries ? inWindow.length / expectedDeliveries : null,
    acked_within_window: reference ? null : counts.sent ? within(ackTimes).length / counts.sent : null,
    deliveries_per_s: inWindow.length / Math.max(0.001, (lastInWindow - started) / 1000),
    elapsed_s: elapsed,
    msgs_per_s: counts.acked / elapsed,
    ack: summary(ack),
    delivery: summary(delivery),
    delivery_by_second: bySecond.map((xs) => {
      const { n, p50, p99, max } = summary(xs ?? []);
      return { n, p50, p99, max };
    }),
  }),
);
process.exit(0);
