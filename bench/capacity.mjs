#!/usr/bin/env node
// Capacity model (docs/scaling.md): Cloudflare's published limits against the load the bench
// drives, scaled 10×, 100× and 1,000×. Plain node, no dependencies, no I/O beyond the doc check.
//
//   node bench/capacity.mjs                      # the tables in docs/scaling.md
//   node bench/capacity.mjs --ingest-eps 20000   # other traffic assumptions (see --help)
//   node bench/capacity.mjs --check              # exit 1 if docs/scaling.md shows other numbers
//   node bench/capacity.mjs --write              # put this output into docs/scaling.md
//
// "×N" means every merchant's traffic grows N-fold (more users, payments, tickets and events);
// a ticket room stays one conversation, so per-room load does not grow, while a merchant's live
// channel, a singleton per merchant, takes N× its events.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";

const DOC = new URL("../docs/scaling.md", import.meta.url);
const START = "<!-- capacity:start -->";
const END = "<!-- capacity:end -->";

/** Traffic and cost assumptions: name → [default, meaning]. Defaults are BENCHMARKS.md's figures. */
const OPTIONS = {
  "history-rps": [213, "GET /payments/history req/s (bench rest, throughput)"],
  "detail-rps": [258, "GET /payments/{id} req/s (bench rest)"],
  "intent-rps": [66.4, "POST /payments/create-intent req/s (bench rest)"],
  "ingest-eps": [6910, "analytics events/s ingested (bench rest, 50 per batch)"],
  "ingest-batch": [50, "events per POST /analytics/events (bench rest)"],
  "report-rps": [5, "report req/s (bench reports: one in flight, ~200 ms each)"],
  "report-ms": [209, "D1 ms per report (mean of the five reports' p50 on 1M events)"],
  rooms: [50, "busy ticket rooms (bench chat: 50 tickets × 10 clients)"],
  "room-clients": [10, "clients per busy room"],
  "busy-room-clients": [100, "clients in the busiest room (bench chat: 1 ticket × 100 clients)"],
  "msg-rate": [1, "messages/s each chat client sends"],
  "reply-share": [0.5, "share of chat messages that are staff replies (each publishes ticket.replied)"],
  "push-sends": [272, "FCM sends/s (bench push: 10,000 devices in ~37 s)"],
  "merchant-share": [0.05, "busiest merchant's share of payments and chat (bench: user owns ~5%)"],
  "merchant-sockets": [10, "live-channel sockets of the busiest merchant's staff at 1×"],
  "query-ms": [1, "D1 ms per simple indexed statement (Cloudflare: ~1,000 q/s at 1 ms)"],
  "row-ms": [0.1, "D1 ms per row written with its indexes (bench: SQLite ~10k events/s)"],
  "batched-row-ms": [0.05, "D1 ms per event in the queue consumer's large commits (20k/s target)"],
  "read-copies": [3, "D1 copies reads spread over with replicas on (primary + 2 busy regions)"],
  "event-bytes": [600, "bytes per raw analytics event with its four indexes"],
  "payment-bytes": [600, "bytes kept per payment (row, indexes, audit)"],
  "message-bytes": [400, "bytes per mirrored chat message"],
};
const MULTIPLES = [1, 10, 100, 1000];

const LIMITS = {
  d1Ms: 1000, // D1: one query at a time; ~1,000 q/s at 1 ms each = 1,000 ms of work per second
  d1Bytes: 10e9, // D1: 10 GB per database (Workers Paid)
  doRps: 1000, // Durable Objects: soft limit ~1,000 requests/s per object
  doSockets: 32768, // Durable Objects: hibernatable WebSockets per object
  queueMps: 5000, // Queues: 5,000 messages/s per queue
  queueBatchBytes: 256e3, // Queues: sendBatch ≤ 100 messages and ≤ 256 KB
  aePoints: 250, // Analytics Engine: data points per invocation
  fcmPerMin: 600e3, // FCM HTTP v1: 600k messages/min per project
};

function options() {
  const { values } = parseArgs({
    options: {
      check: { type: "boolean" },
      write: { type: "boolean" },
      help: { type: "boolean" },
      ...Object.fromEntries(Object.keys(OPTIONS).map((k) => [k, { type: "string" }])),
    },
  });
  if (values.help) {
    const lines = Object.entries(OPTIONS).map(([k, [d, m]]) => `  --${k.padEnd(18)} ${m} (default ${d})`);
    console.log(`node bench/capacity.mjs [--check|--write] [options]\n${lines.join("\n")}`);
    process.exit(0);
  }
  const a = {};
  for (const [k, [d]] of Object.entries(OPTIONS)) {
    const n = values[k] === undefined ? d : Number(values[k]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a number ≥ 0`);
    a[k] = n;
  }
  return { a, check: values.check === true, write: values.write === true };
}

/** Per-second load at 1× of every limited resource, for one layout. */
function model(a, target) {
  const messages = a.rooms * a["room-clients"] * a["msg-rate"] + a["busy-room-clients"] * a["msg-rate"];
  // The room mirror coalesces (docs/chat-protocol.md): one D1 batch per room per 200 ms at most,
  // and one a second once a 200 ms window collects two writes or more (a busy room).
  const roomBatches = (rate) => (rate * 0.2 >= 2 ? 1 : Math.min(5, rate));
  const mirrorBatches =
    a.rooms * roomBatches(a["room-clients"] * a["msg-rate"]) +
    roomBatches(a["busy-room-clients"] * a["msg-rate"]);
  // A mirrored message is its row; a staff reply adds ticket.replied's event and 3 sink deliveries.
  const chatMs = mirrorBatches * a["query-ms"] + messages * (1 + 4 * a["reply-share"]) * a["row-ms"];
  // create-intent: ~6 statements (lookup, customer, insert, deferred drain, reload) + its event rows.
  const intentMs = a["intent-rps"] * (6 * a["query-ms"] + 4 * a["row-ms"]);
  // A push: its delivery row written at fan-out, claimed and settled (one batch per 50-token job).
  const pushMs = a["push-sends"] * 3 * a["row-ms"] + (a["push-sends"] / 50) * 2 * a["query-ms"];
  const readMs = a["history-rps"] * a["query-ms"] + a["detail-rps"] * 2 * a["query-ms"];
  const ingestMs = a["ingest-eps"] * (target ? a["batched-row-ms"] : a["row-ms"]);
  const reportMs = a["report-rps"] * a["report-ms"];
  const copies = target ? a["read-copies"] : 1;
  const day = 86400;
  const dbBytes = (a["intent-rps"] * a["payment-bytes"] + messages * a["message-bytes"]) * day;
  const eventBytes = a["ingest-eps"] * a["event-bytes"] * day;
  const merchantEvents = a["merchant-share"] * (a["intent-rps"] + messages * a["reply-share"]);
  const rows = [];
  const rate = (store, limit, perUnit, load, cap) =>
    rows.push({ kind: "rate", store, limit, perUnit, load, cap });
  if (target) {
    rate(
      "DB (D1) primary: query time",
      "1,000 ms/s",
      "writes: payments, chat mirror, pushes",
      intentMs + chatMs + pushMs + readMs / copies,
      LIMITS.d1Ms,
    );
    rate(
      "ANALYTICS_DB (D1): query time",
      "1,000 ms/s",
      "queue-batched ingest + reports on replicas",
      ingestMs + reportMs / copies,
      LIMITS.d1Ms,
    );
  } else {
    rate(
      "DB (D1): query time",
      "1,000 ms/s",
      "everything, analytics included",
      intentMs + chatMs + pushMs + readMs + ingestMs + reportMs,
      LIMITS.d1Ms,
    );
  }
  rate(
    "TicketRoom DO (busiest room): requests",
    "1,000 req/s",
    `${a["busy-room-clients"]} clients × ${a["msg-rate"]} msg/s`,
    0,
    LIMITS.doRps,
  );
  rows.at(-1).fixed = a["busy-room-clients"] * a["msg-rate"];
  rate("TicketRoom DO (busiest room): sockets", "32,768", "participants of one ticket", 0, LIMITS.doSockets);
  rows.at(-1).fixed = a["busy-room-clients"];
  rate(
    "LiveChannel DO (busiest merchant): events",
    "1,000 req/s",
    "its payments + staff replies",
    merchantEvents,
    LIMITS.doRps,
  );
  rate(
    "LiveChannel DO (busiest merchant): sockets",
    "32,768",
    "its staff dashboards",
    a["merchant-sockets"],
    LIMITS.doSockets,
  );
  rate("Queue push: messages", "5,000 msg/s", "one job per 50 tokens", a["push-sends"] / 50, LIMITS.queueMps);
  // The daily byte budgets: one take per accepted ingest request, all in one object (the global
  // budget is one counter; src/analytics/ingest-budget.ts).
  if (target)
    rate(
      "IngestBudget DO: budget takes",
      "1,000 req/s",
      "one take per ingest request past the rate limiters",
      a["ingest-eps"] / a["ingest-batch"],
      LIMITS.doRps,
    );
  if (target)
    rate(
      "Queue analytics-ingest: messages",
      "5,000 msg/s",
      "one message per ingest request",
      a["ingest-eps"] / a["ingest-batch"],
      LIMITS.queueMps,
    );
  rate("FCM project: sends", "600k/min", "pushes", a["push-sends"] * 60, LIMITS.fcmPerMin);
  rows.push({
    kind: "fixed",
    store: "Analytics Engine: points per invocation",
    limit: "250",
    perUnit: "events per ingest request",
    value: a["ingest-batch"],
    cap: LIMITS.aePoints,
  });
  const fill = (store, perUnit, perDay) =>
    rows.push({ kind: "fill", store, limit: "10 GB", perUnit, perDay });
  if (target) {
    fill("DB (D1): storage", "payments + chat messages", dbBytes);
    fill("ANALYTICS_DB (D1): storage", "raw events (400-day retention)", eventBytes);
  } else {
    fill("DB (D1): storage", "payments + chat + raw events", dbBytes + eventBytes);
  }
  return rows;
}

/** D1 work per unit of each hot path at 1×: [path, unit, rate, statements, rows written, ms per unit]. */
function paths(a) {
  const q = a["query-ms"];
  const r = a["row-ms"];
  const messages = a.rooms * a["room-clients"] * a["msg-rate"] + a["busy-room-clients"] * a["msg-rate"];
  const replyRows = 1 + 4 * a["reply-share"];
  return [
    ["GET /payments/history (read)", "request", a["history-rps"], 1, 0, q],
    ["GET /payments/{id} (read)", "request", a["detail-rps"], 2, 0, 2 * q],
    ["POST /payments/create-intent", "request", a["intent-rps"], 6, 4, 6 * q + 4 * r],
    ["POST /analytics/events, direct (today)", "event", a["ingest-eps"], 5 / a["ingest-batch"], 1, r],
    ["analytics ingest via Queue (target)", "event", a["ingest-eps"], 5 / 5000, 1, a["batched-row-ms"]],
    ["analytics reports (read)", "request", a["report-rps"], "1 batch", 0, a["report-ms"]],
    [
      "chat message, mirrored to D1",
      "message",
      messages,
      "≤ 5 batches/s per quiet room, 1 per busy room",
      replyRows,
      null,
    ],
    ["push send (fan-out, claim, outcome)", "send", a["push-sends"], 2 / 50, 3, 3 * r + (2 / 50) * q],
  ];
}

function pathTable(a) {
  const num = (x) =>
    typeof x !== "number"
      ? x
      : Number.isInteger(x)
        ? x.toLocaleString("en-US")
        : String(Number(x.toPrecision(2)));
  const out = [
    "| hot path | unit | rate at 1× (per s) | D1 statements per unit | rows written per unit | D1 ms per unit |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const [path, unit, rate, stmts, rows, ms] of paths(a)) {
    out.push(
      `| ${path} | ${unit} | ${num(rate)} | ${num(stmts)} | ${num(rows)} | ${ms === null ? "1 per batch + rows" : num(ms)} |`,
    );
  }
  return out;
}

const pct = (x) =>
  x >= 10 ? `${Math.round(x * 100).toLocaleString("en-US")}%` : `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
const times = (x) => (x >= 100 ? `${Math.round(x).toLocaleString("en-US")}×` : `${x.toPrecision(2)}×`);
function duration(days) {
  if (days >= 365) return `${(days / 365).toFixed(1)} y`;
  if (days >= 1) return `${days.toFixed(1)} d`;
  if (days * 24 >= 1) return `${(days * 24).toFixed(1)} h`;
  return `${Math.round(days * 1440)} min`;
}

function table(rows) {
  const out = [
    `| store and path | limit | per unit of traffic | ${MULTIPLES.map((m) => `${m}×`).join(" | ")} | limit reached at |`,
    `| --- | --- | --- | ${MULTIPLES.map(() => "---").join(" | ")} | --- |`,
  ];
  const over = [];
  for (const r of rows) {
    let cells;
    let reached;
    if (r.kind === "fill") {
      cells = MULTIPLES.map((m) => duration(LIMITS.d1Bytes / (r.perDay * m)));
      reached = `${(r.perDay / 1e9).toFixed(1)} GB/day at 1×`;
    } else if (r.kind === "fixed") {
      cells = MULTIPLES.map(() => pct(r.value / r.cap));
      reached = r.value > r.cap ? "now" : "never (per request, not per traffic)";
    } else {
      const at = (m) => (r.fixed ?? r.load * m) / r.cap;
      cells = MULTIPLES.map((m) => `${pct(at(m))}${at(m) > 1 ? " ✗" : ""}`);
      reached =
        r.fixed !== undefined
          ? r.fixed > r.cap
            ? "now"
            : "never (does not grow with ×N)"
          : times(r.cap / r.load);
      if (r.fixed === undefined) over.push({ store: r.store, at: r.cap / r.load });
    }
    out.push(`| ${r.store} | ${r.limit} | ${r.perUnit} | ${cells.join(" | ")} | ${reached} |`);
  }
  out.push("", "Storage cells are the time until 10 GB at that load, sustained. Limits first hit:");
  over.sort((x, y) => x.at - y.at);
  for (const m of MULTIPLES.slice(1)) {
    const hit = over.filter((o) => o.at <= m).map((o) => `${o.store} (at ${times(o.at)})`);
    out.push(`- at ${m}×: ${hit.length ? hit.join("; ") : "none"}`);
  }
  return out;
}

function render(a) {
  const lines = [
    START,
    "",
    "Output of `node bench/capacity.mjs` (defaults); `npm run lint` checks this block.",
    "",
  ];
  lines.push("#### D1 work per hot path", "", ...pathTable(a), "");
  lines.push(
    "#### Today: one `DB`, analytics ingested directly, no replicas",
    "",
    ...table(model(a, false)),
    "",
  );
  lines.push(
    "#### Target: `ANALYTICS_DB` fed by a Queue, D1 read replicas on",
    "",
    ...table(model(a, true)),
    "",
    END,
  );
  return lines.join("\n");
}

const { a, check, write } = options();
const block = render(a);
if (check || write) {
  const doc = readFileSync(DOC, "utf8");
  const i = doc.indexOf(START);
  const j = doc.indexOf(END);
  if (i < 0 || j < i) throw new Error(`docs/scaling.md has no ${START} … ${END} block`);
  const current = doc.slice(i, j + END.length);
  if (write) writeFileSync(DOC, doc.slice(0, i) + block + doc.slice(j + END.length));
  else if (current !== block) {
    console.error("docs/scaling.md disagrees with `node bench/capacity.mjs`; run it with --write.");
    process.exit(1);
  }
} else {
  console.log(block);
}
