import { z } from "@hono/zod-openapi";

// Stripe's zero-decimal currencies: the amount is already in whole units.
// https://docs.stripe.com/currencies#zero-decimal
const ZERO_DECIMAL = new Set([
  "bif",
  "clp",
  "djf",
  "gnf",
  "jpy",
  "kmf",
  "krw",
  "mga",
  "pyg",
  "rwf",
  "ugx",
  "vnd",
  "vuv",
  "xaf",
  "xof",
  "xpf",
]);
// Three-decimal currencies Stripe supports.
const THREE_DECIMAL = new Set(["bhd", "jod", "kwd", "omr", "tnd"]);

/** Currencies the platform accepts (a subset of Stripe's); unknown codes are a 400. */
export const SUPPORTED_CURRENCIES = [
  "usd",
  "eur",
  "gbp",
  "cad",
  "aud",
  "nzd",
  "chf",
  "sek",
  "nok",
  "dkk",
  "pln",
  "czk",
  "huf",
  "jpy",
  "krw",
  "sgd",
  "hkd",
  "inr",
  "brl",
  "mxn",
  "zar",
  "aed",
  "kwd",
  "bhd",
  "ils",
  "try",
] as const;

export const currencySchema = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.enum(SUPPORTED_CURRENCIES))
  .openapi({ example: "usd", description: "ISO-4217 code (case-insensitive), one the platform supports" });

export function minorUnitExponent(currency: string): number {
  const c = currency.toLowerCase();
  if (ZERO_DECIMAL.has(c)) return 0;
  if (THREE_DECIMAL.has(c)) return 3;
  return 2;
}

/** Integer minor units to an exact decimal string, never through floating point. */
export function toDecimalString(amount: number, currency: string): string {
  const exp = minorUnitExponent(currency);
  const negative = amount < 0;
  const digits = Math.abs(Math.trunc(amount)).toString();
  if (exp === 0) return (negative ? "-" : "") + digits;
  const padded = digits.padStart(exp + 1, "0");
  const whole = padded.slice(0, padded.length - exp);
  const frac = padded.slice(padded.length - exp);
  return `${negative ? "-" : ""}${whole}.${frac}`;
}

/** Stripe's per-charge maximum is 99,999,999 minor units for most currencies. */
export const MAX_AMOUNT = 99_999_999;

export const amountSchema = z
  .number()
  .int("amount must be an integer number of minor units")
  .positive()
  .max(MAX_AMOUNT)
  .openapi({ example: 2000, description: "Amount in the currency's minor units (e.g. cents)" });

/**
 * Stripe's smallest charge per currency, in minor units (docs.stripe.com/currencies, "Minimum
 * and maximum charge amounts"). Currencies the table does not name have a minimum of "USD 0.50
 * equivalent" at the day's rate, which only Stripe can judge; they are checked for > 0 only.
 */
const MINIMUM_CHARGE = new Map<string, number>([
  ["usd", 50],
  ["eur", 50],
  ["gbp", 30],
  ["cad", 50],
  ["aud", 50],
  ["nzd", 50],
  ["chf", 50],
  ["sek", 300],
  ["nok", 300],
  ["dkk", 250],
  ["pln", 200],
  ["czk", 1500],
  ["huf", 17500],
  ["jpy", 50],
  ["sgd", 50],
  ["hkd", 400],
  ["inr", 50],
  ["brl", 50],
  ["mxn", 1000],
  ["aed", 200],
]);

/**
 * Why Stripe would refuse to charge this amount, or null: below the currency's minimum, or a
 * three-decimal currency (KWD, BHD, …) whose amount is not divisible by 10 (card networks
 * settle those in hundredths). Checked before Stripe is called, so the client gets a 400.
 */
export function chargeAmountProblem(amount: number, currency: string): string | null {
  const c = currency.toLowerCase();
  const min = MINIMUM_CHARGE.get(c);
  if (min !== undefined && amount < min) {
    return `amount must be at least ${toDecimalString(min, c)} ${c} (Stripe's minimum charge)`;
  }
  if (THREE_DECIMAL.has(c) && amount % 10 !== 0) {
    return `${c} is a three-decimal currency: the amount must be divisible by 10`;
  }
  return null;
}
