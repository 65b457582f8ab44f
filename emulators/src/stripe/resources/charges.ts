import type { Route } from "../context";
import { route } from "../context";
import { noSuch } from "../errors";
import type { Charge } from "../objects-charges";
import { expandPaths } from "../params";
import type { Store } from "../store";
import { listRefunds } from "./refund-list";

export function getCharge(store: Store, id: string, param = "id"): Charge {
  const found = store.get<Charge>(id);
  if (found?.object !== "charge") throw noSuch("charge", id, param);
  return found;
}

export const chargeRoutes: Route[] = [
  route("GET", "/v1/charges/:id", ({ store, ids, params }) => {
    const ch = getCharge(store, ids[0] ?? "");
    // `refunds` is not part of a Charge unless expanded (API 2022-11-15 onwards).
    if (!expandPaths(params).includes("refunds")) return ch;
    return {
      ...ch,
      refunds: {
        ...listRefunds(store, { charge: ch.id }, { limit: 10 }),
        url: `/v1/charges/${ch.id}/refunds`,
      },
    };
  }),
];

export const disputeRoutes: Route[] = [
  route("GET", "/v1/disputes/:id", ({ store, ids }) => {
    const id = ids[0] ?? "";
    const found = store.get(id);
    if (found?.object !== "dispute") throw noSuch("dispute", id);
    return found;
  }),
];
