// Chat: TicketRoom under load next to a bare broadcast Durable Object (bench/baseline) on the
// same runtime, in the same run. Socket clients run in a separate process (lib/chat-load-child.mjs).
import { randomUUID } from "node:crypto";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { call } from "../lib/http-load.mjs";
import { rssMiB, runNodeJson, waitQuiet, workerdPid } from "../lib/procs.mjs";

const CHILD = path.join(import.meta.dirname, "../lib/chat-load-child.mjs");
// Distinct agent identities: one 100-client room is 1 owner + 99 agents (the issue's reference load).
const ADMIN_POOL = 99;

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

/**
 * Room descriptors for the child. Ours: the owner plus distinct agents (admins), room k taking
 * the next perRoom − 1 of the pool, so a 100-client room is 100 identities. Bare and reference
 * rooms need no identity (the reference gets a distinct name per socket from the child).
 */
function platformRooms(ctx, tickets, perRoom, admins) {
  return tickets.map((t, k) => ({
    url: `${wsBase(ctx.platform.base)}/ws/support/${t.id}`,
    clients: Array.from({ length: perRoom }, (_, i) => ({
      headers: {
        authorization: `Bearer ${i === 0 ? t.owner : admins[(k * (perRoom - 1) + i - 1) % admins.length]}`,
      },
    })),
  }));
}
function bareRooms(ctx, n, perRoom, persist) {
  return Array.from({ length: n }, () => ({
    url: `${wsBase(ctx.baseline.base)}/ws/${randomUUID()}?persist=${persist ? 1 : 0}`,
    clients: Array.from({ length: perRoom }, () => ({ headers: {} })),
  }));
}
function referenceRooms(ctx, n, perRoom) {
  return Array.from({ length: n }, () => ({
    // The reference accepts room names up to 32 characters.
    url: `${wsBase(ctx.reference.base)}/api/room/${randomUUID().replaceAll("-", "").slice(0, 24)}/websocket`,
    clients: Array.from({ length: perRoom }, () => ({ headers: {} })),
  }));
}

/** One side of a scenario; a side that fails (e.g. connects time out) is left out, not fatal. */
const drive = (rooms, extra) =>
  runNodeJson(CHILD, { rooms, ...extra }, { timeoutMs: 180_000 }).catch((err) => {
    console.error(`chat: a side failed: ${err.message.split("\n")[0]}`);
    return null;
  });

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

/*
 * workerd evicts an object 10 s after its last event (workerd#1138) and closes its SQLite file,
 * on the thread every object of that process shares. Creating 50 tickets writes to the 99
 * agents' LiveChannel objects (the new-ticket feed; before the agents' warm-up request in run(),
 * only from run 2 on), and measured about 5 s later those 99 evictions fell inside ours' window,
 * where its slowest 100 ms windows were (BENCHMARKS.md, status of 2026-12-04; `node
 * bench/timeline.mjs`). So each side starts only once the objects the bench touched before, in
 * any process, have been evicted. That measures chat alone; the `busy` scenario measures it with
 * tickets being opened alongside (withTicketsOpening).
 */
const EVICTION_SETTLE_MS = 11_000;
/**
 * Ours' rooms wake once more on their safety-net alarm, at most this long after the side ends
 * (retryDelayMs(1) in src/chat/room-mirror.ts, armed by a write); their eviction follows that.
 */
const ROOM_ALARM_MS = 10_000;
let lastTouched = 0;
const settle = () => sleep(Math.max(0, lastTouched + EVICTION_SETTLE_MS - Date.now()));
async function driveSettled(rooms, extra, wakesAfterMs = 0) {
  await settle();
  const out = await drive(rooms, extra);
  lastTouched = Date.now() + wakesAfterMs;
  return out;
}

/**
 * Runs `measure` while new owners open tickets at `perS` a second, each fanned out to every
 * known agent's live feed (a busy support desk); answers what `measure` does and what the
 * openings did. It starts on a fresh minute: the admin fan-out budget (ADMIN_FANOUTS_PER_MINUTE,
 * 30 in each epoch minute, src/chat/on-event.ts) is spent by the scenario's own 50 tickets, and
 * a window's openings must fan out, not be deferred.
 */
async function withTicketsOpening(ctx, perS, measure) {
  await settle();
  await sleep(60_000 - (Date.now() % 60_000) + 200);
  const opened = { ok: 0, failed: 0 };
  let stop = false;
  const opener = (async () => {
    while (!stop) {
      const next = Date.now() + 1000 / perS;
      await createTickets(ctx, 1).then(
        () => opened.ok++,
        () => opened.failed++,
      );
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  const out = await measure();
  stop = true;
  await opener;
  return out && { ...out, tickets_opened: opened };
}

/** Ours, the bare room, the bare room + SQLite append and (when served) the reference, in that order. */
async function sides(ctx, n, perRoom, load, tickets, admins) {
  const out = {};
  ctx.log(
    `chat:   ${n} × ${perRoom} ${load.mode === "burst" ? `burst ${load.burst}` : `@${load.rate} msg/s`}`,
  );
  // Creating a ticket fans out to every admin's live feed (the POST's sinks, and what they leave
  // running); let it finish first.
  await waitQuiet(ctx.platform);
  // Never earlier than a side before asked for (the ours before this one: its alarm wake-up).
  lastTouched = Math.max(lastTouched, Date.now());
  const rooms = platformRooms(ctx, tickets, perRoom, admins);
  if (load.ticketsPerS) {
    // Ours alone: the load added is ours' (the baselines have no tickets); compare with `many`.
    const measure = () => driveSettled(rooms, load, ROOM_ALARM_MS);
    out.ours = await withTicketsOpening(ctx, load.ticketsPerS, measure);
    const o = out.ours?.tickets_opened;
    if (o) ctx.log(`chat:     tickets opened during ours: ${o.ok} (${o.failed} failed)`);
    return out;
  }
  out.ours = await driveSettled(rooms, load, ROOM_ALARM_MS);
  out.bare = await driveSettled(bareRooms(ctx, n, perRoom, false), load);
  out.persist = await driveSettled(bareRooms(ctx, n, perRoom, true), load);
  if (ctx.reference)
    out.reference = await driveSettled(referenceRooms(ctx, n, perRoom), { ...load, protocol: "reference" });
  // Where in the run a tail sits (warm-up, periodic stalls, spread): p99 by the second of sending.
  for (const [side, r] of Object.entries(out)) {
    const secs = r?.delivery_by_second?.map((b) => (b.p99 === null ? "-" : Math.round(b.p99)));
    if (secs?.length) ctx.log(`chat:     ${side} delivery p99 by second (ms): ${secs.join(" ")}`);
  }
  return out;
}

const pct = (x) => (x === null || x === undefined ? Number.NaN : x * 100);

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
  const admins = await Promise.all(
    Array.from({ length: ADMIN_POOL }, () => ctx.token("admin", randomUUID())),
  );
  // Each agent makes one request, so the platform knows them from run 1 on: a new ticket's
  // fan-out reaches the agents it has seen (src/platform/directory.ts), in every run alike.
  for (const token of admins) {
    const res = await call(ctx.platform.base, "GET", "/api/v1/support/tickets?limit=1", { token });
    if (res.status !== 200) {
      const unavailable = `an agent's GET /support/tickets answered ${res.status}`;
      return { figures: [{ label: "chat", unavailable }], notes };
    }
  }
  const durationMs = Math.round(Math.max(3000, 10_000 * scale));
  const rate = (r) => ({ mode: "rate", rate: r, durationMs });

  // One entry per run of each scenario; every run interleaves all sides of every scenario.
  const R = { big1: [], big2: [], many: [], busy: [], burst: [], idle: [] };
  const want = (scenario) => !ctx.only || ctx.only.has(scenario);
  for (let r = 0; r < runs; r++) {
    log(`chat: run ${r + 1}/${runs}`);
    if (want("big1")) R.big1.push(await sides(ctx, 1, 100, rate(1), await createTickets(ctx, 1), admins));
    if (want("big2")) R.big2.push(await sides(ctx, 1, 100, rate(2), await createTickets(ctx, 1), admins));
    if (want("many")) R.many.push(await sides(ctx, 50, 10, rate(1), await createTickets(ctx, 50), admins));
    // The same, while a ticket a second is opened and fanned out to all 99 agents' live feeds.
    if (want("busy"))
      R.busy.push(
        await sides(ctx, 50, 10, { ...rate(1), ticketsPerS: 1 }, await createTickets(ctx, 50), admins),
      );
    // Throughput: 20 clients each fire 10 messages at once (the room's per-socket burst allowance).
    if (want("burst"))
      R.burst.push(
        await sides(ctx, 1, 20, { mode: "burst", burst: 10 }, await createTickets(ctx, 1), admins),
      );
    if (want("idle")) R.idle.push(await idleRun(ctx, admins));
  }

  const col = (runsOf, side, f) => runsOf.map((x) => (x[side] ? f(x[side]) : Number.NaN));
  const loadsOf = (runsOf, side) => col(runsOf, side, (x) => x.load_avg);
  /** A figure of `side` in scenario `runsOf`, against `against` (default the bare room). */
  const fig = (label, runsOf, side, f, unit, target, against = "bare") => ({
    label,
    unit,
    values: col(runsOf, side, f),
    baseline: against ? col(runsOf, against, f) : undefined,
    loads: loadsOf(runsOf, side),
    target,
  });
  const le = (value, text, metric = "value") => ({ metric, op: "<=", value, text });
  const ge = (value, text, metric = "value") => ({ metric, op: ">=", value, text });
  const d50 = (x) => x.delivery.p50;
  const d99 = (x) => x.delivery.p99;
  const a99 = (x) => x.ack.p99;
  const hasRef = Boolean(ctx.reference);
  const ref = (f) => (hasRef ? [f] : []);

  figures.push(
    fig("100 participants × 1 msg/s: delivery p50", R.big1, "ours", d50, "ms"),
    fig("100 participants × 1 msg/s: delivery p99", R.big1, "ours", d99, "ms", le(50, "≤ 50 ms")),
    fig(
      "100 participants × 1 msg/s: delivery p99 vs bare room + SQLite append",
      R.big1,
      "ours",
      d99,
      "ms",
      le(1, "≤ 1× bare + SQLite", "ratio"),
      "persist",
    ),
    fig("100 participants × 1 msg/s: ack p99", R.big1, "ours", a99, "ms"),
    fig("bare room + SQLite append, 100 × 1 msg/s: delivery p99", R.big1, "persist", d99, "ms"),
    ...ref(fig("reference, 100 × 1 msg/s: delivery p50", R.big1, "reference", d50, "ms")),
    ...ref(fig("reference, 100 × 1 msg/s: delivery p99", R.big1, "reference", d99, "ms")),
    fig(
      "100 participants × 2 msg/s: delivered within 2 s of the last send",
      R.big2,
      "ours",
      (x) => pct(x.delivered_within_window),
      "%",
      ge(100, "100%"),
    ),
    fig(
      "100 participants × 2 msg/s: acked within 2 s of the last send",
      R.big2,
      "ours",
      (x) => pct(x.acked_within_window),
      "%",
      ge(100, "100%"),
    ),
    fig(
      "100 participants × 2 msg/s: deliveries/s",
      R.big2,
      "ours",
      (x) => x.deliveries_per_s,
      "/s",
      ge(17_000, "≥ 17k/s"),
    ),
    fig("100 participants × 2 msg/s: delivery p50", R.big2, "ours", d50, "ms"),
    fig("100 participants × 2 msg/s: delivery p99", R.big2, "ours", d99, "ms"),
    fig(
      "bare room + SQLite append, 100 × 2 msg/s: deliveries/s",
      R.big2,
      "persist",
      (x) => x.deliveries_per_s,
      "/s",
    ),
    ...ref(
      fig("reference, 100 × 2 msg/s: deliveries/s", R.big2, "reference", (x) => x.deliveries_per_s, "/s"),
    ),
    ...ref(
      fig(
        "reference, 100 × 2 msg/s: delivered within 2 s",
        R.big2,
        "reference",
        (x) => pct(x.delivered_within_window),
        "%",
      ),
    ),
    ...ref(fig("reference, 100 × 2 msg/s: delivery p99", R.big2, "reference", d99, "ms")),
    fig("50 rooms × 10 clients × 1 msg/s: delivery p50", R.many, "ours", d50, "ms", le(10, "≤ 10 ms")),
    fig("50 rooms × 10 clients × 1 msg/s: delivery p99", R.many, "ours", d99, "ms", le(50, "≤ 50 ms")),
    fig("50 rooms × 10 clients: ack p99", R.many, "ours", a99, "ms"),
    fig("bare room + SQLite append, 50 × 10: delivery p99", R.many, "persist", d99, "ms"),
    fig(
      "50 × 10 while a ticket a second is opened (fan-out to 99 agents): delivery p99",
      R.busy,
      "ours",
      d99,
      "ms",
      undefined,
      null,
    ),
    fig(
      "burst (1 room, 20 clients × 10 msgs): messages/s",
      R.burst,
      "ours",
      (x) => x.msgs_per_s,
      "msg/s",
      ge(0.8, "≥ 0.8× bare", "ratio"),
    ),
    fig("bare room + SQLite append: burst messages/s", R.burst, "persist", (x) => x.msgs_per_s, "msg/s"),
    ...ref(fig("reference: burst messages/s", R.burst, "reference", (x) => x.msgs_per_s, "msg/s")),
  );
  // Scenarios left out with --only leave no figures behind.
  for (let i = figures.length - 1; i >= 0; i--) if (figures[i].values.length === 0) figures.splice(i, 1);
  const idle = R.idle.filter(Boolean);
  if (idle.length) {
    figures.push({
      label: "1,000 idle hibernated sockets (50 rooms): workerd RSS growth after 12 s idle",
      unit: "MiB",
      values: idle.map((x) => x.ours.idle - x.ours.before),
      baseline: idle.map((x) => x.bare.idle - x.bare.before),
      loads: idle.map((x) => x.load),
      target: le(1.1, "≤ 1.1× bare", "ratio"),
    });
    for (const x of idle)
      notes.push(
        `idle sockets: platform workerd RSS ${x.ours.before.toFixed(0)} → ${x.ours.open.toFixed(0)} (open) → ${x.ours.idle.toFixed(0)} MiB (idle); bare ${x.bare.before.toFixed(0)} → ${x.bare.open.toFixed(0)} → ${x.bare.idle.toFixed(0)} MiB`,
      );
  } else notes.push("idle sockets: workerd process not found under wrangler; RSS not measured");

  // The busy figure means something only if tickets were opened throughout (one a second).
  for (const x of R.busy) {
    const o = x.ours?.tickets_opened;
    if (!o) continue;
    const expected = Math.floor(durationMs / 1000);
    const few =
      o.ok < 0.8 * expected ? `; fewer than 80% of the ${expected} expected: this run says little` : "";
    notes.push(`busy: ${o.ok} tickets opened during ours (${o.failed} failed)${few}`);
  }

  for (const [name, xs] of Object.entries(R)) {
    if (name === "idle") continue;
    for (const side of ["ours", "bare", "persist", "reference"]) {
      const lost = xs
        .map((x) => x[side])
        .filter(
          (x) =>
            x &&
            ((side !== "reference" && x.counts.acked < x.counts.sent) ||
              x.counts.delivered < x.expected_deliveries ||
              x.counts.errors),
        );
      if (lost.length)
        notes.push(
          `${name}/${side}: incomplete or errored runs (15 s drain): ${JSON.stringify(lost.map((x) => ({ ...x.counts, expected: x.expected_deliveries, errors: x.error_codes })))}`,
        );
    }
  }

  return {
    figures,
    notes,
    setup: [
      `rate scenarios send for ${durationMs / 1000}s per run; clients in a separate process (ws); every participant of a room is a distinct identity (the owner + agents from a pool of ${ADMIN_POOL} admins)`,
      `sides, interleaved within each run: ours, bare = bench/baseline BareRoom (hibernation API, relay + ack), bare + SQLite append, ${hasRef ? "reference = cloudflare/workers-chat-demo (bench/reference, BSD-3-Clause, rate limiter off; no ack: its echo to the sender stands in)" : "no reference"}`,
      "completeness counts arrivals within 2 s of the last send; deliveries/s = those deliveries over first send → the last of them",
      "latencies include the load generator's own event loop on the same 2 cores (same for every side); load = 1-minute load average when each run of ours started",
    ],
  };
}

/** 1,000 idle sockets: 50 tickets × 20 on ours, then the same on the bare room; RSS of each workerd. */
async function idleRun(ctx, admins) {
  ctx.log("chat: 1,000 idle sockets");
  await settle(); // the rooms of the side before must not be evicted under the RSS reading
  const load = os.loadavg()[0];
  const idleTickets = await createTickets(ctx, 50);
  await waitQuiet(ctx.platform);
  // The live channels the tickets wrote to are evicted first: RSS falling under the sockets would
  // flatter ours.
  await sleep(EVICTION_SETTLE_MS);
  const ours = await idleSockets(
    ctx.platform,
    Array.from(
      { length: 1000 },
      (_, i) => `${wsBase(ctx.platform.base)}/ws/support/${idleTickets[i % 50].id}`,
    ),
    (i) => ({ authorization: `Bearer ${i < 50 ? idleTickets[i].owner : admins[i % admins.length]}` }),
    12_000,
  );
  const bareIds = Array.from({ length: 50 }, () => randomUUID());
  const bare = await idleSockets(
    ctx.baseline,
    Array.from({ length: 1000 }, (_, i) => `${wsBase(ctx.baseline.base)}/ws/${bareIds[i % 50]}`),
    () => ({}),
    12_000,
  );
  lastTouched = Date.now();
  return ours && bare ? { ours, bare, load } : null;
}
