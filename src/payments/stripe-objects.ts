// Stripe objects are read loosely: the API version decides where some fields live, and
// expandable fields arrive as an id or as the object.

export type Loose = Record<string, unknown>;
export const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
export const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
export const obj = (v: unknown): Loose | null => (v && typeof v === "object" ? (v as Loose) : null);
/** An expandable field: the id whether it came as a string or an object. */
export const ref = (v: unknown): string | null => str(v) ?? str(obj(v)?.id);

/** Stripe sends seconds; we store epoch ms. */
export const fromStripeTime = (s: number | null | undefined): number | null =>
  typeof s === "number" ? s * 1000 : null;
