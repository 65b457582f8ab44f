import { match } from "../router";
import type { ApiContext, Route } from "./context";
import { errorResponse, StripeError, unrecognizedUrl } from "./errors";
import { Events } from "./events";
import { expand } from "./expand";
import { faultError, takeFault } from "./faults";
import { canonical, type Params, parseForm } from "./form";
import * as idem from "./idempotency";
import { nowSeconds, requestId } from "./ids";
import { expandPaths } from "./params";
import { chargeRoutes, disputeRoutes } from "./resources/charges";
import { customerRoutes } from "./resources/customers";
import { eventRoutes } from "./resources/events";
import { invoiceRoutes } from "./resources/invoices";
import { paymentIntentRoutes } from "./resources/payment-intents";
import { paymentMethodRoutes } from "./resources/payment-methods";
import { priceRoutes } from "./resources/prices";
import { refundRoutes } from "./resources/refunds";
import { subscriptionScheduleRoutes } from "./resources/subscription-schedules";
import { subscriptionRoutes } from "./resources/subscriptions";
import type { Store } from "./store";

const ROUTES: Route[] = [
  ...customerRoutes,
  ...paymentIntentRoutes,
  ...paymentMethodRoutes,
  ...chargeRoutes,
  ...disputeRoutes,
  ...refundRoutes,
  ...priceRoutes,
  ...subscriptionRoutes,
  ...subscriptionScheduleRoutes,
  ...invoiceRoutes,
  ...eventRoutes,
];

export type ApiDeps = { store: Store; onDelivery: () => void };

/**
 * One Stripe API request: auth → injected faults → idempotency → handler → expand.
 * Everything after reading the body is synchronous, so the Durable Object never interleaves
 * two requests' state changes (a replay can never race its original).
 */
export async function handleApi(deps: ApiDeps, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const method = request.method.toUpperCase();
  const path = url.pathname;
  const reqId = requestId();
  const body = method === "POST" ? new TextDecoder().decode(await request.arrayBuffer()) : "";
  const params: Params = { ...parseForm(url.search.slice(1)), ...parseForm(body) };
  const idemKey = method === "POST" ? request.headers.get("idempotency-key") : null;
  const log = (status: number, replayed: boolean, fault: boolean) =>
    deps.store.sql.exec(
      "INSERT INTO requests (request_id, method, path, idempotency_key, params, status, replayed, fault, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      reqId,
      method,
      path,
      idemKey,
      JSON.stringify(params),
      status,
      replayed ? 1 : 0,
      fault ? 1 : 0,
      nowSeconds(),
    );
  const baseHeaders: Record<string, string> = {
    "Request-Id": reqId,
    "Stripe-Version": request.headers.get("stripe-version") ?? "2026-10-28.endive",
    ...(idemKey ? { "Idempotency-Key": idemKey } : {}),
  };
  const fail = (err: StripeError, fault = false) => {
    log(err.init.status, false, fault);
    const res = errorResponse(err, reqId);
    for (const [k, v] of Object.entries(baseHeaders)) res.headers.set(k, v);
    return res;
  };

  const apiKey = authenticate(request);
  if (apiKey instanceof StripeError) return fail(apiKey);

  // Stripe refuses a second request with a key whose first request is still running (409,
  // idempotency_key_in_use); it saves nothing for it, so a later retry replays or runs.
  const flight = idemKey ? `${apiKey}\u0000${idemKey}` : null;
  if (flight && deps.store.inFlight.has(flight)) return fail(keyInUse(idemKey ?? ""));
  if (flight) deps.store.inFlight.add(flight);
  try {
    return await execute(
      deps,
      { method, path, url, body, params, idemKey, apiKey, reqId },
      log,
      fail,
      baseHeaders,
    );
  } finally {
    if (flight) deps.store.inFlight.delete(flight);
  }
}

type Incoming = {
  method: string;
  path: string;
  url: URL;
  body: string;
  params: Params;
  idemKey: string | null;
  apiKey: string;
  reqId: string;
};

/** Faults → idempotent replay → handler; the part of a request that holds its idempotency key. */
async function execute(
  deps: ApiDeps,
  { method, path, url, body, params, idemKey, apiKey, reqId }: Incoming,
  log: (status: number, replayed: boolean, fault: boolean) => void,
  fail: (err: StripeError, fault?: boolean) => Response,
  baseHeaders: Record<string, string>,
): Promise<Response> {
  const fault = takeFault(deps.store, method, path, `${safeDecode(url.search)}&${safeDecode(body)}`);
  if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms ?? 0));
  if (fault?.status) return fail(faultError(fault.status, fault.retry_after, fault.code), true);

  const scope = idemKey ? { apiKey, key: idemKey, method, path, params: canonical(params) } : null;
  if (scope) {
    try {
      const saved = idem.lookup(deps.store, scope);
      if (saved) {
        log(saved.status, true, false);
        return new Response(saved.body, {
          status: saved.status,
          headers: {
            ...json,
            ...baseHeaders,
            "Idempotent-Replayed": "true",
            "Original-Request": saved.requestId,
          },
        });
      }
    } catch (err) {
      if (err instanceof StripeError) return fail(err);
      throw err;
    }
  }

  const { status, text } = run(deps, method, path, params, reqId, idemKey);
  if (scope && idem.shouldSave(status)) {
    idem.save(deps.store, scope, { status, body: text, requestId: reqId });
  }
  log(status, false, false);
  return new Response(text, { status, headers: { ...json, ...baseHeaders } });
}

function keyInUse(key: string): StripeError {
  return new StripeError({
    status: 409,
    type: "idempotency_error",
    code: "idempotency_key_in_use",
    message: `There is currently another in-progress request using this Idempotency-Key (${key}). Please try again later.`,
  });
}

const json = { "Content-Type": "application/json" };

function run(
  deps: ApiDeps,
  method: string,
  path: string,
  params: Params,
  reqId: string,
  idemKey: string | null,
) {
  const events = new Events(deps.store, { id: reqId, idempotencyKey: idemKey }, deps.onDelivery);
  try {
    const found = match(ROUTES, method, path);
    if (!found) throw unrecognizedUrl(method, path);
    const ctx: ApiContext = { store: deps.store, events, params, ids: found.ids.map(decodeURIComponent) };
    const result = expand(deps.store, found.handler(ctx), expandPaths(params));
    return { status: 200, text: JSON.stringify(result, null, 2) };
  } catch (err) {
    const e =
      err instanceof StripeError
        ? err
        : new StripeError({
            status: 500,
            type: "api_error",
            message: `Emulator error: ${err instanceof Error ? err.message : String(err)}`,
          });
    return { status: e.init.status, text: JSON.stringify(e.body(reqId), null, 2) };
  }
}

/** `Bearer sk_test_…` (or Basic with the key as user name, which Stripe also accepts). */
function authenticate(request: Request): string | StripeError {
  const header = request.headers.get("authorization") ?? "";
  let key = "";
  if (header.startsWith("Bearer ")) key = header.slice(7).trim();
  else if (header.startsWith("Basic ")) key = (safeAtob(header.slice(6).trim()).split(":")[0] ?? "").trim();
  if (key === "") {
    return new StripeError({
      status: 401,
      type: "invalid_request_error",
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    });
  }
  if (!key.startsWith("sk_test_") || key.length < 12) {
    return new StripeError({
      status: 401,
      type: "invalid_request_error",
      message: `Invalid API Key provided: ${key.slice(0, 8)}****${key.slice(-4)}`,
    });
  }
  return key;
}

function safeAtob(s: string): string {
  try {
    return atob(s);
  } catch {
    return "";
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll("+", " "));
  } catch {
    return s;
  }
}
