import type { Route } from "../context";
import { route } from "../context";
import { noSuch } from "../errors";
import type { Charge } from "../objects-charges";
import type { Store } from "../store";

export function getCharge(store: Store, id: string, param = "id"): Charge {
  const found = store.get<Charge>(id);
  if (found?.object !== "charge") throw noSuch("charge", id, param);
  return found;
}

export const chargeRoutes: Route[] = [
  route("GET", "/v1/charges/:id", ({ store, ids }) => getCharge(store, ids[0] ?? "")),
];

export const disputeRoutes: Route[] = [
  route("GET", "/v1/disputes/:id", ({ store, ids }) => {
    const id = ids[0] ?? "";
    const found = store.get(id);
    if (found?.object !== "dispute") throw noSuch("dispute", id);
    return found;
  }),
];
