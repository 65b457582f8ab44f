import type { Route } from "../context";
import { route } from "../context";
import { noSuch, notAttached } from "../errors";
import { changed } from "../events";
import { type Customer, customer } from "../objects-payments";
import { allowOnly, applyMetadata, nullableStr, obj } from "../params";
import type { Store } from "../store";

const FIELDS = [
  "email",
  "name",
  "description",
  "phone",
  "metadata",
  "payment_method",
  "invoice_settings",
  "address",
  "preferred_locales",
];

/** A customer's invoice default must be one of its attached PaymentMethods (as on Stripe). */
function attachedDefault(store: Store, pmId: string, customerId: string): void {
  const pm = store.get(pmId);
  if (pm?.object !== "payment_method" || pm.customer !== customerId) {
    throw notAttached(pmId, "invoice_settings[default_payment_method]");
  }
}

export function getCustomer(store: Store, id: string, param = "id"): Customer {
  const found = store.get<Customer>(id);
  if (found?.object !== "customer") throw noSuch("customer", id, param);
  return found;
}

export const customerRoutes: Route[] = [
  route("POST", "/v1/customers", ({ store, events, params }) => {
    allowOnly(params, FIELDS);
    const created = customer({
      email: nullableStr(params, "email") ?? null,
      name: nullableStr(params, "name") ?? null,
      description: nullableStr(params, "description") ?? null,
      phone: nullableStr(params, "phone") ?? null,
      metadata: applyMetadata({}, params),
    });
    store.put(created);
    events.emit("customer.created", created);
    return created;
  }),
  route("GET", "/v1/customers/:id", ({ store, ids }) => getCustomer(store, ids[0] ?? "")),
  route("POST", "/v1/customers/:id", ({ store, events, params, ids }) => {
    allowOnly(params, FIELDS);
    const before = getCustomer(store, ids[0] ?? "");
    const after: Customer = { ...before, metadata: applyMetadata(before.metadata, params) };
    for (const key of ["email", "name", "description", "phone"]) {
      const v = nullableStr(params, key);
      if (v !== undefined) after[key] = v;
    }
    const settings = obj(params, "invoice_settings");
    const pmId = settings ? nullableStr(settings, "default_payment_method") : undefined;
    if (pmId !== undefined) {
      if (pmId) attachedDefault(store, pmId, before.id);
      after.invoice_settings = { ...(before.invoice_settings as object), default_payment_method: pmId };
    }
    store.put(after);
    const prev = changed(before, after);
    if (Object.keys(prev).length > 0) events.emit("customer.updated", after, prev);
    return after;
  }),
];
