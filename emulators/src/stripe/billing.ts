import { type CardOutcome, cardByFingerprint } from "./cards";
import type { ApiContext } from "./context";
import type { SubscriptionItem } from "./objects-billing";
import type { Customer, PaymentMethod } from "./objects-payments";
import { type Invoice, invoice, type Subscription } from "./objects-subscriptions";

type Ctx = Pick<ApiContext, "store" | "events">;

export type ChargeOutcome = { paid: true } | { paid: false; reason: string; code?: string; message?: string };

/** Charges the subscription's (or the customer's default) card with the test card's behaviour. */
export function attemptPayment(c: Ctx, sub: Subscription, forceFail = false): ChargeOutcome {
  if (forceFail) return { paid: false, reason: "card_declined" };
  const cust = c.store.get<Customer>(sub.customer);
  const settings = cust?.invoice_settings as { default_payment_method?: string | null } | undefined;
  const pmId = sub.default_payment_method ?? settings?.default_payment_method ?? null;
  return chargeMethod(c, pmId);
}

/** One charge of `pmId` (null: none to charge) with its test card's behaviour. */
export function chargeMethod(c: Ctx, pmId: string | null): ChargeOutcome {
  if (!pmId) return { paid: false, reason: "no_payment_method" };
  const pm = c.store.get<PaymentMethod>(pmId);
  const outcome: CardOutcome = pm
    ? (cardByFingerprint(pm.card.fingerprint)?.outcome ?? { kind: "succeed" })
    : { kind: "succeed" };
  if (outcome.kind === "succeed") return { paid: true };
  if (outcome.kind === "decline")
    return { paid: false, reason: outcome.declineCode, code: outcome.code, message: outcome.message };
  return { paid: false, reason: "authentication_required", code: "authentication_required" };
}

/** Issues the period's invoice (paid or open) and emits invoice.paid / invoice.payment_failed. */
export function issueInvoice(
  c: Ctx,
  sub: Subscription,
  item: SubscriptionItem,
  billingReason: "subscription_create" | "subscription_cycle" | "subscription_update",
  paid: boolean,
): Invoice {
  const cust = c.store.get<Customer>(sub.customer);
  const inv = c.store.put(invoice({ sub, item, billingReason, paid, customerEmail: cust?.email ?? null }));
  c.events.emit(paid ? "invoice.paid" : "invoice.payment_failed", inv);
  return inv;
}
