import type { Events } from "./events";
import type { Params } from "./form";
import type { Store, StripeObject } from "./store";

/** What every API handler gets: state, the event recorder, decoded params and path ids. */
export type ApiContext = {
  store: Store;
  events: Events;
  params: Params;
  /** Captured path segments, e.g. the id in /v1/payment_intents/:id. */
  ids: string[];
};

export type ApiResult = StripeObject | { object: "list"; data: unknown[]; has_more: boolean; url: string };

export type ApiHandler = (c: ApiContext) => ApiResult;

export type Route = { method: string; pattern: RegExp; handler: ApiHandler };

/** `/v1/payment_intents/:id/confirm` → a regex capturing each `:id`. */
export function route(method: string, path: string, handler: ApiHandler): Route {
  const pattern = new RegExp(`^${path.replace(/:[a-z_]+/g, "([^/]+)")}$`);
  return { method, pattern, handler };
}
