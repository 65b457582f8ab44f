import type { ApiResult, Route } from "../context";
import { route } from "../context";
import { invalidParam, missingParam, noSuch, StripeError } from "../errors";
import type { Params } from "../form";
import { type Price, type Product, price, product } from "../objects-billing";
import {
  allowOnly,
  applyMetadata,
  bool,
  int,
  list,
  nullableStr,
  obj,
  oneOf,
  requiredStr,
  str,
} from "../params";
import type { Store, StripeObject } from "../store";

/**
 * Products and prices as Stripe keeps them: ids are generated, a price is found by its
 * `lookup_key` (unique among the account's prices; `transfer_lookup_key` moves it from the
 * price holding it), and only active prices can be subscribed to. Nothing is pre-seeded:
 * the platform's plans exist once `npm run stripe:sync-plans` (or the test setup) made them.
 */
export function getPrice(store: Store, id: string, param = "price"): Price {
  const found = store.get<Price>(id);
  if (found?.object !== "price") throw noSuch("price", id, param);
  return found;
}

/** A price a new subscription item may use: Stripe refuses inactive ones. */
export function activePrice(store: Store, id: string, param: string): Price {
  const p = getPrice(store, id, param);
  if (!p.active) {
    throw invalidParam(param, "The price specified is inactive. This field only accepts active prices.");
  }
  return p;
}

function getProduct(store: Store, id: string, param = "id"): Product {
  const found = store.get<Product>(id);
  if (found?.object !== "product") throw noSuch("product", id, param);
  return found;
}

/** Frees a lookup key for another price, or refuses as Stripe does when it is taken. */
function claimLookupKey(store: Store, key: string, forPrice: string, transfer: boolean): void {
  const holder = store.all<Price>("price").find((p) => p.lookup_key === key && p.id !== forPrice);
  if (!holder) return;
  if (!transfer) {
    throw invalidParam("lookup_key", `A price (\`${holder.id}\`) already uses that lookup key.`);
  }
  store.put({ ...holder, lookup_key: null });
}

/** Stripe's list envelope over objects already filtered, with limit / starting_after. */
export function page<T extends StripeObject>(items: T[], params: Params, url: string): ApiResult {
  const limit = int(params, "limit") ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalidParam("limit", "This value must be between 1 and 100.", "parameter_invalid_integer");
  }
  const after = str(params, "starting_after");
  const newestFirst = [...items].reverse();
  const start = after ? newestFirst.findIndex((o) => o.id === after) + 1 : 0;
  const data = newestFirst.slice(start, start + limit);
  return { object: "list", data, has_more: start + limit < newestFirst.length, url };
}

const PRODUCT_FIELDS = ["id", "name", "description", "metadata", "active"];
const PRICE_CREATE = [
  "currency",
  "unit_amount",
  "product",
  "recurring",
  "lookup_key",
  "transfer_lookup_key",
  "nickname",
  "metadata",
  "active",
];
const PRICE_UPDATE = ["active", "lookup_key", "transfer_lookup_key", "nickname", "metadata"];

function createPrice(store: Store, params: Params): Price {
  allowOnly(params, PRICE_CREATE);
  const currency = requiredStr(params, "currency").toLowerCase();
  const amount = int(params, "unit_amount");
  if (amount === undefined) throw missingParam("unit_amount");
  if (amount < 0)
    throw invalidParam("unit_amount", "Invalid non-negative integer", "parameter_invalid_integer");
  const productId = requiredStr(params, "product");
  getProduct(store, productId, "product");
  const recurring = obj(params, "recurring");
  if (!recurring) throw missingParam("recurring");
  const interval = oneOf(recurring, "interval", ["month", "year"] as const);
  if (!interval) throw missingParam("recurring[interval]");
  const lookupKey = nullableStr(params, "lookup_key") ?? null;
  const created = price({
    product: productId,
    currency,
    unitAmount: amount,
    interval,
    intervalCount: int(recurring, "interval_count") ?? 1,
    lookupKey,
    nickname: nullableStr(params, "nickname") ?? null,
    metadata: applyMetadata({}, params),
    active: bool(params, "active") ?? true,
  });
  if (lookupKey) claimLookupKey(store, lookupKey, created.id, bool(params, "transfer_lookup_key") ?? false);
  return store.put(created);
}

function updatePrice(store: Store, id: string, params: Params): Price {
  allowOnly(params, PRICE_UPDATE);
  const before = getPrice(store, id);
  const after: Price = {
    ...before,
    metadata: applyMetadata(before.metadata as Record<string, string>, params),
  };
  const active = bool(params, "active");
  if (active !== undefined) after.active = active;
  const nickname = nullableStr(params, "nickname");
  if (nickname !== undefined) after.nickname = nickname;
  const lookupKey = nullableStr(params, "lookup_key");
  if (lookupKey !== undefined) {
    if (lookupKey) claimLookupKey(store, lookupKey, id, bool(params, "transfer_lookup_key") ?? false);
    after.lookup_key = lookupKey;
  }
  return store.put(after);
}

function listPrices(store: Store, params: Params): ApiResult {
  allowOnly(params, ["lookup_keys", "active", "product", "limit", "starting_after"]);
  const keys = list(params, "lookup_keys");
  if (keys && keys.length > 10) {
    throw invalidParam("lookup_keys", "You may pass up to 10 lookup keys.", "parameter_invalid_array");
  }
  const active = bool(params, "active");
  const productId = str(params, "product");
  const items = store
    .all<Price>("price")
    .filter(
      (p) =>
        (keys === undefined || keys.includes(p.lookup_key as string)) &&
        (active === undefined || p.active === active) &&
        (productId === undefined || p.product === productId),
    );
  return page(items, params, "/v1/prices");
}

function upsertProduct(store: Store, params: Params, id?: string): Product {
  allowOnly(params, id ? PRODUCT_FIELDS.filter((f) => f !== "id") : PRODUCT_FIELDS);
  if (!id) {
    const wanted = str(params, "id");
    if (wanted && store.get(wanted)) {
      throw new StripeError({
        status: 400,
        type: "invalid_request_error",
        code: "resource_already_exists",
        param: "id",
        message: "Product already exists.",
      });
    }
    return store.put(
      product({
        id: wanted,
        name: requiredStr(params, "name"),
        description: nullableStr(params, "description") ?? null,
        metadata: applyMetadata({}, params),
        active: bool(params, "active") ?? true,
      }),
    );
  }
  const before = getProduct(store, id);
  const after: Product = {
    ...before,
    metadata: applyMetadata(before.metadata as Record<string, string>, params),
  };
  const name = str(params, "name");
  if (name !== undefined) after.name = name;
  const description = nullableStr(params, "description");
  if (description !== undefined) after.description = description;
  const active = bool(params, "active");
  if (active !== undefined) after.active = active;
  after.updated = Math.floor(Date.now() / 1000);
  return store.put(after);
}

export const priceRoutes: Route[] = [
  route("POST", "/v1/prices", ({ store, params }) => createPrice(store, params)),
  route("GET", "/v1/prices", ({ store, params }) => listPrices(store, params)),
  route("GET", "/v1/prices/:id", ({ store, ids }) => getPrice(store, ids[0] ?? "", "id")),
  route("POST", "/v1/prices/:id", ({ store, params, ids }) => updatePrice(store, ids[0] ?? "", params)),
  route("POST", "/v1/products", ({ store, params }) => upsertProduct(store, params)),
  route("GET", "/v1/products", ({ store, params }) => {
    allowOnly(params, ["active", "limit", "starting_after"]);
    const active = bool(params, "active");
    const items = store.all<Product>("product").filter((p) => active === undefined || p.active === active);
    return page(items, params, "/v1/products");
  }),
  route("GET", "/v1/products/:id", ({ store, ids }) => getProduct(store, ids[0] ?? "")),
  route("POST", "/v1/products/:id", ({ store, params, ids }) => upsertProduct(store, params, ids[0] ?? "")),
];
