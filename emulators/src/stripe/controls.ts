import { ANY_METHOD, match, type Route, route } from "../router";
import {
  advanceSubscription,
  appealDispute,
  closeDispute,
  openDispute,
  updateDispute,
} from "./control-actions";
import { failRefund, settleProcessing, settleRefund, startProcessing } from "./control-payments";
import { errorResponse, StripeError } from "./errors";
import { Events } from "./events";
import { addFault, type FaultSpec } from "./faults";
import { ageKeys } from "./idempotency";
import { nowSeconds, requestId } from "./ids";
import { confirmIntent } from "./resources/confirm";
import { getIntent } from "./resources/payment-intents";
import type { Store } from "./store";
import { listDeliveries, signPayload } from "./webhooks";

/**
 * Test/dev controls under /_emulator/stripe/* — not Stripe's API: no auth, JSON in and out.
 * They drive what Stripe would do on its own (Stripe.js, card networks, billing cycles).
 */
export type ControlDeps = { store: Store; env: Env; onDelivery: () => void };

type Body = Record<string, unknown>;

type ControlContext = {
  deps: ControlDeps;
  /** What the control actions need: state plus an event recorder. */
  c: { store: Store; events: Events };
  body: Body;
  query: URLSearchParams;
  /** The path's `:id`, as sent (controls never decoded it). */
  id: string;
};

type ControlHandler = (x: ControlContext) => Response | Promise<Response>;

const s = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const n = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

const CONTROLS: Route<ControlHandler>[] = [
  route("GET", "/webhooks", ({ deps, query }) => webhooks(deps, query)),
  route("POST", "/sign", ({ deps, body }) => sign(deps, body)),
  route("POST", "/payment_intents/:id/confirm", ({ c, id, body }) =>
    Response.json(
      confirmIntent(c, getIntent(c.store, id), {
        paymentMethod: s(body.payment_method),
        client: { authenticate: body.authenticate !== false },
      }),
    ),
  ),
  route("POST", "/payment_intents/:id/processing", ({ c, id, body }) =>
    Response.json(startProcessing(c, id, s(body.payment_method))),
  ),
  route("POST", "/payment_intents/:id/settle", ({ c, id, body }) =>
    Response.json(settleProcessing(c, id, s(body.outcome) ?? "")),
  ),
  route("POST", "/refunds/:id/fail", ({ c, id }) => Response.json(failRefund(c, id))),
  route("POST", "/refunds/:id/settle", ({ c, id }) => Response.json(settleRefund(c, id))),
  route("POST", "/disputes", ({ c, body }) =>
    Response.json(
      openDispute(c, {
        payment_intent: s(body.payment_intent),
        charge: s(body.charge),
        reason: s(body.reason),
      }),
    ),
  ),
  route("POST", "/disputes/:id/update", ({ c, id, body }) =>
    Response.json(updateDispute(c, id, { status: s(body.status), evidence_due_by: n(body.evidence_due_by) })),
  ),
  route("POST", "/disputes/:id/close", ({ c, id, body }) =>
    Response.json(closeDispute(c, id, s(body.status) ?? "")),
  ),
  route("POST", "/disputes/:id/appeal", ({ c, id }) => Response.json(appealDispute(c, id))),
  route("POST", "/subscriptions/:id/advance", ({ c, id, body }) =>
    Response.json(advanceSubscription(c, id, { fail: body.fail === true })),
  ),
  route("GET", "/faults", ({ deps }) => listFaults(deps.store)),
  route("POST", "/faults", ({ deps, body }) => createFault(deps.store, body)),
  route(ANY_METHOD, "/faults", () => bad("GET or POST")),
  route("DELETE", "/faults/:id", ({ deps, id }) => {
    deps.store.sql.exec("DELETE FROM faults WHERE id = ?", Number(id));
    return Response.json({ deleted: true });
  }),
  route("POST", "/idempotency/age", ({ deps, body }) => {
    const seconds = n(body.seconds);
    if (seconds === undefined || seconds < 0) return bad("seconds must be a non-negative number");
    return Response.json({ aged: ageKeys(deps.store, seconds, s(body.key)) });
  }),
  route("GET", "/requests", ({ deps, query }) => requests(deps.store, query)),
  route("GET", "/objects/:id", ({ deps, id }) => {
    const found = deps.store.get(id);
    return found
      ? Response.json(found)
      : Response.json({ error: { type: "invalid_request_error", message: "not found" } }, { status: 404 });
  }),
];

export async function handleControl(deps: ControlDeps, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const path = url.pathname.slice("/_emulator/stripe".length);
  const method = request.method.toUpperCase();
  const reqId = requestId();
  let body: Body = {};
  if (method === "POST") {
    const text = await request.text();
    try {
      body = text ? (JSON.parse(text) as Body) : {};
    } catch {
      return Response.json(
        { error: { type: "invalid_request_error", message: "Body must be JSON." } },
        { status: 400 },
      );
    }
  }
  const found = match(CONTROLS, method, path);
  if (!found) {
    return Response.json(
      {
        error: {
          type: "invalid_request_error",
          message: `Unknown emulator control ${method} ${url.pathname}`,
        },
      },
      { status: 404 },
    );
  }
  // Controls change state like Stripe itself does: events carry no API request.
  const c = {
    store: deps.store,
    events: new Events(deps.store, { id: null, idempotencyKey: null }, deps.onDelivery),
  };
  try {
    return await found.handler({ deps, c, body, query: url.searchParams, id: found.ids[0] ?? "" });
  } catch (err) {
    if (err instanceof StripeError) return errorResponse(err, reqId);
    throw err;
  }
}

async function webhooks(deps: ControlDeps, query: URLSearchParams): Promise<Response> {
  const limit = Math.min(Number(query.get("limit") ?? 500) || 500, 1000);
  return Response.json(
    await listDeliveries(deps.store, deps.env.STRIPE_WEBHOOK_SECRET, {
      since: Number(query.get("since") ?? 0) || 0,
      type: query.get("type"),
      limit,
    }),
  );
}

async function sign(deps: ControlDeps, body: Body): Promise<Response> {
  const payload = s(body.payload);
  if (payload === undefined) return bad("payload (string) is required");
  const timestamp = n(body.timestamp) ?? nowSeconds();
  return Response.json({
    signature: await signPayload(s(body.secret) ?? deps.env.STRIPE_WEBHOOK_SECRET, payload, timestamp),
    timestamp,
  });
}

function bad(message: string): Response {
  return Response.json({ error: { type: "invalid_request_error", message } }, { status: 400 });
}

function listFaults(store: Store): Response {
  return Response.json({
    faults: store.sql.exec("SELECT * FROM faults WHERE remaining > 0 ORDER BY id").toArray(),
  });
}

function createFault(store: Store, body: Body): Response {
  const pathPrefix = s(body.path_prefix);
  if (!pathPrefix?.startsWith("/v1/")) return bad("path_prefix must start with /v1/");
  const status = n(body.status) ?? null;
  const delay = n(body.delay_ms) ?? null;
  if (status === null && delay === null) return bad("give status and/or delay_ms");
  if (status !== null && (status < 400 || status > 599)) return bad("status must be 4xx or 5xx");
  if (status === 409) return bad("Stripe answers lock_timeout as 429: give status 429 and code lock_timeout");
  const code = s(body.code) ?? null;
  if (code !== null && (code !== "lock_timeout" || status !== 429))
    return bad("code may only be lock_timeout, with status 429");
  const spec: FaultSpec = {
    path_prefix: pathPrefix,
    method: s(body.method) ?? null,
    status,
    count: n(body.count) ?? 1,
    delay_ms: delay,
    retry_after: n(body.retry_after) ?? null,
    body_contains: s(body.body_contains) ?? null,
    code,
  };
  return Response.json({ id: addFault(store, spec) });
}

type RequestRow = {
  seq: number;
  request_id: string;
  method: string;
  path: string;
  idempotency_key: string | null;
  params: string;
  status: number;
  replayed: number;
  fault: number;
  at: number;
};

function requests(store: Store, q: URLSearchParams): Response {
  const rows = store.sql
    .exec<RequestRow>(
      // substr() rather than LIKE: ids make prefixes long enough to hit SQLite's LIKE pattern limit,
      // and `_` in ids would be a wildcard.
      `SELECT * FROM requests WHERE seq > ? AND (? IS NULL OR substr(path, 1, length(?)) = ?) AND (? IS NULL OR idempotency_key = ?) ORDER BY seq LIMIT 1000`,
      Number(q.get("since") ?? 0) || 0,
      q.get("path_prefix"),
      q.get("path_prefix"),
      q.get("path_prefix"),
      q.get("idempotency_key"),
      q.get("idempotency_key"),
    )
    .toArray();
  return Response.json({
    requests: rows.map((r) => ({
      ...r,
      params: JSON.parse(r.params) as unknown,
      replayed: r.replayed === 1,
      fault: r.fault === 1,
    })),
    next: String(rows.at(-1)?.seq ?? q.get("since") ?? 0),
  });
}
