const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Random base62, the way Stripe ids look (`pi_3PgafyB7WZ01zgkW...`). */
export function randomChars(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

/** Object ids: 24 random characters after the prefix; customers use 14 like Stripe's. */
export function newId(prefix: string): string {
  return `${prefix}_${randomChars(prefix === "cus" || prefix === "si" || prefix === "prod" ? 14 : 24)}`;
}

export const requestId = () => `req_${randomChars(14)}`;

/** Unix seconds, Stripe's unit for every timestamp. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);
