// node bench/chat-nothing-lost.mjs [--clients 50] [--messages 5000] [--tickets 5] [--timeout 240]
//                                  [--url http://127.0.0.1:8787] [--json]
//
// Issue 8 item 5 at full scale, against a running `npm start` (test/reliability/chat-load.test.ts
// is the same scenario at 10 clients × 500 messages inside the test runtime).
//
// N WebSocket clients (Node 22's global WebSocket, bearer subprotocol) are spread over T support
// tickets: per ticket the owner on two tabs and admins as agents. Each client sends its share of
// the messages, resends every 7th one at once with the same client_id, keeps every message until
// its ack, resends what stays unacked, and every fifth client drops its socket mid-run and
// resumes with `?since=<last seq seen>`. At the end it checks:
//   - acked: every client_id got an ack, and every ack for it names the same id and seq;
//   - lost = sent − acked; duplicated = client_ids acked with two different ids/seqs, or two
//     messages in one seq;
//   - D1: the REST history (GET /api/v1/support/tickets/{id}/messages, read from D1) holds each
//     message exactly once, seqs 1..n;
//   - order: every receiver's view (seq → id) of its ticket equals the history.
// Tokens are signed HS256 with JWT_SECRET from .dev.vars. The room's per-connection bucket
// (burst 10, 2 frames/s) is respected by pacing each client at 1.8 frames/s.
// Bounded: ≤ 200 clients, ≤ 20,000 messages, a hard --timeout (≤ 600 s), loopback URLs only.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { readDevVars } from "../scripts/lib/dev-vars.mjs";
import { signDevToken } from "../scripts/lib/token.mjs";
import { intOption, loopbackUrl } from "./lib/cli.mjs";

const RATE = 1.8;
const BURST = 8;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: "string", default: "50" },
      messages: { type: "string", default: "5000" },
      tickets: { type: "string", default: "5" },
      timeout: { type: "string", default: "240" },
      url: { type: "string", default: "http://127.0.0.1:8787" },
      json: { type: "boolean", default: false },
    },
  });
  const int = (name, min, max) => intOption(values, name, min, max);
  const base = loopbackUrl(values.url);
  const clients = int("clients", 2, 200);
  const tickets = int("tickets", 1, 50);
  if (clients < tickets * 2) throw new Error("need at least two clients per ticket");
  return {
    clients,
    tickets,
    messages: int("messages", clients, 20_000),
    timeoutMs: int("timeout", 10, 600) * 1000,
    base,
    json: values.json,
  };
}

class Pacer {
  tokens = BURST;
  at = Date.now();
  async take() {
    for (;;) {
      const t = Date.now();
      this.tokens = Math.min(BURST, this.tokens + ((t - this.at) / 1000) * RATE);
      this.at = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / RATE) * 1000));
    }
  }
}

/** A careful client: keeps each message until acked, resends with the same client_id, resumes with ?since=. */
class Client {
  view = new Map(); // seq → id as this client saw the ticket
  acks = new Map(); // client_id → [{id, seq, duplicate}]
  pending = new Map(); // client_id → body
  conflicts = [];
  rateLimited = 0;
  reconnects = 0;
  frames = 0;
  ws = null;

  constructor(name, token, ticketId, base) {
    Object.assign(this, { name, token, ticketId, base });
  }

  get lastSeq() {
    let max = 0;
    for (const s of this.view.keys()) if (s > max) max = s;
    return max;
  }

  note(seq, id) {
    const had = this.view.get(seq);
    if (had !== undefined && had !== id) this.conflicts.push(`seq ${seq}: ${had} and ${id}`);
    this.view.set(seq, id);
  }

  connect() {
    const url = new URL(`/ws/support/${this.ticketId}?since=${this.lastSeq}`, this.base);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.pacer = new Pacer();
    const seen = new Set();
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ["bearer", this.token]);
      ws.addEventListener("error", () => reject(new Error(`${this.name}: could not connect`)), {
        once: true,
      });
      ws.addEventListener("message", (e) => {
        const f = JSON.parse(String(e.data));
        if (f.type === "welcome") resolve();
        else if (f.type === "message") {
          this.frames++;
          if (seen.has(f.seq)) this.conflicts.push(`seq ${f.seq} delivered twice on one connection`);
          seen.add(f.seq);
          this.note(f.seq, f.id);
        } else if (f.type === "ack") {
          const list = this.acks.get(f.client_id) ?? [];
          list.push(f);
          this.acks.set(f.client_id, list);
          this.pending.delete(f.client_id);
          this.note(f.seq, f.id);
        } else if (f.type === "error" && f.code === "RATE_LIMITED") this.rateLimited++;
      });
      this.ws = ws;
    });
  }

  async send(cid, body) {
    this.pending.set(cid, body);
    await this.pacer.take();
    if (this.ws?.readyState === WebSocket.OPEN)
      this.ws.send(JSON.stringify({ type: "message", client_id: cid, body }));
  }

  async reconnect() {
    this.ws?.close(1000, "flaky network");
    this.reconnects++;
    await sleep(50);
    await this.connect();
    for (const [cid, body] of [...this.pending]) await this.send(cid, body);
  }

  async settle(deadline) {
    while (this.pending.size > 0 && Date.now() < deadline) {
      await sleep(500);
      if (this.ws?.readyState !== WebSocket.OPEN) await this.connect();
      for (const [cid, body] of [...this.pending]) await this.send(cid, body);
    }
  }

  close() {
    this.ws?.close(1000, "done");
  }
}

async function api(base, token, path, init = {}) {
  const res = await fetch(new URL(path, base), {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
  });
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Every message of the ticket from the REST history (D1), oldest first. */
async function history(base, token, ticketId) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ order: "asc", limit: "100", ...(cursor ? { cursor } : {}) });
    const body = await api(base, token, `/api/v1/support/tickets/${ticketId}/messages?${q}`);
    out.push(...body.items);
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return out;
}

async function main() {
  const opts = options(process.argv.slice(2));
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const hardStop = setTimeout(() => {
    console.error(`timed out after ${opts.timeoutMs / 1000} s`);
    process.exit(2);
  }, opts.timeoutMs + 30_000);
  const { JWT_SECRET } = readDevVars();
  if (!JWT_SECRET) throw new Error("JWT_SECRET missing from .dev.vars: run `npm start` once");
  const sign = (role) => signDevToken(JWT_SECRET, { role, sub: randomUUID(), expiresIn: "1h" });

  // Tickets, each with its owner on two tabs and admins (agents) for the other sockets.
  const tickets = [];
  for (let t = 0; t < opts.tickets; t++) {
    const owner = await sign("user");
    const { id } = await api(opts.base, owner, "/api/v1/support/tickets", {
      method: "POST",
      body: JSON.stringify({ subject: `nothing-lost ${t}` }),
    });
    tickets.push({ id, owner, clients: [], sent: new Map() });
  }
  const clients = [];
  for (let i = 0; i < opts.clients; i++) {
    const ticket = tickets[i % opts.tickets];
    const k = ticket.clients.length;
    const token = k < 2 ? ticket.owner : await sign("admin");
    const sender = k < 2 ? "owner" : `agent${k}`;
    const c = new Client(`t${i % opts.tickets}c${k}`, token, ticket.id, opts.base);
    c.sender = sender;
    ticket.clients.push(c);
    clients.push(c);
  }
  await Promise.all(clients.map((c) => c.connect()));

  const perClient = Math.floor(opts.messages / opts.clients);
  const extra = opts.messages - perClient * opts.clients;
  let resent = 0;
  await Promise.all(
    clients.map(async (c, i) => {
      const ticket = tickets.find((t) => t.id === c.ticketId);
      const mine = ticket.sent.get(c.sender) ?? new Set();
      ticket.sent.set(c.sender, mine);
      const n = perClient + (i < extra ? 1 : 0);
      for (let k = 0; k < n && Date.now() < deadline; k++) {
        const cid = `${c.name}-${k}`;
        mine.add(cid);
        await c.send(cid, `message ${k} from ${c.name}`);
        if (k % 7 === 3) {
          resent++;
          await c.send(cid, `message ${k} from ${c.name}`);
        }
        if (i % 5 === 1 && k === Math.floor(n / 2)) await c.reconnect();
      }
      await c.settle(deadline);
    }),
  );
  const sendMs = Date.now() - started;
  // Let the last broadcasts land before comparing views.
  await sleep(1500);

  const totals = {
    sent: 0,
    acked: 0,
    lost: 0,
    duplicated: 0,
    d1_rows: 0,
    d1_missing: 0,
    d1_extra: 0,
    order_mismatches: 0,
  };
  for (const ticket of tickets) {
    const truth = new Map();
    for (const [sender, cids] of ticket.sent) {
      const tabs = ticket.clients.filter((c) => c.sender === sender);
      for (const cid of cids) {
        totals.sent++;
        const acks = tabs.flatMap((c) => c.acks.get(cid) ?? []);
        if (acks.length === 0) continue;
        totals.acked++;
        const [first] = acks;
        if (acks.some((a) => a.id !== first.id || a.seq !== first.seq)) totals.duplicated++;
        if (truth.has(first.seq) && truth.get(first.seq) !== first.id) totals.duplicated++;
        truth.set(first.seq, first.id);
      }
    }
    // D1 through the REST history (the mirror is asynchronous: wait for it, bounded).
    let rows = [];
    for (let i = 0; i < 40; i++) {
      rows = await history(opts.base, ticket.owner, ticket.id);
      if (rows.length >= truth.size) break;
      await sleep(500);
    }
    totals.d1_rows += rows.length;
    const d1 = new Map(rows.map((r) => [r.seq, r.id]));
    const ids = new Set(rows.map((r) => r.id));
    totals.d1_extra += rows.length - ids.size + [...d1.keys()].filter((s) => !truth.has(s)).length;
    for (const [seq, id] of truth) if (d1.get(seq) !== id) totals.d1_missing++;
    const seqs = [...d1.keys()].sort((a, b) => a - b);
    if (seqs.some((s, i) => s !== i + 1)) totals.order_mismatches++;
    for (const c of ticket.clients) {
      const same = c.view.size === d1.size && [...d1].every(([s, id]) => c.view.get(s) === id);
      if (!same || c.conflicts.length > 0) totals.order_mismatches++;
    }
  }
  totals.lost = totals.sent - totals.acked;
  for (const c of clients) c.close();
  clearTimeout(hardStop);

  const report = {
    clients: opts.clients,
    tickets: opts.tickets,
    ...totals,
    resent_on_purpose: resent,
    reconnects: clients.reduce((n, c) => n + c.reconnects, 0),
    rate_limited_frames: clients.reduce((n, c) => n + c.rateLimited, 0),
    frames_received: clients.reduce((n, c) => n + c.frames, 0),
    send_phase_s: Math.round(sendMs / 100) / 10,
    total_s: Math.round((Date.now() - started) / 100) / 10,
  };
  const ok =
    report.lost === 0 &&
    report.duplicated === 0 &&
    report.d1_missing === 0 &&
    report.d1_extra === 0 &&
    report.order_mismatches === 0;
  if (opts.json) console.log(JSON.stringify({ ...report, ok }));
  else {
    console.log(`chat nothing-lost: ${opts.clients} clients over ${opts.tickets} tickets`);
    for (const [k, v] of Object.entries(report)) console.log(`  ${k.padEnd(20)} ${v}`);
    console.log(ok ? "OK: nothing lost, nothing duplicated, one order per ticket" : "FAILED");
  }
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
