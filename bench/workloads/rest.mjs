// REST: the bare route and /health first (the floor and the cost of our middleware), then the
// payment and analytics endpoints, each as a ratio to the bare route measured in the same run.
// Runs are interleaved (bare, ours, bare, ours…) so drift on the shared machine hits both alike.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { call, httpLoad } from "../lib/http-load.mjs";
import { waitQuiet } from "../lib/procs.mjs";
import { BENCH_USER } from "../lib/seed.mjs";

const DAY = 86_400_000;
const CONNECTIONS = 10;

async function tokenPool(ctx, role, n) {
  return Promise.all(
    Array.from({ length: n }, () =>
      ctx.token(role, randomUUID(), role === "merchant" ? randomUUID() : undefined),
    ),
  );
}

/** Probes once; returns null when available, else why not (the endpoint may not be written yet). */
async function unavailable(base, method, path, opts, ok = [200, 201, 202]) {
  try {
    const res = await call(base, method, path, opts);
    if (ok.includes(res.status)) return null;
    return `probe answered ${res.status} ${res.json?.error?.code ?? ""}`.trim();
  } catch (e) {
    return `probe failed: ${e.message}`;
  }
}

function latencyFigures(label, runs, bare, target) {
  const loads = runs.map((r) => r.load);
  const figs = [
    {
      label: `${label} p50`,
      unit: "ms",
      values: runs.map((r) => r.latency.p50),
      baseline: bare.map((r) => r.latency.p50),
      loads,
    },
    {
      label: `${label} p99`,
      unit: "ms",
      values: runs.map((r) => r.latency.p99),
      baseline: bare.map((r) => r.latency.p99),
      target: target?.p99,
      loads,
    },
    {
      label: `${label} throughput`,
      unit: "req/s",
      values: runs.map((r) => r.rps),
      baseline: bare.map((r) => r.rps),
      target: target?.rps,
      loads,
    },
  ];
  const bad = runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
  if (bad) figs[2].note = `${bad} non-2xx/errors: ${JSON.stringify(runs.map((r) => r.statuses))}`;
  const busy = runs.filter((r) => r.busy).length + bare.filter((r) => r.busy).length;
  if (busy)
    figs[2].note = [figs[2].note, `${busy} run(s) started on servers that never went quiet`]
      .filter(Boolean)
      .join("; ");
  return figs;
}

export async function run(ctx) {
  const { platform, baseline, runs, duration, seed, log } = ctx;
  const api = `${platform.base}/api/v1`;
  const figures = [];
  const notes = [];
  // Every figure starts on quiet servers: the ingest case leaves its queue draining and
  // create-intent leaves webhooks in flight, which otherwise land in the next run's bare route
  // (a 17:13 run measured the bare route at 700, 337 and 313 req/s in its three runs). Each
  // result records the 1-minute load average as it started (report.mjs, LOADED_ABOVE).
  const servers = [platform, baseline, ctx.emulators, ctx.stubbed].filter(Boolean);
  const QUIET_MAX_MS = 30_000;
  const load = async (url, extra = {}) => {
    const waited = await waitQuiet(servers, QUIET_MAX_MS);
    const loadAvg = os.loadavg()[0];
    const result = await httpLoad({ url, connections: CONNECTIONS, duration, ...extra });
    // A figure measured on servers that never went quiet says so, in the notes and the table.
    if (waited >= QUIET_MAX_MS)
      notes.push(`${url}: servers still busy after ${QUIET_MAX_MS / 1000} s; measured anyway`);
    return { ...result, load: loadAvg, busy: waited >= QUIET_MAX_MS };
  };

  // Identities: admins read the bench user's history (a page of 50 with filters); many distinct
  // callers keep the per-user payment rate limit (30/min) out of the figures. Warm them up once so
  // the one-time users-directory upsert per caller is not in the figures either.
  const admins = await tokenPool(ctx, "admin", 600);
  const users = await tokenPool(ctx, "user", 600);
  log("rest: warming up callers");
  await httpLoad({
    url: `${api}/health`,
    connections: 20,
    amount: admins.length,
    duration: 60,
    tokens: admins,
  });
  await httpLoad({
    url: `${api}/health`,
    connections: 20,
    amount: users.length,
    duration: 60,
    tokens: users,
  });

  if (ctx.stubbed) {
    log("rest: warming up callers on the stubbed-limiter build");
    await httpLoad({
      url: `${ctx.stubbed.base}/api/v1/health`,
      connections: 20,
      amount: admins.length,
      duration: 60,
      tokens: admins,
    });
  }

  const from = new Date(Date.now() - 150 * DAY).toISOString();
  const historyQuery = `user_id=${BENCH_USER}&status=succeeded,refunded,partially_refunded&from=${encodeURIComponent(from)}&limit=50`;
  const historyPath = `/api/v1/payments/history?${historyQuery}`;
  const historySqlPath = `/bench/history-sql?${historyQuery}`;
  const ids = seed.benchPaymentIds ?? [];
  const batch = () => ({
    events: Array.from({ length: 50 }, (_, i) => ({
      event_type: i % 3 === 0 ? "button_click" : "page_view",
      session_id: `bench-${randomUUID()}`,
      page: `/bench/${i % 7}`,
      ...(i % 3 === 0 ? { element: `btn-${i % 5}` } : {}),
      source: "web",
    })),
  });
  const bodies = Array.from({ length: 20 }, batch);
  const intentBody = (i) => ({ amount: 1000 + i, currency: "usd", description: "bench", source: "web" });

  const cases = [
    {
      key: "health",
      label: "GET /api/v1/health",
      probe: ["GET", "/api/v1/health", {}],
      cfg: { url: `${api}/health` },
    },
    {
      key: "history",
      label: "GET /payments/history (50, filtered)",
      probe: ["GET", historyPath, { token: admins[0] }],
      cfg: { url: `${platform.base}${historyPath}`, tokens: admins },
      target: {
        p99: { metric: "ratio", op: "<=", value: 2, text: "p99 ≤ 2× bare" },
        rps: { metric: "ratio", op: ">=", value: 0.5, text: "≥ 50% of bare" },
      },
    },
    ...(ctx.stubbed
      ? [
          {
            // Same handler, same seed (a copy), PAYMENT_RATE_LIMITER stubbed: isolates what the
            // local rate-limit simulation costs the endpoint (bench/stub-limiter, bench-only).
            key: "history-stub",
            label: "GET /payments/history, rate limiter stubbed (bench-only build)",
            probe: ["GET", historyPath, { token: admins[0] }],
            base: ctx.stubbed.base,
            cfg: { url: `${ctx.stubbed.base}${historyPath}`, tokens: admins },
          },
          {
            // The page's statement alone on local D1 (bench/stub-limiter, on that server's copy
            // of the seed): the floor of any handler that reads these rows locally, with none of
            // our request path.
            key: "history-sql",
            label: "history's SQL alone on local D1 (bench-only route, no middleware)",
            probe: ["GET", historySqlPath, {}],
            base: ctx.stubbed.base,
            cfg: { url: `${ctx.stubbed.base}${historySqlPath}` },
          },
        ]
      : []),
    {
      key: "by-id",
      label: "GET /payments/{id}",
      probe: ["GET", `/api/v1/payments/${ids[0]}`, { token: admins[0] }],
      cfg: {
        url: `${api}/payments/${ids[0]}`,
        paths: ids.map((id) => `/api/v1/payments/${id}`),
        tokens: admins,
      },
    },
    {
      key: "ingest",
      label: "POST /analytics/events (batch of 50)",
      probe: ["POST", "/api/v1/analytics/events", { body: bodies[0] }],
      cfg: {
        url: `${api}/analytics/events`,
        method: "POST",
        headers: { "content-type": "application/json" },
        bodies,
      },
      events: 50,
    },
    {
      key: "create-intent",
      label: "POST /payments/create-intent (Stripe emulator)",
      probe: ["POST", "/api/v1/payments/create-intent", { token: users[0], body: intentBody(0) }],
      cfg: {
        url: `${api}/payments/create-intent`,
        method: "POST",
        headers: { "content-type": "application/json" },
        bodies: Array.from({ length: 50 }, (_, i) => intentBody(i)),
        tokens: users.slice(1),
      },
    },
  ];

  const available = [];
  // `--only history,history-stub` measures those cases (and the bare route) alone, e.g. to profile one.
  for (const c of cases.filter((c) => !ctx.only || ctx.only.has(c.key))) {
    const why = c.probe[1].includes("undefined")
      ? "no seeded payment ids"
      : await unavailable(c.base ?? platform.base, ...c.probe);
    if (why) {
      log(`rest: ${c.label} not available (${why})`);
      figures.push({ label: c.label, unavailable: why, target: c.target?.p99 });
    } else available.push(c);
  }

  const bare = [];
  const results = Object.fromEntries(available.map((c) => [c.key, []]));
  for (let r = 0; r < runs; r++) {
    log(`rest: run ${r + 1}/${runs}`);
    bare.push(await load(`${baseline.base}/empty`));
    for (const c of available) {
      results[c.key].push(await load(c.cfg.url, c.cfg));
    }
  }

  figures.unshift(
    ...[
      ["p50", "ms", (r) => r.latency.p50],
      ["p99", "ms", (r) => r.latency.p99],
      ["throughput", "req/s", (r) => r.rps],
    ].map(([what, unit, pick]) => ({
      label: `bare route GET /empty ${what}`,
      unit,
      values: bare.map(pick),
      loads: bare.map((r) => r.load),
    })),
  );
  for (const c of available) {
    const rs = results[c.key];
    figures.push(...latencyFigures(c.label, rs, bare, c.target));
    if (c.events) {
      // Events the platform answered 202 for, with the production abuse limits on (one loopback
      // client is mostly refused with 429): not the ingest figure. The end-to-end one, first POST
      // to rows visible in ANALYTICS_DB against the 20k target, is the ingest workload's.
      figures.push({
        label: `${c.label}: events accepted/s (abuse limits on)`,
        unit: "events/s",
        values: rs.map((x) => (x.rps * c.events * (x.requests - x.non2xx)) / Math.max(1, x.requests)),
      });
    }
  }
  // The endpoint against its own floor in the same runs: what our request path adds to the
  // statement on local D1 (no target: the targets are against the bare route).
  if (results.history?.length && results["history-sql"]?.length) {
    const floor = results["history-sql"];
    figures.push(
      ...latencyFigures("GET /payments/history vs its SQL alone", results.history, floor).filter(
        (f) => !f.label.endsWith("p50"),
      ),
    );
  }
  for (const f of figures) if (f.note) notes.push(`${f.label}: ${f.note}`);
  return {
    figures,
    notes,
    setup: [
      `${seed.payments} payments (bench user owns ~5%), ${seed.analytics} analytics events seeded; autocannon ${CONNECTIONS} connections × ${duration}s per figure per run, separate process`,
      "every figure starts once all servers' workerd processes are quiet (under 10% of a core for 0.5 s, at most 30 s; a figure that started busy says so in its note); load = 1-minute load average as each run started",
      "history's SQL alone: the page's statement on a read session of the stub-limiter server's D1 (its copy of the seed), rows returned as D1 gives them, no middleware",
      "history: admin callers with user_id filter, status in (succeeded, refunded, partially_refunded), from = 150 days ago, limit 50; 600 distinct warmed-up callers rotate to stay under the 30/min payment rate limit",
    ],
  };
}
