import { type Route as TableRoute, route as tableRoute } from "../router";
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

export type Route = TableRoute<ApiHandler>;

export const route: (method: string, path: string, handler: ApiHandler) => Route = tableRoute;
