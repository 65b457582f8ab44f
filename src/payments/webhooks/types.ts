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
