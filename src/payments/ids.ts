import { sha256Hex } from "../platform/ids";
import type { Principal } from "../platform/types";

export const isAdmin = (p: Principal): boolean => p.role === "admin";

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

/** Stripe sends seconds; we store epoch ms. */
export const fromStripeTime = (s: number | null | undefined): number | null =>
  typeof s === "number" ? s * 1000 : null;

/** Stripe expandable fields are either an id or the object. */
export function idOf(v: string | { id: string } | null | undefined): string | null {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? v : v.id;
}
