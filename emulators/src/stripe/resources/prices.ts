import type { Route } from "../context";
import { route } from "../context";
import { noSuch } from "../errors";
import { PRICES, PRODUCT_NAMES, type Price, product } from "../objects-billing";

export function getPrice(id: string, param = "price"): Price {
  const price = PRICES[id];
  if (!price) throw noSuch("price", id, param);
  return price;
}

/** A read-only catalogue: the plans the platform sells. */
export const priceRoutes: Route[] = [
  route("GET", "/v1/prices", () => ({
    object: "list",
    data: Object.values(PRICES),
    has_more: false,
    url: "/v1/prices",
  })),
  route("GET", "/v1/prices/:id", ({ ids }) => getPrice(ids[0] ?? "", "id")),
  route("GET", "/v1/products/:id", ({ ids }) => {
    const id = ids[0] ?? "";
    if (!(id in PRODUCT_NAMES)) throw noSuch("product", id);
    return product(id);
  }),
];
