import type Stripe from "stripe";
import type { Deps } from "../../platform/deps";

/** What a handler did with an event; `deferred` names the object we do not have yet. */
export type Outcome =
  | { status: "processed" }
  | { status: "ignored"; why: string }
  | { status: "deferred"; key: string };

export type EventHandler = (deps: Deps, event: Stripe.Event) => Promise<Outcome>;

export const processed: Outcome = { status: "processed" };
export const ignored = (why: string): Outcome => ({ status: "ignored", why });
export const deferred = (key: string): Outcome => ({ status: "deferred", key });

/** Stripe objects are read loosely: the API version decides where some fields live. */
export type Loose = Record<string, unknown>;
export const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
export const num = (v: unknown): number | null => (typeof v === "number" ? v : null);
export const obj = (v: unknown): Loose | null => (v && typeof v === "object" ? (v as Loose) : null);
/** An expandable field: the id whether it came as a string or an object. */
export const ref = (v: unknown): string | null => str(v) ?? str(obj(v)?.id);
