import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { analyticsSink } from "../../src/analytics/on-event";
import { SINK_LEASE_MS } from "../../src/events/deliveries";
import { publish } from "../../src/events/publish";
import { retryEventSinks } from "../../src/events/redeliver";
import type { DomainEvent } from "../../src/events/types";
import { testDeps } from "../helpers/deps";
import { eventually } from "../helpers/eventually";
import { sentMessages } from "../helpers/google";
import { deliverWebhook, pullWebhooks, stripeClient } from "../helpers/stripe";
import { registerDevice, settled, uid } from "../notifications/helpers";
import { createIntent, newCaller, stripeIntentId } from "../payments/helpers";
import { countWhere, safeId, withAbortTrigger } from "./helpers";

type SinkRow = { sink: string; status: string; attempts: number; last_error: string | null };

const sinkRows = async (eventId: string) =>
  (
    await env.DB.prepare(
      "select sink, status, attempts, last_error from domain_event_deliveries where event_id = ? order by sink",
    )
      .bind(eventId)
      .all<SinkRow>()
  ).results;

const sinkRow = async (eventId: string, sink: string) =>
  (await sinkRows(eventId)).find((r) => r.sink === sink);

/** Every pending delivery is due this far ahead, whatever its backoff: no test waits on a clock. */
const later = () => Date.now() + 24 * 3_600_000;

const deliveryRows = (notificationId: string) =>
  countWhere("notification_deliveries", "notification_id = ?", notificationId);

/** The first notification a user got for an event, once it exists. */
const notificationOf = (eventId: string, userId: string) =>
  eventually(async () => {
    const row = await env.DB.prepare("select id from notifications where event_id = ? and user_id = ?")
      .bind(eventId, userId)
      .first<{ id: string }>();
    return row?.id;
  }, "notification row");

/** A payer with one Android device, and a payment confirmed at Stripe only: the webhook is our only news. */
async function payerWithWebhook() {
  const user = await newCaller("user");
  const token = `ok-${uid()}-sink`;
  const device = await registerDevice(user, token);
  const intent = await createIntent(user, { amount: 4200, currency: "usd" });
  const piId = await stripeIntentId(intent.payment_id);
  await stripeClient().paymentIntents.confirm(piId, { payment_method: "pm_card_visa" });
  const { deliveries } = await pullWebhooks({ forObject: piId, type: "payment_intent.succeeded" });
  const delivery = deliveries[0];
  if (!delivery) throw new Error("no payment_intent.succeeded delivery");
  return { user, token, device, delivery, eventId: `payment.succeeded:${intent.payment_id}` };
}

describe("domain events reach each sink at least once (issue 13, item 1)", () => {
  // Both halves of notify(): the notification rows (first batch) and the delivery rows (second).
  it.each([
    ["notifications", (ids: { user: string; device: string }) => `NEW.user_id = ${safeId(ids.user)}`],
    [
      "notification_deliveries",
      (ids: { user: string; device: string }) => `NEW.device_id = ${safeId(ids.device)}`,
    ],
  ])(
    "payment.succeeded webhook, D1 fails on %s insert: the retry job sends the push exactly once",
    async (table, when) => {
      const { user, token, device, delivery, eventId } = await payerWithWebhook();

      const res = await withAbortTrigger(table, "INSERT", when({ user: user.sub, device: device.id }), () =>
        deliverWebhook(delivery),
      );
      // The payment is recorded whatever a subscriber does: the webhook succeeds.
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await countWhere("domain_events", "id = ?", eventId)).toBe(1);
      expect(await sinkRow(eventId, "notifications")).toMatchObject({ status: "pending", attempts: 1 });
      expect((await sinkRow(eventId, "notifications"))?.last_error).toMatch(/injected/);
      expect(await sinkRow(eventId, "analytics")).toMatchObject({ status: "delivered" });
      expect(await sentMessages(token)).toEqual([]);

      // Stripe's redelivery is a duplicate: before this fix nothing could ever send the push.
      expect(await (await deliverWebhook(delivery)).json()).toMatchObject({ duplicate: true });

      const first = await retryEventSinks(testDeps(), later());
      expect(first.delivered).toBeGreaterThanOrEqual(1);
      expect(await sinkRow(eventId, "notifications")).toMatchObject({
        status: "delivered",
        attempts: 2,
        last_error: null,
      });
      const notificationId = await notificationOf(eventId, user.sub);
      const [d] = await settled(user, notificationId);
      expect(d).toMatchObject({ status: "sent", device_id: device.id });
      const sent = await eventually(async () => {
        const m = await sentMessages(token);
        return m.length > 0 ? m : undefined;
      }, "push at the emulator");
      expect(sent).toHaveLength(1);
      expect(sent[0]?.message).toMatchObject({
        data: { notification_id: notificationId, type: "payment_received" },
      });

      // A second run finds nothing due for this event and sends nothing more.
      await retryEventSinks(testDeps(), later());
      expect(await sinkRow(eventId, "notifications")).toMatchObject({ status: "delivered", attempts: 2 });
      expect(await deliveryRows(notificationId)).toBe(1);
      expect(await countWhere("notifications", "event_id = ?", eventId)).toBe(1);
      expect(await sentMessages(token)).toHaveLength(1);
    },
  );

  it("two retry runs at once: one claims the delivery, the push is sent once", async () => {
    const user = await newCaller("user");
    const token = `ok-${uid()}-race`;
    await registerDevice(user, token);
    const id = `evt_${uid()}`;
    await withAbortTrigger("notifications", "INSERT", `NEW.user_id = ${safeId(user.sub)}`, () =>
      publish(testDeps(), {
        id,
        type: "security.alert",
        source: "test",
        data: { user_id: user.sub, kind: "new_login" },
      }),
    );
    expect(await sinkRow(id, "notifications")).toMatchObject({ status: "pending", attempts: 1 });

    await Promise.all([retryEventSinks(testDeps(), later()), retryEventSinks(testDeps(), later())]);
    // attempts counts claims: 1 inline + exactly one winner of the two runs.
    expect(await sinkRow(id, "notifications")).toMatchObject({ status: "delivered", attempts: 2 });
    const notificationId = await notificationOf(id, user.sub);
    expect((await settled(user, notificationId))[0]).toMatchObject({ status: "sent" });
    expect(await deliveryRows(notificationId)).toBe(1);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("the notifications sink run twice at once (a lease that ran out) still queues one push", async () => {
    const user = await newCaller("user");
    const token = `ok-${uid()}-twice`;
    await registerDevice(user, token);
    const deps = testDeps();
    const sink = deps.sinks.find((s) => s.name === "notifications");
    if (!sink) throw new Error("no notifications sink");
    const event: DomainEvent = {
      id: `evt_${uid()}`,
      type: "security.alert",
      occurred_at: Date.now(),
      source: "test",
      data: { user_id: user.sub, kind: "password_changed" },
    };
    await Promise.all([sink.handle(event, deps), sink.handle(event, deps)]);
    await sink.handle(event, deps);
    const notificationId = await notificationOf(event.id, user.sub);
    expect((await settled(user, notificationId))[0]).toMatchObject({ status: "sent" });
    expect(await countWhere("notifications", "event_id = ?", event.id)).toBe(1);
    expect(await deliveryRows(notificationId)).toBe(1);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("a lost attempt (lease ran out, nothing recorded) is retried; a replayed publish adds no rows", async () => {
    const user = await newCaller("user");
    const id = `evt_${uid()}`;
    const input = {
      id,
      type: "security.alert" as const,
      source: "test",
      data: { user_id: user.sub, kind: "api_key_created" as const },
    };
    expect((await publish(testDeps(), input)).duplicate).toBe(false);
    expect(await publish(testDeps(), input)).toEqual({ duplicate: true });
    expect((await sinkRows(id)).map((r) => [r.sink, r.status])).toEqual([
      ["analytics", "delivered"],
      ["live-channels", "delivered"],
      ["notifications", "delivered"],
    ]);
    // As a publish that died mid-sink leaves it: pending, leased, no outcome. Not due before
    // the lease runs out; after it, retried, and the sink's effect is still there once.
    await env.DB.prepare(
      "update domain_event_deliveries set status = 'pending', next_attempt_at = ? where event_id = ? and sink = 'notifications'",
    )
      .bind(Date.now() + SINK_LEASE_MS, id)
      .run();
    await retryEventSinks(testDeps(), Date.now());
    expect(await sinkRow(id, "notifications")).toMatchObject({ status: "pending", attempts: 1 });
    await retryEventSinks(testDeps(), Date.now() + SINK_LEASE_MS);
    expect(await sinkRow(id, "notifications")).toMatchObject({ status: "delivered", attempts: 2 });
    expect(await countWhere("notifications", "event_id = ?", id)).toBe(1);
  });

  it("the analytics sink counts a retried event once, rollups included", async () => {
    const deps = testDeps();
    // A day and bucket no other test writes to, so the rollup counts are this test's alone.
    const day = 3000 + Math.floor(Math.random() * 5000);
    const at = day * 86_400_000 + 3_600_000;
    const event: DomainEvent = {
      id: `payment.succeeded:${uid()}`,
      type: "payment.succeeded",
      occurred_at: at,
      source: "test",
      data: { payment_id: uid(), user_id: uid(), merchant_id: null, amount: 100, currency: "usd" },
    };
    await analyticsSink.handle(event, deps);
    await analyticsSink.handle(event, deps);
    await Promise.all([analyticsSink.handle(event, deps), analyticsSink.handle(event, deps)]);
    const stored = await env.ANALYTICS_DB.prepare("select count(*) as n from analytics_events where id = ?")
      .bind(`evt:${event.id}`)
      .first<{ n: number }>();
    expect(stored?.n).toBe(1);
    const daily = await env.ANALYTICS_DB.prepare(
      "select sum(events) as n from analytics_daily where day = ? and event_type = 'payment_completed'",
    )
      .bind(day)
      .first<{ n: number }>();
    expect(daily?.n).toBe(1);
    const activity = await env.ANALYTICS_DB.prepare("select events from analytics_activity where bucket = ?")
      .bind(Math.floor(at / (15 * 60_000)))
      .first<{ events: number }>();
    expect(activity?.events).toBe(1);
  });
});
