/**
 * Stripe's magic test PaymentMethods. Confirming with one of these ids creates a fresh
 * `pm_…` object (as Stripe does); its card fingerprint identifies the behaviour later.
 */
export type CardOutcome =
  | { kind: "succeed" }
  | { kind: "decline"; code: string; declineCode: string; message: string }
  | { kind: "require_action" };

export type TestCard = {
  brand: string;
  last4: string;
  funding: string;
  fingerprint: string;
  outcome: CardOutcome;
  /** Stripe's refund test cards: a refund of this card's charge starts `pending`. */
  refund?: "pending";
};

const declined = (declineCode: string, message: string, code = "card_declined"): CardOutcome => ({
  kind: "decline",
  code,
  declineCode,
  message,
});

export const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: {
    brand: "visa",
    last4: "4242",
    funding: "credit",
    fingerprint: "emuVisa4242xxxxx",
    outcome: { kind: "succeed" },
  },
  pm_card_mastercard: {
    brand: "mastercard",
    last4: "4444",
    funding: "credit",
    fingerprint: "emuMc4444xxxxxxx",
    outcome: { kind: "succeed" },
  },
  pm_card_amex: {
    brand: "amex",
    last4: "8431",
    funding: "credit",
    fingerprint: "emuAmex8431xxxxx",
    outcome: { kind: "succeed" },
  },
  // Stripe's "asynchronous success" refund card (4000000000007726): the charge succeeds, a
  // refund starts `pending` and later succeeds (the /_emulator/stripe/refunds/:id/settle control).
  pm_card_pendingRefund: {
    brand: "visa",
    last4: "7726",
    funding: "credit",
    fingerprint: "emuPendRef7726xx",
    outcome: { kind: "succeed" },
    refund: "pending",
  },
  pm_card_chargeDeclined: {
    brand: "visa",
    last4: "0002",
    funding: "credit",
    fingerprint: "emuDecline0002xx",
    outcome: declined("generic_decline", "Your card was declined."),
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: "visa",
    last4: "9995",
    funding: "credit",
    fingerprint: "emuInsuff9995xxx",
    outcome: declined("insufficient_funds", "Your card has insufficient funds."),
  },
  pm_card_chargeDeclinedFraudulent: {
    brand: "visa",
    last4: "0019",
    funding: "credit",
    fingerprint: "emuFraud0019xxxx",
    outcome: declined("fraudulent", "Your card was declined."),
  },
  pm_card_chargeDeclinedExpiredCard: {
    brand: "visa",
    last4: "0069",
    funding: "credit",
    fingerprint: "emuExpired0069xx",
    outcome: declined("expired_card", "Your card has expired.", "expired_card"),
  },
  pm_card_authenticationRequired: {
    brand: "visa",
    last4: "3184",
    funding: "credit",
    fingerprint: "emuAuth3184xxxxx",
    outcome: { kind: "require_action" },
  },
};

export function cardByFingerprint(fingerprint: unknown): TestCard | undefined {
  return Object.values(TEST_CARDS).find((c) => c.fingerprint === fingerprint);
}
