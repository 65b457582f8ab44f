import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { dbFor } from "../../src/db/client";
import { mrrMovements, payments, subscriptions } from "../../src/db/schema";
import { newCaller } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { api, postJson } from "../helpers/http";
import { deliverWebhook, pullWebhooks } from "../helpers/stripe";

export const db = () => dbFor(env.DB);

export type Caller = Awaited<ReturnType<typeof newCaller>>;
export { newCaller };

export async function createIntent(
  caller: Caller,
  body: Record<string, unknown> = { amount: 2000, currency: "usd" },
  headers: Record<string, string> = {},
) {
  const res = await postJson("/api/v1/payments/create-intent", body, { ...caller.headers, ...headers });
  return bodyOf(res, "POST /payments/create-intent", 201);
}

export function confirm(caller: Caller, paymentId: string, paymentMethod?: string): Promise<Response> {
  return postJson(
    "/api/v1/payments/confirm",
    { payment_id: paymentId, ...(paymentMethod ? { payment_method: paymentMethod } : {}) },
    caller.headers,
  );
}

/** A succeeded payment through the API: create-intent then server-side confirm with pm_card_visa. */
export async function paidPayment(caller: Caller, amount = 5000, currency = "usd") {
  const intent = await createIntent(caller, { amount, currency });
  const res = await confirm(caller, intent.payment_id, "pm_card_visa");
  if (res.status !== 200) throw new Error(`confirm ${res.status}: ${await res.text()}`);
  return intent;
}

export async function paymentRow(id: string) {
  const row = await db().select().from(payments).where(eq(payments.id, id)).get();
  if (!row) throw new Error(`no payment row ${id}`);
  return row;
}

export async function stripeIntentId(paymentId: string): Promise<string> {
  const pi = (await paymentRow(paymentId)).stripePaymentIntentId;
  if (!pi) throw new Error("payment has no intent");
  return pi;
}

/** Delivers every recorded webhook mentioning `objectId` (in emulator order); returns the deliveries. */
export async function deliverAllFor(objectId: string, type?: string) {
  const { deliveries } = await pullWebhooks({ forObject: objectId, ...(type ? { type } : {}) });
  for (const d of deliveries) {
    const res = await deliverWebhook(d);
    if (res.status !== 200) throw new Error(`webhook ${d.type} → ${res.status}: ${await res.text()}`);
  }
  return deliveries;
}

export const get = (path: string, caller: { headers: Record<string, string> }) =>
  api(path, { headers: caller.headers });

/** A paid subscription through the API (pm_card_visa), with its creation webhooks delivered. */
export async function subscribed(caller: Caller, plan = "pro_monthly") {
  const res = await postJson(
    "/api/v1/subscriptions",
    { plan, payment_method: "pm_card_visa" },
    caller.headers,
  );
  const sub = await bodyOf(res, "POST /subscriptions", 201);
  const row = await db().select().from(subscriptions).where(eq(subscriptions.id, sub.subscription_id)).get();
  const stripeId = row?.stripeSubscriptionId;
  if (!stripeId) throw new Error("subscription has no Stripe id");
  await deliverAllFor(stripeId);
  return { sub, stripeId };
}

export const changePlan = (
  caller: Caller,
  id: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) => postJson(`/api/v1/subscriptions/${id}/change`, body, { ...caller.headers, ...headers });

export const subscriptionRow = async (id: string) =>
  db().select().from(subscriptions).where(eq(subscriptions.id, id)).get();

export const movementsOf = (subscriptionId: string) =>
  db().select().from(mrrMovements).where(eq(mrrMovements.subscriptionId, subscriptionId));
