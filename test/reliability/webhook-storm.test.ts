import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { deliverWebhook, stripeClient, type WebhookDelivery } from "../helpers/stripe";
import { paymentRow } from "../payments/helpers";
import { refundsOf } from "./helpers";
import { deliveriesFor, makeStormPayments, type StormPayment, shuffle } from "./storm-setup";

const WAVE = 50;
const SEED = 20261126;

/** Our status for what Stripe holds now (the truth the storm must converge on). */
async function expectedOf(p: StormPayment) {
  const stripe = stripeClient();
  const pi = await stripe.paymentIntents.retrieve(p.piId);
  if (pi.status !== "succeeded") {
    return {
      status: pi.last_payment_error ? "failed" : "requires_payment_method",
      amountRefunded: 0,
      refunds: [],
    };
  }
  const charge = await stripe.charges.retrieve(String(pi.latest_charge));
  // A Charge embeds no refunds list since API 2022-11-15: list them, as the platform does.
  const listed = await stripe.refunds
    .list({ payment_intent: p.piId, limit: 100 })
    .autoPagingToArray({ limit: 1000 });
  const refunds = listed.filter((r) => r.status !== "failed" && r.status !== "canceled");
  const status = charge.disputed
    ? "disputed"
    : charge.amount_refunded >= charge.amount
      ? "refunded"
      : charge.amount_refunded > 0
        ? "partially_refunded"
        : "succeeded";
  return { status, amountRefunded: charge.amount_refunded, refunds: refunds.map((r) => r.id).sort() };
}

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  return (
    (
      await env.DB.prepare(sql)
        .bind(...binds)
        .first<{ n: number }>()
    )?.n ?? 0
  );
}

describe("webhook storm", () => {
  it("100 payments, every delivery 2–3×, shuffled, 50 at a time: D1 equals Stripe, each event recorded once", async () => {
    const made = await makeStormPayments();
    expect(made).toHaveLength(100);
    const piIds = new Set(made.map((p) => p.piId));
    const unique = await deliveriesFor("0", piIds);
    const eventIds = new Set(unique.map((d) => d.event_id));
    expect(eventIds.size).toBe(unique.length);

    // Duplicate (2× or 3×), shuffle, and send concurrently in bounded waves, as a Stripe retry storm would.
    const copies = unique.flatMap((d, i) => Array.from({ length: i % 3 === 0 ? 3 : 2 }, () => d));
    let queue: WebhookDelivery[] = shuffle(copies, SEED);
    let posted = 0;
    let redelivered = 0;
    for (let round = 0; queue.length > 0 && round < 5; round++) {
      const failed: WebhookDelivery[] = [];
      for (let i = 0; i < queue.length; i += WAVE) {
        const wave = queue.slice(i, i + WAVE);
        const statuses = await Promise.all(
          wave.map(async (d) => {
            const res = await deliverWebhook(d);
            await res.body?.cancel();
            return res.status;
          }),
        );
        posted += wave.length;
        statuses.forEach((s, k) => {
          // Stripe redelivers anything that was not a 2xx; so does the storm.
          if (s !== 200) failed.push(wave[k] as WebhookDelivery);
        });
      }
      if (round > 0) redelivered += queue.length;
      queue = failed;
    }
    expect(queue).toEqual([]);

    // Every event recorded exactly once, and applied (none left failed, parked or mid-flight).
    const ledger = await env.DB.prepare(
      `select id, status from webhook_events where id in (select value from json_each(?))`,
    )
      .bind(JSON.stringify([...eventIds]))
      .all<{ id: string; status: string }>();
    expect(ledger.results).toHaveLength(eventIds.size);
    expect(ledger.results.filter((r) => r.status !== "processed" && r.status !== "ignored")).toEqual([]);

    // D1 equals Stripe's objects, payment by payment.
    const mismatches: string[] = [];
    let succeeded = 0;
    for (const p of made) {
      const want = await expectedOf(p);
      const row = await paymentRow(p.paymentId);
      const refunds = (await refundsOf(p.paymentId)).filter(
        (r) => r.status !== "failed" && r.status !== "canceled",
      );
      const got = {
        status: row.status,
        amountRefunded: row.amountRefunded,
        refunds: refunds.map((r) => r.stripeRefundId ?? "").sort(),
      };
      if (JSON.stringify(got) !== JSON.stringify(want))
        mismatches.push(`${p.plan} ${p.paymentId}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`);
      if (p.disputeId) {
        const d = await stripeClient().disputes.retrieve(p.disputeId);
        const stored = await env.DB.prepare(
          "select status, payment_id from disputes where stripe_dispute_id = ?",
        )
          .bind(p.disputeId)
          .all<{ status: string; payment_id: string }>();
        if (
          stored.results.length !== 1 ||
          stored.results[0]?.status !== d.status ||
          stored.results[0]?.payment_id !== p.paymentId
        )
          mismatches.push(`dispute ${p.disputeId}: ${JSON.stringify(stored.results)} ≠ ${d.status}`);
      }
      const published = await count(
        "select count(*) as n from domain_events where type = 'payment.succeeded' and json_extract(payload, '$.payment_id') = ?",
        p.paymentId,
      );
      const settled = want.status !== "failed" && want.status !== "requires_payment_method";
      if (settled) succeeded++;
      if (published !== (settled ? 1 : 0))
        mismatches.push(`${p.paymentId}: ${published} payment.succeeded events`);
    }
    console.log(
      `[reliability] webhook storm: payments ${made.length} (succeeded ${succeeded}), unique events ${eventIds.size}, deliveries sent ${posted} (first pass ${copies.length}, redelivered after non-2xx ${redelivered}), mismatches ${mismatches.length}`,
    );
    expect(mismatches).toEqual([]);
    expect(copies.length).toBeGreaterThanOrEqual(500);
  }, 120_000);
});
