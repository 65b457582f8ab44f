import type { Route } from "../context";
import { route } from "../context";
import { noSuch } from "../errors";
import type { Invoice } from "../objects-subscriptions";

/** Invoices are issued by the billing clock and subscription changes; retrieving one is read-only. */
export const invoiceRoutes: Route[] = [
  route("GET", "/v1/invoices/:id", ({ store, ids }) => {
    const found = store.get<Invoice>(ids[0] ?? "");
    if (found?.object !== "invoice") throw noSuch("invoice", ids[0] ?? "");
    return found;
  }),
];
