// Chat: TicketRoom under load next to a bare broadcast Durable Object (bench/baseline) on the
// same runtime, in the same run. Socket clients run in a separate process (lib/chat-load-child.mjs).
import { randomUUID } from "node:crypto";
import path from "node:path";
import WebSocket from "ws";
import { call } from "../lib/http-load.mjs";
import { rssMiB, runNodeJson, workerdPid } from "../lib/procs.mjs";

const CHILD = path.join(import.meta.dirname, "../lib/chat-load-child.mjs");
const ADMINS = 10;

const wsBase = (base) => base.replace(/^http/, "ws");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function createTickets(ctx, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const owner = await ctx.token("user", randomUUID());
    const res = await call(ctx.platform.base, "POST", "/api/v1/support/tickets", {
      token: owner,
      body: { subject: `bench ${i}` },
    });
    if (res.status !== 201)
      throw new Error(`POST /support/tickets answered ${res.status}: ${res.text.slice(0, 200)}`);
    out.push({ id: res.json.id, owner });
  }
  return out;
}

/** Room descriptors for the child: the owner plus agents (admins) on our side; anonymous on the bare side. */
function platformRooms(ctx, tickets, perRoom, admins) {
  return tickets.map((t) => ({
    url: `${wsBase(ctx.platform.base)}/ws/support/${t.id}`,
    clients: Array.from({ length: perRoom }, (_, i) => ({
      headers: { authorization: `Bearer ${i === 0 ? t.owner : admins[i % admins.length]}` },
    })),
  }));
}
function bareRooms(ctx, n, perRoom, persist) {
  return Array.from({ length: n }, () => ({
    url: `${wsBase(ctx.baseline.base)}/ws/${randomUUID()}?persist=${persist ? 1 : 0}`,
    clients: Array.from({ length: perRoom }, () => ({ headers: {} })),
  }));
}

const drive = (rooms, extra) => runNodeJson(CHILD, { rooms, ...extra }, { timeoutMs: 120_000 });

/** Opens n idle sockets from this process and reports the runtime's RSS growth once they sit idle. */
async function idleSockets(server, urls, headersFor, settleMs) {
  const pid = workerdPid(server);
  if (!pid) return null;
  const before = rssMiB(pid);
  const sockets = [];
  for (let i = 0; i < urls.length; i += 50) {
    const batch = urls.slice(i, i + 50).map(
      (url, k) =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(url, { headers: headersFor(i + k), perMessageDeflate: false });
          ws.once("open", () => resolve(ws));
          ws.once("error", reject);
          ws.on("message", () => {});
        }),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  const open = rssMiB(pid);
  await sleep(settleMs);
  const idle = rssMiB(pid);
  for (const ws of sockets) ws.close(1000, "bench done");
  await sleep(500);
  return { pid, before, open, idle, sockets: sockets.length };
}

export async function run(ctx) {
  const { runs, scale, log } = ctx;
  const figures = [];
  const notes = [];
  const probe = await call(ctx.platform.base, "POST", "/api/v1/support/tickets", {
    token: await ctx.token("user", randomUUID()),
    body: { subject: "probe" },
  }).catch((e) => ({ status: 0, text: e.message }));
  if (probe.status !== 201) {
    return {
      figures: [{ label: "chat", unavailable: `POST /support/tickets answered ${probe.status}` }],
      notes,
    };
  }
  const admins = await Promise.all(Array.from({ length: ADMINS }, () => ctx.token("admin", randomUUID())));
  const durationMs = Math.round(Math.max(3000, 8000 * scale));

  const R = {
    one: [],
    oneBare: [],
    onePersist: [],
    many: [],
    manyBare: [],
    burst: [],
    burstBare: [],
    burstPersist: [],
  };
  for (let r = 0; r < runs; r++) {
    log(`chat: run ${r + 1}/${runs}`);
    const [one] = await createTickets(ctx, 1);
    R.one.push(await drive(platformRooms(ctx, [one], 100, admins), { mode: "rate", rate: 1, durationMs }));
    R.oneBare.push(await drive(bareRooms(ctx, 1, 100, false), { mode: "rate", rate: 1, durationMs }));
    R.onePersist.push(await drive(bareRooms(ctx, 1, 100, true), { mode: "rate", rate: 1, durationMs }));
    const many = await createTickets(ctx, 50);
    R.many.push(await drive(platformRooms(ctx, many, 10, admins), { mode: "rate", rate: 1, durationMs }));
    R.manyBare.push(await drive(bareRooms(ctx, 50, 10, false), { mode: "rate", rate: 1, durationMs }));
    // Throughput: 20 clients each fire 10 messages at once (the room's per-socket burst allowance).
    const [b] = await createTickets(ctx, 1);
    R.burst.push(await drive(platformRooms(ctx, [b], 20, admins), { mode: "burst", burst: 10 }));
    R.burstBare.push(await drive(bareRooms(ctx, 1, 20, false), { mode: "burst", burst: 10 }));
    R.burstPersist.push(await drive(bareRooms(ctx, 1, 20, true), { mode: "burst", burst: 10 }));
  }

  const v = (xs, f) => xs.map(f);
  const lat = (label, ours, bare, kind, target) => ({
    label,
    unit: "ms",
    values: v(ours, (x) => x[kind].p50),
    baseline: v(bare, (x) => x[kind].p50),
    target: target?.p50,
  });
  const lat99 = (label, ours, bare, kind, target) => ({
    label,
    unit: "ms",
    values: v(ours, (x) => x[kind].p99),
    baseline: v(bare, (x) => x[kind].p99),
    target: target?.p99,
  });
  const dTarget = {
    p50: { metric: "value", op: "<=", value: 10, text: "≤ 10 ms" },
    p99: { metric: "value", op: "<=", value: 50, text: "≤ 50 ms" },
  };
  figures.push(
    lat("1 ticket × 100 clients @1 msg/s: delivery p50", R.one, R.oneBare, "delivery", dTarget),
    lat99("1 ticket × 100 clients @1 msg/s: delivery p99", R.one, R.oneBare, "delivery", dTarget),
    lat("1 ticket × 100 clients: ack p50", R.one, R.oneBare, "ack"),
    lat99("1 ticket × 100 clients: ack p99", R.one, R.oneBare, "ack"),
    lat99(
      "bare room + SQLite append (floor for a stored room): delivery p99",
      R.onePersist,
      R.oneBare,
      "delivery",
    ),
    lat("50 tickets × 10 clients @1 msg/s: delivery p50", R.many, R.manyBare, "delivery", dTarget),
    lat99("50 tickets × 10 clients @1 msg/s: delivery p99", R.many, R.manyBare, "delivery", dTarget),
    lat99("50 tickets × 10 clients: ack p99", R.many, R.manyBare, "ack"),
    {
      label: "burst throughput (1 room, 20 clients × 10 msgs): messages/s",
      unit: "msg/s",
      values: v(R.burst, (x) => x.msgs_per_s),
      baseline: v(R.burstBare, (x) => x.msgs_per_s),
      target: { metric: "ratio", op: ">=", value: 0.7, text: "≥ 70% of bare (persistence costs ≤ 30%)" },
    },
    {
      label: "bare room + SQLite append: burst messages/s",
      unit: "msg/s",
      values: v(R.burstPersist, (x) => x.msgs_per_s),
      baseline: v(R.burstBare, (x) => x.msgs_per_s),
    },
  );
  for (const [name, xs] of Object.entries(R)) {
    const lost = xs.filter(
      (x) => x.counts.acked < x.counts.sent || x.counts.delivered < x.expected_deliveries || x.counts.errors,
    );
    if (lost.length)
      notes.push(
        `${name}: incomplete or errored runs: ${JSON.stringify(lost.map((x) => ({ ...x.counts, expected: x.expected_deliveries })))}`,
      );
  }

  // 1,000 idle sockets: 50 tickets × 20, then the same on the bare room; RSS of each workerd.
  log("chat: 1,000 idle sockets");
  const idleTickets = await createTickets(ctx, 50);
  const ours = await idleSockets(
    ctx.platform,
    Array.from(
      { length: 1000 },
      (_, i) => `${wsBase(ctx.platform.base)}/ws/support/${idleTickets[i % 50].id}`,
    ),
    (i) => ({ authorization: `Bearer ${i < 50 ? idleTickets[i].owner : admins[i % ADMINS]}` }),
    12_000,
  );
  const bareIds = Array.from({ length: 50 }, () => randomUUID());
  const bare = await idleSockets(
    ctx.baseline,
    Array.from({ length: 1000 }, (_, i) => `${wsBase(ctx.baseline.base)}/ws/${bareIds[i % 50]}`),
    () => ({}),
    12_000,
  );
  if (ours && bare) {
    figures.push({
      label: "1,000 idle sockets (50 rooms): workerd RSS growth after 12 s idle",
      unit: "MiB",
      values: [ours.idle - ours.before],
      baseline: [bare.idle - bare.before],
    });
    notes.push(
      `idle sockets: platform workerd RSS ${ours.before.toFixed(0)} → ${ours.open.toFixed(0)} (open) → ${ours.idle.toFixed(0)} MiB (idle); bare ${bare.before.toFixed(0)} → ${bare.open.toFixed(0)} → ${bare.idle.toFixed(0)} MiB`,
    );
  } else notes.push("idle sockets: workerd process not found under wrangler; RSS not measured");

  return {
    figures,
    notes,
    setup: [
      `rate scenarios send for ${durationMs / 1000}s per run; clients in a separate process (ws), ${ADMINS} admin identities + the ticket owner per room; bare side = bench/baseline BareRoom (hibernation API), with and without an SQLite append`,
      "latencies include the load generator's own event loop on the same 2 cores (same for both sides)",
    ],
  };
}
