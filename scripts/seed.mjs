// `npm run seed`: a realistic demo dataset in the LOCAL platform started by `npm start`.
//  - the last 6 days of analytics events, payments (create-intent + confirm with
//    pm_card_visa), support tickets and chat messages go through the public API;
//  - older history (6 weeks of events, payments, refunds, subscriptions and their MRR
//    movements) is written as SQL with `wrangler d1 execute DB|ANALYTICS_DB --local`, because the
//    ingest API rightly refuses timestamps older than 7 days.
// Parts whose endpoints are missing or failing are skipped with a message.
// Options: PLATFORM_URL (default http://127.0.0.1:8787), SEED_USERS (default 60).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ensureDevVars, ROOT, readDevVars } from "./lib/dev-vars.mjs";
import { REBUILD_ROLLUPS } from "./lib/rollups.mjs";
import { signDevToken } from "./lib/token.mjs";

const BASE = process.env.PLATFORM_URL ?? "http://127.0.0.1:8787";
const USERS = Number(process.env.SEED_USERS ?? 60);
const DAY = 86_400_000;
const HISTORY_DAYS = 42;
const API_DAYS = 6; // inside the ingest API's 7-day window, with a margin

const log = (msg) => console.log(`\x1b[36m[seed]\x1b[0m ${msg}`);

// Deterministic pseudo-random numbers (mulberry32), so two runs look alike.
let state = 0x5eed;
function rand() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const chance = (p) => rand() < p;
const uuid = () => crypto.randomUUID();
const q = (v) =>
  v === null || v === undefined
    ? "NULL"
    : typeof v === "number"
      ? String(v)
      : `'${String(v).replaceAll("'", "''")}'`;

ensureDevVars();
const { JWT_SECRET } = readDevVars();
const token = (role, sub, merchantId) => signDevToken(JWT_SECRET, { role, sub, merchantId, expiresIn: "1h" });

async function call(method, route, tok, body) {
  const res = await fetch(`${BASE}${route}`, {
    method,
    headers: { authorization: `Bearer ${tok}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json };
}

// ---------------------------------------------------------------- sanity check
try {
  const health = await fetch(`${BASE}/api/v1/health`);
  if (!health.ok) throw new Error(`health ${health.status}`);
} catch (err) {
  console.error(
    `[seed] the platform is not answering on ${BASE} (${err.message}). Start it first: npm start`,
  );
  process.exit(1);
}
const openapi = await (await fetch(`${BASE}/api/v1/openapi.json`)).json();
const hasPath = (p) => Boolean(openapi.paths?.[p]);

// ---------------------------------------------------------------- people
const now = Date.now();
const merchants = [uuid(), uuid()];
const users = Array.from({ length: USERS }, (_, i) => ({
  id: uuid(),
  // Sign-ups spread over the history; early users have had more time to churn.
  firstSeen: now - Math.floor(rand() * HISTORY_DAYS) * DAY - Math.floor(rand() * DAY),
  loyalty: 0.15 + rand() * 0.6,
  merchantId: i % 10 === 0 ? pick(merchants) : null,
}));
const adminSub = "00000000-0000-4000-8000-00000000a001"; // the token `npm start` prints

// ---------------------------------------------------------------- analytics events
const PAGES = ["/home", "/pricing", "/features", "/docs", "/checkout", "/account", "/blog/launch"];
const BUTTONS = {
  "/home": ["cta-start", "nav-pricing"],
  "/pricing": ["plan-basic", "plan-pro", "buy"],
  "/checkout": ["pay"],
  "/features": ["demo"],
};
const FEATURES = ["export_csv", "dark_mode", "invite_team", "api_keys", "reports"];
const SOURCES = ["web", "ios", "android", "campaign_email", "partner"];
const CAMPAIGNS = ["spring_sale", "newsletter_42", "black_friday"];
const UTM_LANDINGS = {
  campaign_email: "/home?utm_source=newsletter&utm_medium=email&utm_campaign=newsletter_42",
  partner: "/home?utm_source=partner&utm_medium=referral",
};

/** One visit: a realistic path through the site, minutes apart. */
function session(userId, start) {
  const sessionId = uuid();
  const events = [];
  let t = start;
  const add = (event_type, page, element, properties) => {
    events.push({ event_type, user_id: userId, session_id: sessionId, page, element, properties, at: t });
    t += 15_000 + Math.floor(rand() * 120_000);
  };
  const source = pick(SOURCES);
  // Tagged landings feed UTM attribution (revenue by source on the dashboard); derived from the
  // source so the random stream, and every other seeded number, stays the same.
  add("session_started", UTM_LANDINGS[source] ?? "/home", undefined, { source });
  if (source === "campaign_email") add("campaign_viewed", "/home", pick(CAMPAIGNS));
  let page = chance(0.6) ? "/home" : pick(PAGES);
  const views = chance(0.3) ? 1 : 2 + Math.floor(rand() * 5);
  for (let v = 0; v < views; v++) {
    add("page_view", page);
    if (BUTTONS[page] && chance(0.5)) add("button_click", page, pick(BUTTONS[page]));
    if (chance(0.2)) add("feature_used", page, pick(FEATURES));
    if (chance(0.03)) add("error_occurred", page, undefined, { code: pick(["E_TIMEOUT", "E_VALIDATION"]) });
    page =
      page === "/home" && chance(0.5)
        ? "/pricing"
        : page === "/pricing" && chance(0.35)
          ? "/checkout"
          : pick(PAGES);
  }
  if (views > 1) add("session_ended", page);
  return events;
}

const events = [];
for (const u of users) {
  for (let day = 0; day < HISTORY_DAYS; day++) {
    const dayStart = now - (HISTORY_DAYS - day) * DAY;
    if (dayStart + DAY < u.firstSeen) continue;
    const weeksIn = Math.max(0, (dayStart - u.firstSeen) / (7 * DAY));
    const p = dayStart < u.firstSeen ? 1 : u.loyalty * 0.85 ** weeksIn;
    if (!chance(p * 0.5)) continue;
    // Busier in working hours (UTC), quieter at night.
    const hour = chance(0.75) ? 8 + Math.floor(rand() * 11) : Math.floor(rand() * 24);
    const start = Math.max(u.firstSeen, dayStart + hour * 3_600_000 + Math.floor(rand() * 3_600_000));
    if (start < now - 60_000) events.push(...session(u.id, start));
  }
}
for (let i = 0; i < USERS * 4; i++) {
  events.push(...session(null, now - Math.floor(rand() * HISTORY_DAYS * DAY)));
}
const recentCutoff = now - API_DAYS * DAY;
const recent = events.filter((e) => e.at >= recentCutoff && e.at < now - 60_000);
const old = events.filter((e) => e.at < recentCutoff);

// ---------------------------------------------------------------- history as SQL
// Two databases (issue 16): analytics rows go to ANALYTICS_DB, everything else to DB.
const sql = [];
const analyticsSql = [];
function insert(table, columns, rows, into = sql) {
  for (let i = 0; i < rows.length; i += 200) {
    const values = rows.slice(i, i + 200).map((r) => `(${r.map(q).join(", ")})`);
    into.push(`INSERT OR IGNORE INTO ${table} (${columns.join(", ")}) VALUES\n${values.join(",\n")};`);
  }
}
insert(
  "users",
  ["id", "role", "merchant_id", "created_at", "last_seen_at"],
  users.map((u) => [u.id, "user", null, u.firstSeen, now]),
);
const eventRow = (e) => [
  uuid(),
  e.event_type,
  e.user_id,
  e.session_id,
  e.page ?? null,
  e.element ?? null,
  null,
  e.properties ? JSON.stringify(e.properties) : null,
  e.at,
  e.at,
];
const EVENT_COLUMNS = [
  "id",
  "event_type",
  "user_id",
  "session_id",
  "page",
  "element",
  "source",
  "properties",
  "occurred_at",
  "received_at",
];

// Payments: mostly succeeded, some refunded, a few failed; usd and some eur.
const payments = [];
const refunds = [];
const paymentEvents = [];
for (let i = 0; i < USERS * 5; i++) {
  const u = pick(users);
  const at = Math.max(u.firstSeen, now - Math.floor(rand() * HISTORY_DAYS * DAY));
  if (at > now - 60_000) continue;
  const currency = chance(0.85) ? "usd" : "eur";
  const amount = pick([900, 1500, 2900, 4900, 9900, 12500, 2500]);
  const roll = rand();
  const status =
    roll < 0.08 ? "failed" : roll < 0.14 ? "refunded" : roll < 0.2 ? "partially_refunded" : "succeeded";
  const refunded =
    status === "refunded" ? amount : status === "partially_refunded" ? Math.floor(amount / 2) : 0;
  const source = pick(SOURCES);
  const campaign = source === "campaign_email" ? pick(CAMPAIGNS) : null;
  const id = uuid();
  payments.push([
    id,
    u.id,
    u.merchantId,
    amount,
    currency,
    refunded,
    status,
    "Demo order",
    campaign,
    source,
    status === "failed" ? null : at,
    at,
    at,
  ]);
  if (refunded > 0) {
    const rAt = Math.min(now - 60_000, at + Math.floor(rand() * 5 * DAY));
    refunds.push([
      uuid(),
      id,
      null,
      refunded,
      currency,
      "requested_by_customer",
      "succeeded",
      adminSub,
      rAt,
      rAt,
    ]);
  }
  if (status !== "failed") {
    paymentEvents.push({
      event_type: "payment_completed",
      user_id: u.id,
      session_id: `server:${id}`,
      properties: { payment_id: id, amount, currency },
      at,
    });
  }
}
insert(
  "payments",
  [
    "id",
    "user_id",
    "merchant_id",
    "amount",
    "currency",
    "amount_refunded",
    "status",
    "description",
    "campaign_id",
    "source",
    "paid_at",
    "created_at",
    "updated_at",
  ],
  payments,
);
insert(
  "refunds",
  [
    "id",
    "payment_id",
    "stripe_refund_id",
    "amount",
    "currency",
    "reason",
    "status",
    "created_by",
    "created_at",
    "updated_at",
  ],
  refunds,
);
insert("analytics_events", EVENT_COLUMNS, [...old, ...paymentEvents].map(eventRow), analyticsSql);

// Subscriptions with their MRR history: new, some upgrades/downgrades, some cancellations.
const PLANS = [
  { id: "basic_monthly", amount: 900, interval: "month" },
  { id: "pro_monthly", amount: 2900, interval: "month" },
  { id: "pro_yearly", amount: 29000, interval: "year" },
  { id: "business_monthly", amount: 9900, interval: "month" },
];
const monthly = (p) => (p.interval === "year" ? Math.round(p.amount / 12) : p.amount);
const subs = [];
const moves = [];
for (const u of users.filter(() => chance(0.55))) {
  const subId = uuid();
  const created = u.firstSeen + Math.floor(rand() * 3 * DAY);
  if (created > now - DAY) continue;
  let plan = pick(PLANS);
  const move = (kind, before, after, at) =>
    moves.push([uuid(), subId, u.id, kind, before, after, "usd", at, `seed:${uuid()}`]);
  move("new", 0, monthly(plan), created);
  let t = created;
  if (chance(0.25)) {
    t += Math.floor(rand() * (now - t) * 0.5);
    const next = pick(PLANS.filter((p) => p.id !== plan.id));
    move(monthly(next) > monthly(plan) ? "expansion" : "contraction", monthly(plan), monthly(next), t);
    plan = next;
  }
  let status = "active";
  let endedAt = null;
  if (chance(0.2)) {
    endedAt = t + Math.floor(rand() * (now - t));
    status = "canceled";
    move("churn", monthly(plan), 0, endedAt);
  }
  subs.push([
    subId,
    u.id,
    plan.id,
    status,
    plan.amount,
    "usd",
    plan.interval,
    1,
    created,
    created + 30 * DAY,
    0,
    endedAt,
    endedAt,
    created,
    now,
  ]);
}
insert(
  "subscriptions",
  [
    "id",
    "user_id",
    "plan_id",
    "status",
    "amount",
    "currency",
    "interval",
    "quantity",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "canceled_at",
    "ended_at",
    "created_at",
    "updated_at",
  ],
  subs,
);
insert(
  "mrr_movements",
  [
    "id",
    "subscription_id",
    "user_id",
    "kind",
    "mrr_before",
    "mrr_after",
    "currency",
    "occurred_at",
    "source_id",
  ],
  moves,
);

// Rows written as SQL bypass the ingest path that keeps the report rollups, so they are
// rebuilt from analytics_events (exact: this runs before this run's API events).
analyticsSql.push(`${REBUILD_ROLLUPS}`);

const dir = mkdtempSync(path.join(tmpdir(), "seed-"));
log(
  `writing history: ${old.length + paymentEvents.length} events, ${payments.length} payments, ${refunds.length} refunds, ${subs.length} subscriptions, ${moves.length} MRR movements`,
);
for (const [binding, statements] of [
  ["DB", sql],
  ["ANALYTICS_DB", analyticsSql],
]) {
  const file = path.join(dir, `${binding}.sql`);
  writeFileSync(file, statements.join("\n"));
  const exec = spawnSync(
    path.join(ROOT, "node_modules/.bin/wrangler"),
    ["d1", "execute", binding, "--local", "--file", file, "--yes"],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (exec.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    console.error(`[seed] wrangler d1 execute ${binding} failed:\n${exec.stderr || exec.stdout}`);
    process.exit(1);
  }
}
rmSync(dir, { recursive: true, force: true });

// ---------------------------------------------------------------- recent events via the API
let accepted = 0;
let rejected = 0;
const byActor = new Map();
for (const e of recent) {
  const key = e.user_id ?? "anonymous";
  if (!byActor.has(key)) byActor.set(key, []);
  byActor.get(key).push(e);
}
// The demo's visitors are browsers: Node's own User-Agent ("node") is on isbot's list, and
// ingest would file every seeded event as bot traffic (docs/analytics.md, "Bot filtering").
const BROWSER_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
for (const [actor, list] of byActor) {
  const tok = actor === "anonymous" ? null : await token("user", actor);
  for (let i = 0; i < list.length; i += 100) {
    const batch = list.slice(i, i + 100).map(({ event_type, session_id, page, element, properties, at }) => ({
      event_type,
      session_id,
      timestamp: at,
      ...(page ? { page } : {}),
      ...(element ? { element } : {}),
      ...(properties ? { properties } : {}),
    }));
    const res = await fetch(`${BASE}/api/v1/analytics/events`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": BROWSER_UA,
        ...(tok ? { authorization: `Bearer ${tok}` } : {}),
      },
      body: JSON.stringify({ events: batch }),
    });
    const body = await res.json();
    accepted += body.accepted ?? 0;
    rejected += body.rejected ?? 0;
  }
}
log(`recent events through POST /api/v1/analytics/events: ${accepted} accepted, ${rejected} rejected`);

// ---------------------------------------------------------------- live payments via the API
if (hasPath("/api/v1/payments/create-intent") && hasPath("/api/v1/payments/confirm")) {
  let ok = 0;
  for (const u of users.slice(0, 6)) {
    const tok = await token("user", u.id);
    const intent = await call("POST", "/api/v1/payments/create-intent", tok, {
      amount: pick([1500, 2900, 4900]),
      currency: "usd",
      description: "Demo purchase",
      source: pick(["web", "ios"]),
    });
    if (intent.status !== 201 && intent.status !== 200) {
      log(
        `payments: create-intent answered ${intent.status} (is the Stripe emulator up?); skipping live payments`,
      );
      break;
    }
    const confirm = await call("POST", "/api/v1/payments/confirm", tok, {
      payment_id: intent.json.payment_id,
      payment_method: "pm_card_visa",
    });
    if (confirm.status < 300) ok++;
  }
  log(`payments through the API (pm_card_visa): ${ok}`);
} else {
  log("payments API not available yet: skipped live payments (history was still written)");
}

// ---------------------------------------------------------------- tickets and messages
if (hasPath("/api/v1/support/tickets")) {
  const SUBJECTS = [
    "Refund for order #1042",
    "Cannot update my card",
    "Invoice needs VAT number",
    "App crashes on export",
    "Question about the Pro plan",
  ];
  const adminToken = await token("admin", adminSub);
  let tickets = 0;
  let messages = 0;
  for (const subject of SUBJECTS) {
    const u = pick(users);
    const tok = await token("user", u.id);
    const created = await call("POST", "/api/v1/support/tickets", tok, { subject });
    if (created.status !== 201) {
      log(`tickets: POST answered ${created.status}; skipping tickets`);
      break;
    }
    tickets++;
    const lines = [
      [tok, `Hello, ${subject.toLowerCase()}.`],
      [adminToken, "Thanks for reaching out, looking into it now."],
      [tok, "Great, thank you!"],
    ];
    messages += await chat(created.json.id, lines);
  }
  log(`support: ${tickets} tickets, ${messages} chat messages`);
} else {
  log("support tickets API not available yet: skipped tickets and messages");
}

/** Sends messages over the ticket's WebSocket (the only way messages are written). */
async function chat(ticketId, lines) {
  if (typeof WebSocket !== "function") return 0;
  let sent = 0;
  for (const [tok, body] of lines) {
    const ok = await new Promise((resolve) => {
      const ws = new WebSocket(`${BASE.replace(/^http/, "ws")}/ws/support/${ticketId}`, ["bearer", tok]);
      const timer = setTimeout(() => {
        ws.close();
        resolve(false);
      }, 5000);
      ws.addEventListener("open", () =>
        ws.send(JSON.stringify({ type: "message", client_id: uuid(), body })),
      );
      ws.addEventListener("message", (ev) => {
        const frame = JSON.parse(String(ev.data));
        if (frame.type === "message" || frame.type === "ack") {
          clearTimeout(timer);
          ws.close();
          resolve(true);
        }
      });
      ws.addEventListener("error", () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!ok) return sent;
    sent++;
  }
  return sent;
}

log(`done. Open ${BASE}/dashboard/ and paste an admin token (npm run token -- --role admin).`);
