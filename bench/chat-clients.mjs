// node bench/chat-clients.mjs [--clients 10] [--messages 10] [--interval 600] [--timeout 60]
//                             [--url http://127.0.0.1:8787] [--token <jwt>] [--json]
//
// Connects N WebSocket clients (Node 22's global WebSocket) to one support ticket on a running
// `npm start` platform and measures, per message:
//   ack      = send → `ack` on the sending socket (stored in the room's SQLite: the delivery confirmation)
//   delivery = send → `message` on each other socket (fan-out)
// Tokens are signed HS256 with JWT_SECRET from .dev.vars (half the clients as the ticket owner,
// half as an admin agent), or --token is used for every client. Clients authenticate with the
// browser path, `Sec-WebSocket-Protocol: bearer, <jwt>`.
//
// Bounded: at most 200 clients × 1000 messages, a hard --timeout (≤ 300 s), loopback URLs only.
// The room's per-connection token bucket refills at 2 frames/s, so the default --interval of
// 600 ms stays under it; faster intervals measure the limiter (counted as rate_limited).
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { readDevVars } from "../scripts/lib/dev-vars.mjs";
import { signDevToken } from "../scripts/lib/token.mjs";
import { intOption, loopbackUrl } from "./lib/cli.mjs";
import { summarize } from "./lib/stats.mjs";

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: "string", default: "10" },
      messages: { type: "string", default: "10" },
      interval: { type: "string", default: "600" },
      timeout: { type: "string", default: "60" },
      url: { type: "string", default: "http://127.0.0.1:8787" },
      token: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const int = (name, min, max) => intOption(values, name, min, max);
  const base = loopbackUrl(values.url);
  return {
    clients: int("clients", 2, 200),
    messages: int("messages", 1, 1000),
    intervalMs: int("interval", 0, 60_000),
    timeoutMs: int("timeout", 1, 300) * 1000,
    base,
    token: values.token,
    json: values.json,
  };
}

async function identities(opts) {
  if (opts.token) return { owner: opts.token, agent: opts.token };
  const { JWT_SECRET } = readDevVars();
  if (!JWT_SECRET)
    throw new Error("JWT_SECRET missing from .dev.vars: run `npm start` once, or pass --token");
  return {
    owner: await signDevToken(JWT_SECRET, { role: "user", sub: randomUUID(), expiresIn: "1h" }),
    agent: await signDevToken(JWT_SECRET, { role: "admin", sub: randomUUID(), expiresIn: "1h" }),
  };
}

async function createTicket(base, token) {
  const res = await fetch(new URL("/api/v1/support/tickets", base), {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ subject: `bench ${new Date().toISOString()}` }),
  });
  if (res.status !== 201) throw new Error(`creating a ticket failed: ${res.status} ${await res.text()}`);
  return (await res.json()).id;
}

function open(url, token, onFrame) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ["bearer", token]);
    ws.addEventListener("open", () => resolve(ws), { once: true });
    ws.addEventListener("error", () => reject(new Error(`could not connect to ${url}`)), { once: true });
    ws.addEventListener("message", (e) => onFrame(JSON.parse(String(e.data))));
  });
}

export async function runChatClients(argv = process.argv.slice(2)) {
  const opts = options(argv);
  const tokens = await identities(opts);
  const ticketId = await createTicket(opts.base, tokens.owner);
  const wsUrl = new URL(`/ws/support/${ticketId}`, opts.base);
  wsUrl.protocol = wsUrl.protocol === "https:" ? "wss:" : "ws:";

  const sentAt = new Map(); // client_id → ms
  const ack = [];
  const delivery = [];
  const counts = { sent: 0, acked: 0, delivered: 0, rate_limited: 0, errors: 0 };
  const sockets = [];
  for (let i = 0; i < opts.clients; i++) {
    const ws = await open(wsUrl, i % 2 === 0 ? tokens.owner : tokens.agent, (f) => {
      const t = performance.now();
      if (f.type === "ack" && sentAt.has(f.client_id)) {
        ack.push(t - sentAt.get(f.client_id));
        counts.acked++;
      } else if (f.type === "message" && sentAt.has(f.client_id)) {
        delivery.push(t - sentAt.get(f.client_id));
        counts.delivered++;
      } else if (f.type === "error") {
        if (f.code === "RATE_LIMITED") counts.rate_limited++;
        else counts.errors++;
      }
    });
    sockets.push(ws);
  }

  const expectedAcks = opts.clients * opts.messages;
  const started = performance.now();
  const deadline = started + opts.timeoutMs;
  const senders = sockets.map(async (ws, c) => {
    for (let m = 0; m < opts.messages && performance.now() < deadline; m++) {
      const clientId = `b${c}-${m}`;
      sentAt.set(clientId, performance.now());
      ws.send(JSON.stringify({ type: "message", client_id: clientId, body: `bench ${clientId}` }));
      counts.sent++;
      if (opts.intervalMs > 0) await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
  });
  await Promise.all(senders);
  // Wait for the stragglers, bounded by the same deadline.
  while (counts.acked + counts.rate_limited < counts.sent && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const ws of sockets) ws.close(1000, "bench done");

  const ms = (s) =>
    Object.fromEntries(
      Object.entries(summarize(s)).map(([k, v]) => [k, k === "n" ? v : Math.round(v * 100) / 100]),
    );
  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length
      ? Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] * 100) / 100
      : null;
  };
  return {
    ticket_id: ticketId,
    clients: opts.clients,
    messages_per_client: opts.messages,
    interval_ms: opts.intervalMs,
    expected_acks: expectedAcks,
    duration_ms: Math.round(performance.now() - started),
    counts,
    ack_ms: { ...ms(ack), p90: pct(ack, 90) },
    delivery_ms: { ...ms(delivery), p90: pct(delivery, 90) },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const r = await runChatClients();
    if (process.argv.includes("--json")) console.log(JSON.stringify(r));
    else {
      console.log(
        `ticket ${r.ticket_id}: ${r.clients} clients × ${r.messages_per_client} messages in ${r.duration_ms} ms`,
      );
      console.log(`counts   ${JSON.stringify(r.counts)}`);
      for (const [name, s] of [
        ["ack", r.ack_ms],
        ["delivery", r.delivery_ms],
      ]) {
        console.log(
          `${name.padEnd(8)} n=${s.n} p50=${s.p50} ms p90=${s.p90} ms p99=${s.p99} ms max=${s.max} ms`,
        );
      }
    }
    process.exit(0);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
