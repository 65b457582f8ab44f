// Bulk seeding straight into the local D1 file under bench/.state, before workerd starts.
// `wrangler d1 execute --file` parses and round-trips every statement through Miniflare,
// which takes minutes for a million rows; one prepared statement in one SQLite transaction
// takes seconds, and the rows are the same. Only ever run while no wrangler holds the file.
import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { REBUILD_ROLLUPS } from "../../scripts/lib/rollups.mjs";
import { STATE_DIR } from "./env.mjs";

/**
 * The local file of one of the two databases: `DB` (payments, devices, ...) or `ANALYTICS_DB`
 * (raw events and rollups). Miniflare names the files by a hash, so each is found by whether it
 * has `payments` (DB's migrations still create the legacy analytics tables, for the one-off copy).
 * `stateDir`: another --persist-to (a bench-only build runs on its own copy of the seeded state).
 */
export function d1File(which = "DB", stateDir = STATE_DIR) {
  const dir = path.join(stateDir, "v3/d1/miniflare-D1DatabaseObject");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite")
    .filter((f) => {
      const db = new DatabaseSync(path.join(dir, f), { readOnly: true });
      try {
        const hasPayments = db
          .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'payments'")
          .get();
        return which === "DB" ? Boolean(hasPayments) : !hasPayments;
      } finally {
        db.close();
      }
    });
  if (files.length !== 1) throw new Error(`expected one ${which} database in ${dir}, found ${files.length}`);
  return path.join(dir, files[0]);
}

/** Deterministic PRNG (mulberry32) so every run seeds the same distribution. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (r, xs) => xs[Math.floor(r() * xs.length)];
const DAY = 86_400_000;

export const BENCH_USER = "00000000-0000-4000-8000-0000000b0001";
export const BENCH_MERCHANT = "00000000-0000-4000-8000-0000000b00aa";
const STATUSES = [
  "succeeded",
  "succeeded",
  "succeeded",
  "succeeded",
  "failed",
  "refunded",
  "partially_refunded",
  "processing",
  "canceled",
  "requires_payment_method",
];
const CURRENCIES = ["usd", "usd", "usd", "eur", "gbp", "jpy"];
const SOURCES = ["web", "ios", "android", "campaign_email", "campaign_push"];

function inTransaction(db, fn) {
  db.exec("BEGIN");
  try {
    fn();
    db.exec("COMMIT");
  } catch (e) {
    db.exec("ROLLBACK");
    throw e;
  }
}

/**
 * `payments` rows over the last 180 days: one bench user owns 5% of them (so a filtered page of 50
 * is a real index walk), the rest are spread over 2,000 users and 50 merchants. Returns a sample of
 * ids owned by the bench user for GET /payments/{id}.
 */
export function seedPayments(db, count, now = Date.now()) {
  const r = rng(7);
  const ins = db.prepare(
    `INSERT INTO payments (id, user_id, merchant_id, amount, currency, amount_refunded, status, description,
       source, campaign_id, stripe_payment_intent_id, card_brand, card_last4, paid_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const benchIds = [];
  inTransaction(db, () => {
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      const mine = r() < 0.05;
      const user = mine
        ? BENCH_USER
        : `00000000-0000-4000-8000-${String(Math.floor(r() * 2000)).padStart(12, "0")}`;
      const merchant = mine
        ? BENCH_MERCHANT
        : `00000000-0000-4000-9000-${String(Math.floor(r() * 50)).padStart(12, "0")}`;
      const status = pick(r, STATUSES);
      const amount = 100 + Math.floor(r() * 50_000);
      const created = now - Math.floor(r() * 180 * DAY);
      const refunded =
        status === "refunded" ? amount : status === "partially_refunded" ? Math.floor(amount / 2) : 0;
      ins.run(
        id,
        user,
        merchant,
        amount,
        pick(r, CURRENCIES),
        refunded,
        status,
        `Order ${i}`,
        pick(r, SOURCES),
        r() < 0.2 ? `camp_${Math.floor(r() * 20)}` : null,
        `pi_bench_${i}`,
        "visa",
        "4242",
        status === "succeeded" ? created + 1000 : null,
        created,
        created,
      );
      if (mine && benchIds.length < 1000) benchIds.push(id);
    }
  });
  return benchIds;
}

/** Subscriptions and their MRR movements, for the revenue and retention reports. */
export function seedSubscriptions(db, count, now = Date.now()) {
  const r = rng(11);
  const sub = db.prepare(
    `INSERT INTO subscriptions (id, user_id, plan_id, stripe_subscription_id, status, amount, currency, interval,
       quantity, current_period_start, current_period_end, cancel_at_period_end, canceled_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'usd', ?, 1, ?, ?, 0, ?, ?, ?)`,
  );
  const mv = db.prepare(
    `INSERT INTO mrr_movements (id, subscription_id, user_id, kind, mrr_before, mrr_after, currency, occurred_at, source_id)
     VALUES (?, ?, ?, ?, ?, ?, 'usd', ?, ?)`,
  );
  inTransaction(db, () => {
    for (let i = 0; i < count; i++) {
      const id = randomUUID();
      const user = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
      const yearly = r() < 0.2;
      const amount = yearly ? 9900 : 990;
      const mrr = yearly ? Math.round(amount / 12) : amount;
      const created = now - Math.floor(r() * 365 * DAY);
      const churned = r() < 0.15;
      const canceledAt = churned ? created + Math.floor(r() * (now - created)) : null;
      sub.run(
        id,
        user,
        yearly ? "pro_yearly" : "pro_monthly",
        `sub_bench_${i}`,
        churned ? "canceled" : "active",
        amount,
        yearly ? "year" : "month",
        now - 10 * DAY,
        now + 20 * DAY,
        canceledAt,
        created,
        canceledAt ?? created,
      );
      mv.run(randomUUID(), id, user, "new", 0, mrr, created, `seed_new_${i}`);
      if (churned) mv.run(randomUUID(), id, user, "churn", mrr, 0, canceledAt, `seed_churn_${i}`);
    }
  });
}

/**
 * `analytics_events` over the last 90 days in sessions of ~10 events: session_started, page views,
 * clicks, some feature use, a few payments and errors, session_ended. 20k users; a fifth of the
 * sessions are anonymous.
 */
export function seedAnalytics(db, count, now = Date.now()) {
  const r = rng(3);
  const ins = db.prepare(
    `INSERT INTO analytics_events (id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const pages = Array.from({ length: 40 }, (_, i) => `/p/${i}`);
  const elements = Array.from({ length: 15 }, (_, i) => `btn-${i}`);
  let n = 0;
  inTransaction(db, () => {
    while (n < count) {
      const session = randomUUID();
      const user =
        r() < 0.8 ? `00000000-0000-4000-8000-${String(Math.floor(r() * 20_000)).padStart(12, "0")}` : null;
      const source = pick(r, SOURCES);
      let t = now - Math.floor(r() * 90 * DAY);
      const len = 4 + Math.floor(r() * 13);
      const emit = (type, page, element, props) => {
        if (n >= count) return;
        ins.run(randomUUID(), type, user, session, page, element, source, props, t, t + 50);
        n++;
        t += 1000 + Math.floor(r() * 60_000);
      };
      emit("session_started", null, null, null);
      for (let k = 0; k < len - 2; k++) {
        const x = r();
        const page = pick(r, pages);
        if (x < 0.55) emit("page_view", page, null, null);
        else if (x < 0.85) emit("button_click", page, pick(r, elements), null);
        else if (x < 0.93) emit("feature_used", page, null, `{"feature":"f${Math.floor(r() * 8)}"}`);
        else if (x < 0.97)
          emit("campaign_viewed", page, null, `{"campaign_id":"camp_${Math.floor(r() * 20)}"}`);
        else if (x < 0.99)
          emit(
            "payment_completed",
            page,
            null,
            `{"amount":${100 + Math.floor(r() * 9900)},"currency":"usd"}`,
          );
        else emit("error_occurred", page, null, `{"code":"E${Math.floor(r() * 5)}"}`);
      }
      emit("session_ended", null, null, null);
    }
  });
  return n;
}

/** Opens the D1 file with settings for a one-off bulk load. */
export function openForSeeding(which = "DB") {
  const db = new DatabaseSync(d1File(which));
  db.exec("PRAGMA synchronous = OFF");
  return db;
}

/** `devices` for the push fan-out: `count` tokens over users of 10 devices each; returns the user ids. */
export function seedDevices(db, count, now = Date.now()) {
  const ins = db.prepare(
    `INSERT INTO devices (id, user_id, token, platform, model, os_version, app_version, locale, time_zone, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'bench', '1', '1.0.0', 'en', 'UTC', ?, ?)`,
  );
  const users = [];
  const platforms = ["android", "ios", "web"];
  inTransaction(db, () => {
    for (let i = 0; i < count; i++) {
      if (i % 10 === 0) users.push(`00000000-0000-4000-a000-${String(i / 10).padStart(12, "0")}`);
      ins.run(randomUUID(), users[users.length - 1], `bench-${randomUUID()}`, platforms[i % 3], now, now);
    }
  });
  return users;
}

/**
 * The analytics rollups that ingest maintains incrementally (src/analytics/store.ts), rebuilt
 * from the seeded raw events with the same rules, so the reports read what ingest would have
 * written (same rules as `npm run seed`: scripts/lib/rollups.mjs).
 */
export function rebuildAnalyticsRollups(db) {
  db.exec(REBUILD_ROLLUPS);
  return ["analytics_sessions", "analytics_daily", "analytics_activity", "analytics_user_days"];
}
