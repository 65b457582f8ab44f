import type { Config } from "./config";
import { IDEMPOTENCY_REPLAY_WINDOW_MS } from "./idempotency";
import type { Db } from "./types";

/**
 * Retention periods for rows that hold secrets or personal data (SECURITY.md, "Retention"),
 * applied by the daily cron (src/scheduled.ts). Each job is its own cron entry, so one failing
 * leaves the others to run, and each works in bounded chunks: what is left over (a backlog after
 * an outage) goes the next day. Tables belong to several capabilities, but these are plain
 * age-based SQL rules with nothing capability-specific, so they live together here.
 */

type RetentionDeps = { db: Db; config: Config };

const DAY_MS = 86_400_000;
const CHUNK = 5_000;
const MAX_CHUNKS = 100;

/** Delivery states no code sends from again; a token in them is only a copy of a device's secret. */
const FINISHED_DELIVERIES = "'sent', 'failed', 'token_removed', 'dead_lettered'";

/**
 * Runs `statement` (which must touch at most CHUNK rows, picked by a LIMITed subquery) until a
 * run touches fewer, or MAX_CHUNKS runs. Returns the rows touched.
 */
async function inChunks(db: Db, statement: string, ...params: unknown[]): Promise<number> {
  const prepared = db.$client.prepare(statement).bind(...params, CHUNK);
  let total = 0;
  for (let i = 0; i < MAX_CHUNKS; i++) {
    const n = (await prepared.run()).meta.changes ?? 0;
    total += n;
    if (n < CHUNK) break;
  }
  return total;
}

/**
 * Idempotency keys: the response body after the middleware's replay window (after it the body,
 * which holds a client_secret for create-intent, is never served again), the whole row after
 * the retention. The key → request binding (route, request hash, status) stays until then.
 */
export async function purgeIdempotencyKeys(deps: RetentionDeps, now = Date.now()) {
  const responses = await inChunks(
    deps.db,
    `UPDATE idempotency_keys SET response_body = NULL WHERE rowid IN (
       SELECT rowid FROM idempotency_keys
       WHERE created_at < ?1 AND state = 'done' AND response_body IS NOT NULL LIMIT ?2)`,
    now - IDEMPOTENCY_REPLAY_WINDOW_MS,
  );
  const rows = await inChunks(
    deps.db,
    `DELETE FROM idempotency_keys WHERE rowid IN (
       SELECT rowid FROM idempotency_keys WHERE created_at < ?1 LIMIT ?2)`,
    now - deps.config.IDEMPOTENCY_RETENTION_DAYS * DAY_MS,
  );
  return { responses_dropped: responses, rows_deleted: rows };
}

/**
 * Stripe webhook events: the raw payload (customer names, emails, card details) after the
 * retention; the ledger row (id, type, status, times) stays, so a late redelivery is still a
 * duplicate. The payload becomes '' (the column is NOT NULL). Every status but `deferred`
 * (a parked event is applied later from its stored payload): a `received` row that old was
 * abandoned mid-flight, and a redelivery of it is re-run from the redelivered body, never
 * from the stored one (payments/webhooks/index.ts), so its payload is no more needed than a
 * processed one's.
 */
export async function purgeWebhookPayloads(deps: RetentionDeps, now = Date.now()) {
  const dropped = await inChunks(
    deps.db,
    `UPDATE webhook_events SET payload = '' WHERE rowid IN (
       SELECT rowid FROM webhook_events
       WHERE status <> 'deferred' AND received_at < ?1 AND payload <> '' LIMIT ?2)`,
    now - deps.config.WEBHOOK_PAYLOAD_RETENTION_DAYS * DAY_MS,
  );
  return { payloads_dropped: dropped };
}

/**
 * Domain events after the retention. Their id is the de-duplication key of publish(), so an
 * event re-published after this long would run again: the retention is far beyond any
 * producer's retry horizon (Stripe retries a webhook for 3 days, and the webhook ledger,
 * which is kept, catches those first).
 */
export async function expireDomainEvents(deps: RetentionDeps, now = Date.now()) {
  const deleted = await inChunks(
    deps.db,
    `DELETE FROM domain_events WHERE rowid IN (
       SELECT rowid FROM domain_events WHERE created_at < ?1 LIMIT ?2)`,
    now - deps.config.DOMAIN_EVENT_RETENTION_DAYS * DAY_MS,
  );
  // Their per-sink delivery rows go with them once settled; a pending one is left to the
  // retry job, which marks it dead when its event is gone (events/redeliver.ts).
  const deliveries = await inChunks(
    deps.db,
    `DELETE FROM domain_event_deliveries WHERE rowid IN (
       SELECT rowid FROM domain_event_deliveries WHERE created_at < ?1 AND status != 'pending' LIMIT ?2)`,
    now - deps.config.DOMAIN_EVENT_RETENTION_DAYS * DAY_MS,
  );
  return { deleted, deliveries };
}

/**
 * FCM registration tokens copied into finished deliveries, after the retention since the
 * delivery last changed. The token becomes '' (NOT NULL column); the delivery row stays for
 * history. The device row keeps the live token for as long as the device is registered.
 */
export async function expireDeliveryTokens(deps: RetentionDeps, now = Date.now()) {
  const expired = await inChunks(
    deps.db,
    `UPDATE notification_deliveries SET token = '' WHERE rowid IN (
       SELECT rowid FROM notification_deliveries
       WHERE token <> '' AND updated_at < ?1 AND status IN (${FINISHED_DELIVERIES}) LIMIT ?2)`,
    now - deps.config.DELIVERY_TOKEN_RETENTION_DAYS * DAY_MS,
  );
  return { tokens_expired: expired };
}

/**
 * Budget windows (limits.ts) older than a day are never read again, nor are admin fan-out
 * grants (chat/on-event.ts): the sink delivery that could retry one gives up within 13 hours.
 */
export async function purgeRateCounters(deps: RetentionDeps, now = Date.now()) {
  const deleted = await inChunks(
    deps.db,
    `DELETE FROM rate_counters WHERE rowid IN (SELECT rowid FROM rate_counters WHERE bucket < ?1 LIMIT ?2)`,
    now - DAY_MS,
  );
  const grants = await inChunks(
    deps.db,
    `DELETE FROM admin_fanout_grants WHERE rowid IN (
       SELECT rowid FROM admin_fanout_grants WHERE granted_at < ?1 LIMIT ?2)`,
    now - DAY_MS,
  );
  return { deleted, grants };
}

/** The daily cron's retention jobs, by name (src/scheduled.ts). */
export const RETENTION_JOBS: Array<[string, (deps: RetentionDeps) => Promise<unknown>]> = [
  ["retention-idempotency-keys", purgeIdempotencyKeys],
  ["retention-webhook-payloads", purgeWebhookPayloads],
  ["retention-domain-events", expireDomainEvents],
  ["retention-delivery-tokens", expireDeliveryTokens],
  ["retention-rate-counters", purgeRateCounters],
];
