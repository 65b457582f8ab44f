// Analytics report latency on 1M events (target: p50 < 500 ms per report; docs/analytics.md).
//
//   node bench/analytics-reports.mjs [--events 1000000] [--samples 15] [--json out.json]
//
// Self-contained and loopback only: applies the migrations to a temporary local D1,
// bulk-loads the synthetic dataset straight into that SQLite file (node:sqlite, one
// transaction: seconds instead of hours through the API), then starts the platform with
// wrangler's unstable_startWorker on 127.0.0.1 and times each report over HTTP, with an
// admin token, against a baseline (GET /api/v1/health, same runtime, same run).
// Each report gets 2 warm-up calls and then `samples` timed calls, capped at 60 s.
import { spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { unstable_startWorker } from "wrangler";
import { REBUILD_ROLLUPS } from "../scripts/lib/rollups.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
// Loopback only: miniflare would otherwise fetch the Request.cf placeholder from
// workers.cloudflare.com on start-up.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "1000000" },
    samples: { type: "string", default: "15" },
    json: { type: "string", default: path.join(ROOT, "bench/.results/analytics-reports.json") },
  },
});
const EVENTS = Number(args.events);
const SAMPLES = Number(args.samples);
const DAY = 86_400_000;
const SPAN_DAYS = 90;
const log = (m) => console.log(`[bench:analytics] ${m}`);

// Deterministic data: the same dataset every run.
let seed = 42;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const hex = (n) =>
  Math.floor(rand() * 16 ** 8)
    .toString(16)
    .padStart(8, "0") + n.toString(16).padStart(8, "0");

function findSqlite(dir) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      const hit = findSqlite(p);
      if (hit) return hit;
    } else if (name.endsWith(".sqlite") && !name.startsWith("metadata")) return p;
  }
  return null;
}

function load(file, now) {
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;");
  const start = now - SPAN_DAYS * DAY;
  const users = 20_000;
  const insert = db.prepare(
    `INSERT INTO analytics_events (id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const PAGES = ["/home", "/pricing", "/features", "/docs", "/checkout", "/account"];
  const ELEMENTS = ["buy", "cta", "nav", "plan-pro", "plan-basic"];
  db.exec("BEGIN");
  let n = 0;
  let s = 0;
  while (n < EVENTS) {
    const user = rand() < 0.3 ? null : `user-${Math.floor(rand() ** 1.5 * users)}`;
    const session = `sess-${s++}`;
    let t = start + Math.floor(rand() * SPAN_DAYS * DAY);
    const len = 2 + Math.floor(rand() * 12);
    for (let i = 0; i < len && n < EVENTS; i++, n++) {
      const r = rand();
      const type =
        i === 0
          ? "session_started"
          : r < 0.5
            ? "page_view"
            : r < 0.75
              ? "button_click"
              : r < 0.87
                ? "feature_used"
                : r < 0.93
                  ? "campaign_viewed"
                  : r < 0.96
                    ? "error_occurred"
                    : r < 0.98
                      ? "payment_completed"
                      : "session_ended";
      const page = pick(PAGES);
      const element = type === "button_click" || type === "feature_used" ? pick(ELEMENTS) : null;
      insert.run(hex(n), type, user, session, page, element, null, null, t, t);
      t += 5_000 + Math.floor(rand() * 90_000);
    }
  }
  const pay = db.prepare(
    `INSERT INTO payments (id, user_id, amount, currency, amount_refunded, status, source, campaign_id, paid_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (let i = 0; i < 20_000; i++) {
    const t = start + Math.floor(rand() * SPAN_DAYS * DAY);
    pay.run(
      `pay-${i}`,
      `user-${i % users}`,
      pick([900, 2900, 4900]),
      rand() < 0.9 ? "usd" : "eur",
      0,
      rand() < 0.9 ? "succeeded" : "failed",
      pick(["web", "ios", "android"]),
      rand() < 0.2 ? pick(["c1", "c2"]) : null,
      t,
      t,
      t,
    );
  }
  const sub = db.prepare(
    `INSERT INTO subscriptions (id, user_id, plan_id, status, amount, currency, interval, quantity, cancel_at_period_end, created_at, updated_at, ended_at)
     VALUES (?, ?, ?, ?, ?, 'usd', ?, 1, 0, ?, ?, ?)`,
  );
  const move = db.prepare(
    `INSERT INTO mrr_movements (id, subscription_id, user_id, kind, mrr_before, mrr_after, currency, occurred_at, source_id)
     VALUES (?, ?, ?, ?, ?, ?, 'usd', ?, ?)`,
  );
  for (let i = 0; i < 5_000; i++) {
    const t = start + Math.floor(rand() * SPAN_DAYS * DAY);
    const yearly = rand() < 0.2;
    const amount = yearly ? 29000 : 2900;
    const ended = rand() < 0.15 ? t + Math.floor(rand() * (now - t)) : null;
    sub.run(
      `sub-${i}`,
      `user-${i}`,
      "pro",
      ended ? "canceled" : "active",
      amount,
      yearly ? "year" : "month",
      t,
      t,
      ended,
    );
    const mrr = yearly ? Math.round(amount / 12) : amount;
    move.run(`mv-${i}-n`, `sub-${i}`, `user-${i}`, "new", 0, mrr, t, `src-${i}-n`);
    if (ended) move.run(`mv-${i}-c`, `sub-${i}`, `user-${i}`, "churn", mrr, 0, ended, `src-${i}-c`);
  }
  // Direct inserts bypass the ingest path that maintains the report rollups: build them.
  db.exec(REBUILD_ROLLUPS);
  db.exec("COMMIT");
  db.exec("ANALYZE");
  db.close();
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { n: sorted.length, p50: at(50), p99: at(99), max: sorted.at(-1) };
}

async function time(url, headers) {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${url} → ${res.status}`);
  return ms;
}

async function measure(url, headers) {
  for (let i = 0; i < 2; i++) await time(url, headers);
  const samples = [];
  const deadline = Date.now() + 60_000;
  while (samples.length < SAMPLES && Date.now() < deadline) samples.push(await time(url, headers));
  return stats(samples);
}

const persist = mkdtempSync(path.join(tmpdir(), "bench-analytics-"));
let worker;
try {
  const migrate = spawnSync(
    path.join(ROOT, "node_modules/.bin/wrangler"),
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist],
    { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "1" } },
  );
  if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr || migrate.stdout}`);
  const file = findSqlite(path.join(persist, "v3/d1"));
  if (!file) throw new Error("local D1 file not found after migrations");
  const now = Date.now();
  let t0 = performance.now();
  load(file, now);
  log(
    `loaded ${EVENTS.toLocaleString("en-US")} events (+20k payments, 5k subscriptions) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const jwtSecret = randomBytes(32).toString("hex");
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const secrets = {
    JWT_SECRET: jwtSecret,
    STRIPE_SECRET_KEY: `sk_test_${randomBytes(12).toString("hex")}`,
    STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("hex")}`,
    GOOGLE_SERVICE_ACCOUNT_JSON: JSON.stringify({
      type: "service_account",
      project_id: "bench",
      client_email: "bench@bench.iam.gserviceaccount.com",
      private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    }),
  };
  t0 = performance.now();
  worker = await unstable_startWorker({
    config: path.join(ROOT, "wrangler.toml"),
    bindings: Object.fromEntries(
      Object.entries(secrets).map(([k, value]) => [k, { type: "plain_text", value }]),
    ),
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      persist,
      watch: false,
      logLevel: "warn",
    },
  });
  await worker.ready;
  const base = (await worker.url).toString().replace(/\/$/, "");
  log(`platform on ${base} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const token = await new SignJWT({ role: "admin" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bench-admin")
    .setIssuer("edge-platform")
    .setAudience("edge-platform-api")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(jwtSecret));
  const headers = { authorization: `Bearer ${token}` };
  const range = (days) =>
    `from=${new Date(now - days * DAY).toISOString()}&to=${new Date(now).toISOString()}`;
  const cases = [];
  for (const days of [30, 90]) {
    cases.push(
      [`user-behavior ${days}d`, `/api/v1/analytics/user-behavior?${range(days)}`],
      [
        `conversion-funnel ${days}d`,
        `/api/v1/analytics/conversion-funnel?${range(days)}&steps=page_view:/pricing,button_click,payment_completed&window=7d`,
      ],
      [`revenue ${days}d (week)`, `/api/v1/analytics/revenue?${range(days)}&interval=week`],
      [`retention ${days}d (week)`, `/api/v1/analytics/retention?${range(days)}&cohort=week&periods=8`],
    );
  }
  const baseline = await measure(`${base}/api/v1/health`, {});
  const rows = [];
  for (const [name, url] of cases) {
    const s = await measure(`${base}${url}`, headers);
    rows.push({ name, ...s, p50_ratio: s.p50 / baseline.p50 });
    log(`${name}: p50 ${s.p50.toFixed(0)} ms, p99 ${s.p99.toFixed(0)} ms (n=${s.n})`);
  }
  const fmt = (x) => x.toFixed(1);
  console.log(
    `\n| report (${EVENTS.toLocaleString("en-US")} events) | p50 ms | p99 ms | p50 / baseline | target p50 < 500 ms |`,
  );
  console.log("|---|---:|---:|---:|:---:|");
  console.log(`| baseline GET /api/v1/health | ${fmt(baseline.p50)} | ${fmt(baseline.p99)} | 1.0 | |`);
  for (const r of rows) {
    console.log(
      `| ${r.name} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.p50_ratio)} | ${r.p50 < 500 ? "yes" : "**no**"} |`,
    );
  }
  mkdirSync(path.dirname(args.json), { recursive: true });
  writeFileSync(
    args.json,
    JSON.stringify(
      { events: EVENTS, samples: SAMPLES, baseline, reports: rows, at: new Date().toISOString() },
      null,
      2,
    ),
  );
  log(`results written to ${path.relative(ROOT, args.json)}`);
} finally {
  await worker?.dispose();
  rmSync(persist, { recursive: true, force: true });
}
