// Ingest end to end (issue 16): events/s from the first POST /api/v1/analytics/events to the rows
// being visible in ANALYTICS_DB (read-only polling of its local SQLite file), with the seeded 1M
// events (scale 1) already there. Two paths, interleaved run by run, on the bench-only build
// bench/ingest-direct (one process, one database; ingest rate limits and budgets lifted for both):
// - queued: the production path, POST → sendBatch → analytics-ingest queue → consumer → D1 batch;
// - direct: the same validation, the rows written straight to ANALYTICS_DB inside the request
//   (`x-bench-ingest: direct`), as before the queue.
// `--only` picks sides; besides these two, the decomposition sides of bench/ingest-direct
// (no-budget, ack-only, post-only) each remove one more part of the queued path, and
// ack-only-budget is ack-only with the budget back (the budget's cost alone). The ack-only sides
// and post-only never write rows, so their figure is the accepted (202) rate, not rows visible.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { DatabaseSync } from "node:sqlite";
import { call, httpLoad } from "../lib/http-load.mjs";
import { d1File } from "../lib/seed.mjs";

const EVENTS_PER_POST = 100; // the ingest maximum per request
const SESSIONS_PER_POST = 5; // MAX_SESSIONS_PER_BATCH
const CONNECTIONS = 10;
const TARGET = 20_000;
const DRAIN_TIMEOUT_MS = 180_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SIDES = ["queued", "direct", "no-budget", "ack-only", "ack-only-budget", "post-only"];
/** Sides whose rows never reach ANALYTICS_DB. */
const NOT_WRITTEN = new Set(["ack-only", "ack-only-budget", "post-only"]);

/** Request bodies whose sessions all start with `prefix`, so the count is one index range. */
export function ingestBodies(prefix, n) {
  return Array.from({ length: n }, (_, b) => ({
    events: Array.from({ length: EVENTS_PER_POST }, (_, i) => ({
      event_type: i % 3 === 0 ? "button_click" : "page_view",
      session_id: `${prefix}${b}-${i % SESSIONS_PER_POST}`,
      page: `/bench/${i % 7}`,
      ...(i % 3 === 0 ? { element: `btn-${i % 5}` } : {}),
      source: "web",
    })),
  }));
}

async function oneRun(ctx, db, side, posts) {
  const prefix = `bench-ingest-${side}-${randomUUID()}-`;
  const count = db.prepare(
    "SELECT COUNT(*) AS n FROM analytics_events WHERE session_id >= ? AND session_id < ?",
  );
  const visible = () => count.get(prefix, `${prefix}\uffff`).n;
  const load = os.loadavg()[0];
  const t0 = Date.now();
  const res = await httpLoad({
    url: `${ctx.ingest.base}/api/v1/analytics/events`,
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(side === "queued" ? {} : { "x-bench-ingest": side }),
    },
    bodies: ingestBodies(prefix, posts),
    connections: CONNECTIONS,
    amount: posts,
    duration: 600,
  });
  const posted = Date.now();
  const expected = (res.statuses[202] ?? 0) * EVENTS_PER_POST;
  let n = NOT_WRITTEN.has(side) ? expected : visible();
  while (n < expected && Date.now() - t0 < DRAIN_TIMEOUT_MS) {
    await sleep(25);
    n = visible();
  }
  const done = Date.now();
  return {
    side,
    load,
    expected,
    visible: n,
    complete: n >= expected && expected > 0,
    eventsPerS: n / ((done - t0) / 1000),
    acceptPerS: expected / ((posted - t0) / 1000),
    drainMs: done - posted,
    statuses: res.statuses,
    p99: res.latency.p99,
  };
}

export async function run(ctx) {
  const { runs, scale, seed, log } = ctx;
  if (!ctx.ingest)
    return { figures: [{ label: "ingest", unavailable: "bench-only ingest build not started" }] };
  const events = Math.max(10_000, Math.round(200_000 * scale));
  const posts = Math.ceil(events / EVENTS_PER_POST);
  const probe = await call(ctx.ingest.base, "POST", "/api/v1/analytics/events", {
    body: ingestBodies("bench-probe-", 1)[0],
  });
  if (probe.status !== 202) {
    return {
      figures: [
        { label: "ingest", unavailable: `probe answered ${probe.status} ${probe.text.slice(0, 100)}` },
      ],
    };
  }
  const db = new DatabaseSync(d1File("ANALYTICS_DB", ctx.ingest.state), { readOnly: true });
  const sides = ctx.only ? SIDES.filter((s) => ctx.only.has(s)) : ["queued", "direct"];
  if (sides.length === 0) throw new Error(`--only names no ingest side; one of ${SIDES}`);
  const R = Object.fromEntries(sides.map((s) => [s, []]));
  try {
    for (let r = 0; r < runs; r++) {
      // Interleaved, the order alternating, so drift and the growing table hit all sides alike.
      for (const side of r % 2 ? [...sides].reverse() : sides) {
        log(`ingest: run ${r + 1}/${runs}, ${side}, ${posts * EVENTS_PER_POST} events`);
        R[side].push(await oneRun(ctx, db, side, posts));
      }
    }
  } finally {
    db.close();
  }
  const notes = [];
  for (const side of sides) {
    for (const x of R[side]) {
      if (!x.complete || Object.keys(x.statuses).some((s) => s !== "202"))
        notes.push(
          `${side}: ${x.visible}/${x.expected} events visible, statuses ${JSON.stringify(x.statuses)}`,
        );
    }
  }
  return {
    figures: ingestFigures(R),
    notes,
    setup: [
      `${seed.analytics} analytics events seeded in ANALYTICS_DB; per run and side ${posts} POSTs of ${EVENTS_PER_POST} events (${SESSIONS_PER_POST} sessions each), autocannon ${CONNECTIONS} connections, separate process; visibility polled every 25 ms from ANALYTICS_DB's SQLite file (read-only); bench-only build bench/ingest-direct (ingest rate limits and budgets lifted on both sides)`,
    ],
  };
}

/** The workload's figures from its runs (`R.queued`, `R.direct`: one result per run each). */
export function ingestFigures(R) {
  const target = { metric: "value", op: ">=", value: TARGET, text: "≥ 20,000 events/s" };
  const fig = (label, side, pick, extra = {}) => ({
    label,
    unit: extra.unit ?? "events/s",
    values: R[side].map(pick),
    loads: R[side].map((x) => x.load),
    ...extra,
  });
  const figures = [];
  if (R.queued) {
    figures.push(
      fig("queued: first POST → rows visible in ANALYTICS_DB", "queued", (x) => x.eventsPerS, {
        target,
        ...(R.direct ? { baseline: R.direct.map((x) => x.eventsPerS) } : {}),
      }),
    );
  }
  if (R.direct) {
    figures.push(
      fig("direct (bench-only): first POST → rows visible", "direct", (x) => x.eventsPerS, { target }),
    );
  }
  // The decomposition: no target, each is the queued path with parts removed.
  const parts = {
    "no-budget": "no-budget (bench-only: budget take skipped): first POST → rows visible",
    "ack-only": "ack-only (bench-only: no budget, consumer acks without writing): accepted (202) rate",
    "ack-only-budget":
      "ack-only-budget (bench-only: budget, consumer acks without writing): accepted (202) rate",
    "post-only": "post-only (bench-only: no budget, no queue): accepted (202) rate",
  };
  for (const [side, label] of Object.entries(parts)) {
    if (R[side]) figures.push(fig(label, side, (x) => (NOT_WRITTEN.has(side) ? x.acceptPerS : x.eventsPerS)));
  }
  if (R.queued) {
    figures.push(
      fig("queued: accepted (202) rate during the POSTs", "queued", (x) => x.acceptPerS),
      fig("queued: drain after the last 202", "queued", (x) => x.drainMs, { unit: "ms" }),
      fig("POST p99, queued", "queued", (x) => x.p99, {
        unit: "ms",
        ...(R.direct ? { baseline: R.direct.map((x) => x.p99) } : {}),
      }),
    );
  }
  return figures;
}
