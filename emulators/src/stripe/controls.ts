import { advanceSubscription, closeDispute, openDispute, updateDispute } from "./control-actions";
import { failRefund, settleProcessing, startProcessing } from "./control-payments";
import { errorResponse, StripeError } from "./errors";
import { Events } from "./events";
import { addFault, type FaultSpec } from "./faults";
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

const s = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const n = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

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
  // Controls change state like Stripe itself does: events carry no API request.
  const c = {
    store: deps.store,
    events: new Events(deps.store, { id: null, idempotencyKey: null }, deps.onDelivery),
  };
  const q = (k: string) => url.searchParams.get(k);
  const seg = path.split("/").filter(Boolean);
  try {
    if (method === "GET" && path === "/webhooks") {
      const limit = Math.min(Number(q("limit") ?? 500) || 500, 1000);
      return Response.json(
        await listDeliveries(deps.store, deps.env.STRIPE_WEBHOOK_SECRET, {
          since: Number(q("since") ?? 0) || 0,
          type: q("type"),
          limit,
        }),
      );
    }
    if (method === "POST" && path === "/sign") {
      const payload = s(body.payload);
      if (payload === undefined) return bad("payload (string) is required");
      const timestamp = n(body.timestamp) ?? nowSeconds();
      return Response.json({
        signature: await signPayload(s(body.secret) ?? deps.env.STRIPE_WEBHOOK_SECRET, payload, timestamp),
        timestamp,
      });
    }
    if (method === "POST" && seg[0] === "payment_intents" && seg[2] === "confirm" && seg.length === 3) {
      const pi = getIntent(deps.store, seg[1] ?? "");
      return Response.json(
        confirmIntent(c, pi, {
          paymentMethod: s(body.payment_method),
          client: { authenticate: body.authenticate !== false },
        }),
      );
    }
    if (method === "POST" && seg[0] === "payment_intents" && seg[2] === "processing") {
      return Response.json(startProcessing(c, seg[1] ?? "", s(body.payment_method)));
    }
    if (method === "POST" && seg[0] === "payment_intents" && seg[2] === "settle") {
      return Response.json(settleProcessing(c, seg[1] ?? "", s(body.outcome) ?? ""));
    }
    if (method === "POST" && seg[0] === "refunds" && seg[2] === "fail") {
      return Response.json(failRefund(c, seg[1] ?? ""));
    }
    if (method === "POST" && path === "/disputes") {
      return Response.json(
        openDispute(c, {
          payment_intent: s(body.payment_intent),
          charge: s(body.charge),
          reason: s(body.reason),
        }),
      );
    }
    if (method === "POST" && seg[0] === "disputes" && seg[2] === "update") {
      return Response.json(
        updateDispute(c, seg[1] ?? "", { status: s(body.status), evidence_due_by: n(body.evidence_due_by) }),
      );
    }
    if (method === "POST" && seg[0] === "disputes" && seg[2] === "close") {
      return Response.json(closeDispute(c, seg[1] ?? "", s(body.status) ?? ""));
    }
    if (method === "POST" && seg[0] === "subscriptions" && seg[2] === "advance") {
      return Response.json(advanceSubscription(c, seg[1] ?? "", { fail: body.fail === true }));
    }
    if (path === "/faults") return faults(deps.store, method, body);
    if (method === "DELETE" && seg[0] === "faults" && seg[1]) {
      deps.store.sql.exec("DELETE FROM faults WHERE id = ?", Number(seg[1]));
      return Response.json({ deleted: true });
    }
    if (method === "GET" && path === "/requests") return requests(deps.store, url.searchParams);
    if (method === "GET" && seg[0] === "objects" && seg[1]) {
      const found = deps.store.get(seg[1]);
      return found
        ? Response.json(found)
        : Response.json({ error: { type: "invalid_request_error", message: "not found" } }, { status: 404 });
    }
    return Response.json(
      {
        error: {
          type: "invalid_request_error",
          message: `Unknown emulator control ${method} ${url.pathname}`,
        },
      },
      { status: 404 },
    );
  } catch (err) {
    if (err instanceof StripeError) return errorResponse(err, reqId);
    throw err;
  }
}

function bad(message: string): Response {
  return Response.json({ error: { type: "invalid_request_error", message } }, { status: 400 });
}

function faults(store: Store, method: string, body: Body): Response {
  if (method === "GET") {
    return Response.json({
      faults: store.sql.exec("SELECT * FROM faults WHERE remaining > 0 ORDER BY id").toArray(),
    });
  }
  if (method !== "POST") return bad("GET or POST");
  const pathPrefix = s(body.path_prefix);
  if (!pathPrefix?.startsWith("/v1/")) return bad("path_prefix must start with /v1/");
  const status = n(body.status) ?? null;
  const delay = n(body.delay_ms) ?? null;
  if (status === null && delay === null) return bad("give status and/or delay_ms");
  if (status !== null && (status < 400 || status > 599)) return bad("status must be 4xx or 5xx");
  const spec: FaultSpec = {
    path_prefix: pathPrefix,
    method: s(body.method) ?? null,
    status,
    count: n(body.count) ?? 1,
    delay_ms: delay,
    retry_after: n(body.retry_after) ?? null,
    body_contains: s(body.body_contains) ?? null,
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
