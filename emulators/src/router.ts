/**
 * The path tables every emulator surface routes from (Stripe's API, its controls, Google's
 * controls): the first entry whose method and anchored pattern match wins, so order matters.
 */

/**
 * Matches any method: a path's catch-all answer after its per-method entries. A symbol, so no
 * request method (HTTP allows `*` as one) can ever collide with it.
 */
export const ANY_METHOD: unique symbol = Symbol("any method");

export type Route<H> = { method: string | typeof ANY_METHOD; pattern: RegExp; handler: H };

/** `/v1/payment_intents/:id/confirm` → a regex capturing each `:id`. */
export function route<H>(method: Route<H>["method"], path: string, handler: H): Route<H> {
  const pattern = new RegExp(`^${path.replace(/:[a-z_]+/g, "([^/]+)")}$`);
  return { method, pattern, handler };
}

/** The first matching entry's handler with its captures, still URL-encoded (callers decide). */
export function match<H>(
  routes: readonly Route<H>[],
  method: string,
  path: string,
): { handler: H; ids: string[] } | null {
  for (const r of routes) {
    if (r.method !== method && r.method !== ANY_METHOD) continue;
    const m = r.pattern.exec(path);
    if (m) return { handler: r.handler, ids: m.slice(1) };
  }
  return null;
}
