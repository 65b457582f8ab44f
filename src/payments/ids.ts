import { sha256Hex } from "../platform/ids";

/**
 * A UUID derived from its inputs. Used when a client Idempotency-Key is present, so a
 * retry after a failure between Stripe and D1 reuses the same payment/refund id, hence
 * the same Stripe idempotency key, and completes exactly once.
 */
export async function derivedUuid(...parts: string[]): Promise<string> {
  const h = await sha256Hex(parts.join("\u0000"));
  const variant = ((Number.parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
