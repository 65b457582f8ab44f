import { invalidParam, StripeError } from "./errors";

/**
 * Stripe's charge-amount rules (docs.stripe.com/currencies, "Minimum and maximum charge
 * amounts" and "Three-decimal currencies"). Minimums are in minor units for the currencies
 * the table names; for the others Stripe's minimum is "USD 0.50 equivalent", which depends on
 * the day's rate, so the emulator checks only a positive amount there. The 24 rows were
 * checked (2026-12-02) against a published copy of that table (pronamic/memberpress,
 * app/data/minimum_charge_amounts.php, which cites the same section): every value agrees; its
 * one extra row, HRK, is gone since Croatia adopted the euro.
 */
const MINIMUM: Record<string, number> = {
  usd: 50,
  aed: 200,
  aud: 50,
  bgn: 100,
  brl: 50,
  cad: 50,
  chf: 50,
  czk: 1500,
  dkk: 250,
  eur: 50,
  gbp: 30,
  hkd: 400,
  huf: 17500,
  inr: 50,
  jpy: 50,
  mxn: 1000,
  myr: 200,
  nok: 300,
  nzd: 50,
  pln: 200,
  ron: 200,
  sek: 300,
  sgd: 50,
  thb: 1000,
};
const ZERO_DECIMAL = new Set("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split(" "));
const THREE_DECIMAL = new Set(["bhd", "jod", "kwd", "omr", "tnd"]);

/** Stripe's own wording, e.g. "Amount must be at least $0.50 usd". */
function display(amount: number, currency: string): string {
  const digits = ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2;
  const major = (amount / 10 ** digits).toFixed(digits);
  return currency === "usd" ? `$${major}` : major;
}

export function checkChargeAmount(amount: number, currency: string, param = "amount"): void {
  const min = MINIMUM[currency] ?? 1;
  if (amount < min) {
    throw new StripeError({
      status: 400,
      type: "invalid_request_error",
      code: "amount_too_small",
      param,
      message: `Amount must be at least ${display(min, currency)} ${currency}`,
    });
  }
  if (amount > 99_999_999) {
    throw new StripeError({
      status: 400,
      type: "invalid_request_error",
      code: "amount_too_large",
      param,
      message: `Amount must be no more than ${display(99_999_999, currency)} ${currency}`,
    });
  }
  // Card networks settle three-decimal currencies in hundredths: the last digit must be 0.
  if (THREE_DECIMAL.has(currency) && amount % 10 !== 0) {
    throw invalidParam(
      param,
      `Invalid amount for ${currency}: three-decimal currencies require an amount divisible by 10 (the last digit must be 0).`,
      "invalid_charge_amount",
    );
  }
}
