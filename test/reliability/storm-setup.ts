import { expect } from "vitest";
import { postJson } from "../helpers/http";
import {
  closeDispute,
  confirmClientSide,
  openDispute,
  pullWebhooks,
  stripeClient,
  updateDispute,
  type WebhookDelivery,
} from "../helpers/stripe";
import { type Caller, createIntent, newCaller, stripeIntentId } from "../payments/helpers";

export type StormPayment = {
  paymentId: string;
  piId: string;
  amount: number;
  plan: "declined" | "succeeded" | "api-partial" | "api-full" | "stripe-partial" | "stripe-full" | "disputed";
  disputeId?: string;
};

/** What each of the 100 payments goes through; every tenth shape repeats. */
const PLANS: StormPayment["plan"][] = [
  "declined",
  "succeeded",
  "api-partial",
  "api-full",
  "stripe-partial",
  "stripe-full",
  "disputed",
  "succeeded",
  "declined",
  "api-partial",
];

/**
 * 100 payments made through the API and Stripe.js (the emulator's client-side confirm), so most
 * of our D1 state can only come from webhooks: refunds made in Stripe's dashboard (the SDK
 * here) and disputes are known only through them. The payment endpoints are limited to 30
 * requests a minute per user, so the work is spread over 10 users and 4 admins.
 */
export async function makeStormPayments(): Promise<StormPayment[]> {
  const users = await Promise.all(Array.from({ length: 10 }, () => newCaller("user")));
  const admins = await Promise.all(Array.from({ length: 4 }, () => newCaller("admin")));
  const stripe = stripeClient();
  const perUser = async (user: Caller, u: number): Promise<StormPayment[]> => {
    const out: StormPayment[] = [];
    for (let k = 0; k < 10; k++) {
      const i = u * 10 + k;
      const amount = 1000 + i * 37;
      const plan = PLANS[k] ?? "succeeded";
      const intent = await createIntent(user, { amount, currency: "usd", description: `storm ${i}` });
      const piId = await stripeIntentId(intent.payment_id);
      const method = plan === "declined" ? "pm_card_chargeDeclined" : "pm_card_visa";
      await confirmClientSide(piId, { payment_method: method });
      const p: StormPayment = { paymentId: intent.payment_id, piId, amount, plan };
      if (plan === "api-partial" || plan === "api-full") {
        // A refund through our API needs our row to know it succeeded: re-read once, as the app would.
        const synced = await postJson("/api/v1/payments/confirm", { payment_id: p.paymentId }, user.headers);
        expect(synced.status).toBe(200);
        const admin = admins[i % admins.length] as Caller;
        const body =
          plan === "api-full" ? { reason: "duplicate" } : { amount: 400, reason: "requested_by_customer" };
        const res = await postJson(`/api/v1/payments/${p.paymentId}/refund`, body, admin.headers);
        expect(res.status, await res.clone().text()).toBe(201);
      } else if (plan === "stripe-partial" || plan === "stripe-full") {
        await stripe.refunds.create({
          payment_intent: piId,
          ...(plan === "stripe-partial" ? { amount: 250 } : {}),
        });
        if (plan === "stripe-partial") await stripe.refunds.create({ payment_intent: piId, amount: 100 });
      } else if (plan === "disputed") {
        const d = await openDispute({ payment_intent: piId, reason: "fraudulent" });
        p.disputeId = d.id;
        if (u % 3 === 0) await updateDispute(d.id, { status: "under_review" });
        if (u % 3 === 1) await closeDispute(d.id, u % 2 === 0 ? "won" : "lost");
      }
      out.push(p);
    }
    return out;
  };
  return (await Promise.all(users.map(perUser))).flat();
}

/** Every recorded delivery after `since` that concerns one of these intents (paged). */
export async function deliveriesFor(since: string, piIds: Set<string>): Promise<WebhookDelivery[]> {
  const out: WebhookDelivery[] = [];
  let cursor = since;
  for (let page = 0; page < 50; page++) {
    const { deliveries, next } = await pullWebhooks({ since: cursor });
    for (const d of deliveries) {
      const ids = d.payload.match(/pi_[A-Za-z0-9]+/g) ?? [];
      if (ids.some((id) => piIds.has(id))) out.push(d);
    }
    if (deliveries.length < 1000 || next === cursor) break;
    cursor = next;
  }
  return out;
}

/** Deterministic shuffle (mulberry32), so a failing storm can be replayed with its seed. */
export function shuffle<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
