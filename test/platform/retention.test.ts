import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { getConfig } from "../../src/platform/config";
import { IDEMPOTENCY_REPLAY_WINDOW_MS } from "../../src/platform/idempotency";
import {
  expireDeliveryTokens,
  expireDomainEvents,
  purgeIdempotencyKeys,
  purgeRateCounters,
  purgeWebhookPayloads,
} from "../../src/platform/retention";
import { testDeps } from "../helpers/deps";

/**
 * Issue 13, item 11: sensitive rows were kept forever. Each retention job changes the rows older
 * than its window and leaves newer ones alone (SECURITY.md, "Retention").
 */
const DAY = 86_400_000;
const config = getConfig(env);
const now = Date.now();
const id = () => crypto.randomUUID();
const first = <T>(sql: string, ...params: unknown[]) =>
  env.DB.prepare(sql)
    .bind(...params)
    .first<T>();

async function idempotencyRow(createdAt: number, state = "done") {
  const key = id();
  await env.DB.prepare(
    `INSERT INTO idempotency_keys (user_id, key, route, request_hash, state, status_code, response_body, created_at)
     VALUES ('u', ?, 'POST /api/v1/payments/create-intent', 'h', ?, 201, '{"client_secret":"pi_x_secret_y"}', ?)`,
  )
    .bind(key, state, createdAt)
    .run();
  return key;
}
const idempotency = (key: string) =>
  first<{ response_body: string | null; request_hash: string }>(
    "SELECT response_body, request_hash FROM idempotency_keys WHERE key = ?",
    key,
  );

async function webhookRow(status: string, receivedAt: number) {
  const evt = `evt_${id()}`;
  await env.DB.prepare(
    `INSERT INTO webhook_events (id, type, stripe_created, object_id, payload, status, attempts, received_at)
     VALUES (?, 'payment_intent.succeeded', 1, 'pi_1', '{"data":{"object":{"receipt_email":"a@b.c"}}}', ?, 1, ?)`,
  )
    .bind(evt, status, receivedAt)
    .run();
  return evt;
}
const webhook = (evt: string) =>
  first<{ payload: string; type: string; status: string }>(
    "SELECT payload, type, status FROM webhook_events WHERE id = ?",
    evt,
  );

async function domainEvent(createdAt: number) {
  const evt = `test:${id()}`;
  await env.DB.prepare(
    "INSERT INTO domain_events (id, type, payload, source, created_at) VALUES (?, 'payment.succeeded', '{}', 'test', ?)",
  )
    .bind(evt, createdAt)
    .run();
  return evt;
}

async function delivery(status: string, updatedAt: number) {
  const d = id();
  await env.DB.prepare(
    `INSERT INTO notification_deliveries (id, notification_id, device_id, token, platform, status, attempts, created_at, updated_at)
     VALUES (?, ?, ?, 'fcm-token-secret', 'android', ?, 1, ?, ?)`,
  )
    .bind(d, id(), id(), status, updatedAt, updatedAt)
    .run();
  return d;
}
const tokenOf = async (d: string) =>
  (await first<{ token: string }>("SELECT token FROM notification_deliveries WHERE id = ?", d))?.token;

describe("retention jobs", () => {
  it("idempotency keys: the stored response goes after the replay window, the row after the retention", async () => {
    const fresh = await idempotencyRow(now - IDEMPOTENCY_REPLAY_WINDOW_MS + 60_000);
    const replayed = await idempotencyRow(now - IDEMPOTENCY_REPLAY_WINDOW_MS - 60_000);
    const expired = await idempotencyRow(now - config.IDEMPOTENCY_RETENTION_DAYS * DAY - 60_000);
    const result = await purgeIdempotencyKeys(testDeps(), now);
    expect(result.responses_dropped).toBeGreaterThanOrEqual(1);
    expect((await idempotency(fresh))?.response_body).toContain("client_secret");
    // Past the replay window the binding stays (key → request hash) but the secret is gone.
    expect(await idempotency(replayed)).toEqual({ response_body: null, request_hash: "h" });
    expect(await idempotency(expired)).toBeNull();
  });

  it("webhook events: finished payloads are dropped after the retention, id, type and status stay", async () => {
    const cutoff = now - config.WEBHOOK_PAYLOAD_RETENTION_DAYS * DAY;
    const old = await webhookRow("processed", cutoff - 60_000);
    const recent = await webhookRow("processed", cutoff + 60_000);
    const parked = await webhookRow("deferred", cutoff - 60_000);
    // Review of issue 13, item 8: an abandoned `received` row kept its payload forever.
    const abandoned = await webhookRow("received", cutoff - 60_000);
    const inFlight = await webhookRow("received", cutoff + 60_000);
    await purgeWebhookPayloads(testDeps(), now);
    expect(await webhook(abandoned)).toEqual({
      payload: "",
      type: "payment_intent.succeeded",
      status: "received",
    });
    expect((await webhook(inFlight))?.payload).toContain("receipt_email");
    expect(await webhook(old)).toEqual({
      payload: "",
      type: "payment_intent.succeeded",
      status: "processed",
    });
    expect((await webhook(recent))?.payload).toContain("receipt_email");
    // A parked event still needs its payload to be applied.
    expect((await webhook(parked))?.payload).toContain("receipt_email");
  });

  it("domain events expire after the retention", async () => {
    const cutoff = now - config.DOMAIN_EVENT_RETENTION_DAYS * DAY;
    const old = await domainEvent(cutoff - 60_000);
    const recent = await domainEvent(cutoff + 60_000);
    const sinkRow = (id: string, status: string, at: number) =>
      env.DB.prepare(
        `INSERT INTO domain_event_deliveries (event_id, sink, status, attempts, next_attempt_at, created_at, updated_at)
         VALUES (?1, 'notifications', ?2, 1, ?3, ?3, ?3)`,
      )
        .bind(id, status, at)
        .run();
    await sinkRow(old, "delivered", cutoff - 60_000);
    await sinkRow(recent, "delivered", cutoff + 60_000);
    const stuck = `${old}-pending`;
    await sinkRow(stuck, "pending", cutoff - 60_000);
    await expireDomainEvents(testDeps(), now);
    expect(await first("SELECT id FROM domain_events WHERE id = ?", old)).toBeNull();
    expect(await first("SELECT id FROM domain_events WHERE id = ?", recent)).toEqual({ id: recent });
    const sinkLeft = (id: string) =>
      first("SELECT event_id FROM domain_event_deliveries WHERE event_id = ?", id);
    expect(await sinkLeft(old)).toBeNull();
    expect(await sinkLeft(recent)).toEqual({ event_id: recent });
    expect(await sinkLeft(stuck)).toEqual({ event_id: stuck });
  });

  it("the settled-delivery purge reads an index on created_at, not the whole table (review of issue 13, item 6)", async () => {
    const plan = await env.DB.prepare(
      `EXPLAIN QUERY PLAN SELECT rowid FROM domain_event_deliveries
       WHERE created_at < ?1 AND status != 'pending' LIMIT ?2`,
    )
      .bind(now, 5_000)
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join("; ");
    expect(details).toContain("USING INDEX domain_event_deliveries_created_idx");
    expect(details).not.toMatch(/^SCAN domain_event_deliveries$/m);
  });

  it("delivery token copies expire on finished deliveries after the retention", async () => {
    const cutoff = now - config.DELIVERY_TOKEN_RETENTION_DAYS * DAY;
    const old = await delivery("sent", cutoff - 60_000);
    const deadLettered = await delivery("dead_lettered", cutoff - 60_000);
    const recent = await delivery("sent", cutoff + 60_000);
    const pending = await delivery("queued", cutoff - 60_000);
    await expireDeliveryTokens(testDeps(), now);
    expect(await tokenOf(old)).toBe("");
    expect(await tokenOf(deadLettered)).toBe("");
    expect(await tokenOf(recent)).toBe("fcm-token-secret");
    expect(await tokenOf(pending)).toBe("fcm-token-secret");
  });

  it("budget counters and admin fan-out grants older than a day are deleted", async () => {
    const insert = env.DB.prepare("INSERT INTO rate_counters (name, bucket, count) VALUES (?, ?, 1)");
    const [oldName, newName] = [id(), id()];
    await env.DB.batch([insert.bind(oldName, now - 2 * DAY), insert.bind(newName, now - 60_000)]);
    const grant = env.DB.prepare(
      "INSERT INTO admin_fanout_grants (event_id, source, granted_at) VALUES (?, 'merchant:m', ?)",
    );
    const [oldGrant, newGrant] = [id(), id()];
    await env.DB.batch([grant.bind(oldGrant, now - 2 * DAY), grant.bind(newGrant, now - 60_000)]);
    await purgeRateCounters(testDeps(), now);
    const grantLeft = (e: string) => first("SELECT event_id FROM admin_fanout_grants WHERE event_id = ?", e);
    expect(await grantLeft(oldGrant)).toBeNull();
    expect(await grantLeft(newGrant)).toEqual({ event_id: newGrant });
    expect(await first("SELECT name FROM rate_counters WHERE name = ?", oldName)).toBeNull();
    expect(await first("SELECT name FROM rate_counters WHERE name = ?", newName)).toEqual({ name: newName });
  });

  it("the daily cron runs every retention job", async () => {
    const key = await idempotencyRow(Date.now() - config.IDEMPOTENCY_RETENTION_DAYS * DAY - DAY);
    const evt = await webhookRow("ignored", Date.now() - config.WEBHOOK_PAYLOAD_RETENTION_DAYS * DAY - DAY);
    const domain = await domainEvent(Date.now() - config.DOMAIN_EVENT_RETENTION_DAYS * DAY - DAY);
    const d = await delivery("failed", Date.now() - config.DELIVERY_TOKEN_RETENTION_DAYS * DAY - DAY);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "17 3 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await idempotency(key)).toBeNull();
    expect((await webhook(evt))?.payload).toBe("");
    expect(await first("SELECT id FROM domain_events WHERE id = ?", domain)).toBeNull();
    expect(await tokenOf(d)).toBe("");
  });
});
