import { cardByFingerprint } from "../cards";
import type { ApiContext } from "../context";
import { missingParam, StripeError, unexpectedState } from "../errors";
import { changed } from "../events";
import { randomChars } from "../ids";
import { charge, type Failure } from "../objects-charges";
import { balanceTransaction, type PaymentIntent, type PaymentMethod } from "../objects-payments";
import { resolvePaymentMethod, settlePaymentMethod } from "./payment-methods";

type Ctx = Pick<ApiContext, "store" | "events">;

export type ConfirmOptions = {
  paymentMethod?: string | undefined;
  offSession?: boolean | undefined;
  /** Stripe.js confirmation: it also completes 3-D Secure (unless `authenticate: false`). */
  client?: { authenticate: boolean };
};

const CONFIRMABLE = ["requires_payment_method", "requires_confirmation", "requires_action"];

/**
 * The PaymentIntent state machine. Outcomes follow the card's test behaviour:
 * succeed → charge + succeeded; decline → failed charge, requires_payment_method and a 402
 * (state is saved before the error is thrown, as on Stripe); 3DS → requires_action.
 */
export function confirmIntent(c: Ctx, pi: PaymentIntent, opts: ConfirmOptions): PaymentIntent {
  if (!CONFIRMABLE.includes(pi.status)) {
    throw unexpectedState(
      `You cannot confirm this PaymentIntent because it has a status of ${pi.status}. Only a PaymentIntent with one of the following statuses may be confirmed: ${CONFIRMABLE.join(", ")}.`,
      { payment_intent: pi },
    );
  }
  // Stripe.js finishing the authentication it was asked for.
  if (
    pi.status === "requires_action" &&
    opts.client &&
    opts.paymentMethod === undefined &&
    pi.payment_method
  ) {
    const pm = c.store.get<PaymentMethod>(pi.payment_method);
    if (pm) return opts.client.authenticate ? succeed(c, pi, pm) : authFailed(c, pi, pm);
  }
  const pmId = opts.paymentMethod ?? pi.payment_method;
  if (!pmId) throw missingParam("payment_method");
  const pm = resolvePaymentMethod(c.store, pmId, pi.customer);
  const outcome = cardByFingerprint(pm.card.fingerprint)?.outcome ?? { kind: "succeed" as const };
  if (outcome.kind === "succeed") return succeed(c, pi, pm);
  if (outcome.kind === "decline") return decline(c, pi, pm, outcome);
  if (opts.offSession) {
    return decline(c, pi, pm, {
      code: "authentication_required",
      declineCode: "authentication_required",
      message: "Your card was declined. This transaction requires authentication.",
    });
  }
  if (opts.client) return opts.client.authenticate ? succeed(c, pi, pm) : authFailed(c, pi, pm);
  return requireAction(c, pi, pm);
}

function save(c: Ctx, before: PaymentIntent, after: PaymentIntent, type: string): PaymentIntent {
  c.store.put(after);
  c.events.emit(type, after, changed(before, after));
  return after;
}

export function succeed(c: Ctx, pi: PaymentIntent, pm: PaymentMethod): PaymentIntent {
  const txn = c.store.put(
    balanceTransaction({
      amount: pi.amount,
      currency: pi.currency,
      source: "",
      type: "charge",
      description: pi.description,
    }),
  );
  settlePaymentMethod(c, pm, pi);
  const ch = c.store.put(charge(pi, pm, txn.id, null));
  c.store.put({ ...txn, source: ch.id });
  c.events.emit("charge.succeeded", ch);
  const after: PaymentIntent = {
    ...pi,
    status: "succeeded",
    amount_received: pi.amount,
    payment_method: pm.id,
    latest_charge: ch.id,
    last_payment_error: null,
    next_action: null,
  };
  return save(c, pi, after, "payment_intent.succeeded");
}

function decline(c: Ctx, pi: PaymentIntent, pm: PaymentMethod, failure: Failure): never {
  const { after, chargeId } = recordDecline(c, pi, pm, failure);
  throw new StripeError({
    status: 402,
    type: "card_error",
    code: failure.code,
    declineCode: failure.declineCode,
    message: failure.message,
    extra: { charge: chargeId, payment_intent: after, payment_method: pm },
  });
}

/** A failed charge, and the intent back to requires_payment_method with last_payment_error. */
export function recordDecline(
  c: Ctx,
  pi: PaymentIntent,
  pm: PaymentMethod,
  failure: Failure,
): { after: PaymentIntent; chargeId: string } {
  const ch = c.store.put(charge(pi, pm, null, failure));
  c.events.emit("charge.failed", ch);
  const error = {
    charge: ch.id,
    code: failure.code,
    decline_code: failure.declineCode,
    doc_url: `https://stripe.com/docs/error-codes/${failure.code.replaceAll("_", "-")}`,
    message: failure.message,
    payment_method: pm,
    type: "card_error",
  };
  const after: PaymentIntent = {
    ...pi,
    status: "requires_payment_method",
    payment_method: null,
    latest_charge: ch.id,
    last_payment_error: error,
    next_action: null,
  };
  save(c, pi, after, "payment_intent.payment_failed");
  return { after, chargeId: ch.id };
}

function requireAction(c: Ctx, pi: PaymentIntent, pm: PaymentMethod): PaymentIntent {
  const after: PaymentIntent = {
    ...pi,
    status: "requires_action",
    payment_method: pm.id,
    last_payment_error: null,
    next_action: {
      type: "use_stripe_sdk",
      use_stripe_sdk: {
        type: "three_d_secure_redirect",
        source: `src_${randomChars(24)}`,
        stripe_js: `https://hooks.stripe.com/redirect/authenticate/src_${randomChars(24)}?client_secret=src_client_secret_${randomChars(24)}`,
      },
    },
  };
  return save(c, pi, after, "payment_intent.requires_action");
}

function authFailed(c: Ctx, pi: PaymentIntent, pm: PaymentMethod): PaymentIntent {
  const after: PaymentIntent = {
    ...pi,
    status: "requires_payment_method",
    payment_method: null,
    next_action: null,
    last_payment_error: {
      code: "payment_intent_authentication_failure",
      doc_url: "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
      message:
        "We are unable to authenticate your payment method. Please choose a different payment method and try again.",
      payment_method: pm,
      type: "invalid_request_error",
    },
  };
  return save(c, pi, after, "payment_intent.payment_failed");
}
