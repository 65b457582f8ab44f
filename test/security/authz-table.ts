import { api } from "../helpers/http";
import { signPayload } from "../helpers/stripe";
import {
  type CallerName,
  type Callers,
  createDevice,
  createNotification,
  createPayment,
  createSubscription,
  createTicket,
} from "./fixtures";

/**
 * The authorization table (issue 8 item 1): every route × every caller → expected status.
 * Keys are "METHOD /path" with OpenAPI-style `{param}`s, as discovered from `createApp().routes`.
 * A setup creates the resource owned by "user" (or "merchant"/"admin" for their channels)
 * and returns the path parameters; the body is the same valid one for every caller, so
 * only authorization differs.
 */
export type Params = Record<string, string>;
export type Row = {
  setup?: (c: Callers) => Promise<Params>;
  body?: (p: Params, c: Callers) => unknown | Promise<unknown>;
  /** Raw body and headers (the Stripe webhook), used instead of a JSON body. */
  raw?: (p: Params) => Promise<{ body: string; headers: Record<string, string> }>;
  query?: string;
  expect: Record<CallerName, number>;
};

const BAD_TOKENS = { anonymous: 401, expired: 401, bad_signature: 401 } as const;
const all = (status: number, anonymous = 401): Record<CallerName, number> => ({
  ...BAD_TOKENS,
  anonymous,
  user: status,
  other_user: status,
  merchant: status,
  other_merchant: status,
  admin: status,
  service: status,
});
/** Only these callers get `status`; other authenticated callers get `others`. */
const only = (callers: CallerName[], status: number, others: number) => {
  const e = all(others);
  for (const c of callers) e[c] = status;
  return e;
};
const adminOnly = (status: number) => only(["admin"], status, 403);
/** Someone else's resource is a 404, exactly like a missing one: existence must not leak. */
const ownerOrAdmin = (status: number) => only(["user", "admin"], status, 404);

const payment = (paid: boolean) => async (c: Callers) => ({ payment_id: await createPayment(c.user, paid) });
const ticket = async (c: Callers) => ({ id: await createTicket(c.user) });

async function signedEvent(): Promise<{ body: string; headers: Record<string, string> }> {
  const body = JSON.stringify({
    id: `evt_authz_${crypto.randomUUID().replaceAll("-", "")}`,
    object: "event",
    type: "customer.created",
    api_version: "2025-01-27.acacia",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: { object: { id: "cus_authz", object: "customer" } },
  });
  return {
    body,
    headers: { "stripe-signature": await signPayload(body), "content-type": "application/json" },
  };
}

export const TABLE: Record<string, Row> = {
  // ---- platform: public, but a bad token is still a 401 (never silently anonymous)
  "GET /api/v1/health": { expect: all(200, 200) },
  "GET /api/v1/openapi.json": { expect: all(200, 200) },
  "GET /api/v1/docs": { expect: all(200, 200) },

  // ---- payments
  "POST /api/v1/payments/webhook": {
    // Authenticated by Stripe's signature, not by a bearer token; a replay is a 200 duplicate.
    raw: signedEvent,
    expect: all(200, 200),
  },
  "POST /api/v1/payments/create-intent": {
    body: () => ({ amount: 1500, currency: "usd" }),
    // Only payers: admins are staff and service tokens are machines.
    expect: only(["user", "other_user", "merchant", "other_merchant"], 201, 403),
  },
  "POST /api/v1/payments/confirm": {
    setup: payment(false),
    body: (p) => ({ payment_id: p.payment_id, payment_method: "pm_card_visa" }),
    // Only the owner confirms; even an admin gets the same 404 as for a missing payment.
    expect: only(["user"], 200, 404),
  },
  "GET /api/v1/payments/history": { expect: all(200) },
  "GET /api/v1/payments/disputes": { expect: adminOnly(200) },
  "GET /api/v1/payments/{payment_id}": { setup: payment(false), expect: ownerOrAdmin(200) },
  "POST /api/v1/payments/{payment_id}/refund": {
    setup: payment(true),
    body: () => ({ amount: 100, reason: "requested_by_customer" }),
    expect: adminOnly(201),
  },
  "GET /api/v1/subscriptions/plans": { expect: all(200) },
  "POST /api/v1/subscriptions": {
    body: () => ({ plan: "free" }),
    expect: only(["user", "other_user", "merchant", "other_merchant"], 201, 403),
  },
  "GET /api/v1/subscriptions": { expect: all(200) },
  "POST /api/v1/subscriptions/{id}/cancel": {
    setup: async (c) => ({ id: await createSubscription(c.user) }),
    body: () => ({ at_period_end: true }),
    expect: ownerOrAdmin(200),
  },
  // The fixture is a free subscription, which changes plan by subscribing (422) — for its owner
  // and admins only; everyone else gets the same 404 as a missing id.
  "POST /api/v1/subscriptions/{id}/change": {
    setup: async (c) => ({ id: await createSubscription(c.user) }),
    body: () => ({ plan: "pro_monthly", proration: "now" }),
    expect: ownerOrAdmin(422),
  },
  // A free subscription has no invoice to pay or card to keep: 422 for its owner and admins.
  "POST /api/v1/subscriptions/{id}/payment-method": {
    setup: async (c) => ({ id: await createSubscription(c.user) }),
    body: () => ({ payment_method: "pm_card_visa" }),
    expect: ownerOrAdmin(422),
  },

  // ---- notifications
  "POST /api/v1/notifications/register-device": {
    // One token for every caller: the first registers it (201), later callers take it over (200).
    setup: async () => ({ token: `authz-${crypto.randomUUID()}` }),
    body: (p) => ({ token: p.token, platform: "android" }),
    expect: { ...all(200), other_user: 201 },
  },
  "GET /api/v1/notifications/devices": { expect: all(200) },
  "DELETE /api/v1/notifications/devices/{id}": {
    setup: async (c) => ({ id: await createDevice(c.user) }),
    expect: only(["user"], 204, 404),
  },
  "GET /api/v1/notifications/preferences": { expect: all(200) },
  "POST /api/v1/notifications/preferences": {
    body: () => ({ preferences: [{ type: "payment_received", push: false }] }),
    expect: all(200),
  },
  "GET /api/v1/notifications/history": { expect: all(200) },
  "PUT /api/v1/notifications/read-all": { expect: all(200) },
  "PUT /api/v1/notifications/{id}/read": {
    setup: async (c) => ({ id: await createNotification(c.user, c.admin) }),
    expect: only(["user"], 200, 404),
  },
  "GET /api/v1/notifications/{id}/deliveries": {
    setup: async (c) => ({ id: await createNotification(c.user, c.admin) }),
    expect: ownerOrAdmin(200),
  },
  "POST /api/v1/notifications/test": {
    body: (_p, c) => ({ user_id: c.user.sub, type: "payment_received", title: "authz" }),
    expect: adminOnly(202),
  },
  "POST /api/v1/notifications/admin/redrive": {
    // A filter that matches nothing: only authorization differs between callers.
    body: () => ({ notification_id: `authz-${crypto.randomUUID()}` }),
    expect: adminOnly(202),
  },
  "GET /api/v1/events/admin/deliveries": { expect: adminOnly(200) },
  "POST /api/v1/events/admin/redrive": {
    // A filter that matches nothing: only authorization differs between callers.
    body: () => ({ event_id: `authz-${crypto.randomUUID()}` }),
    expect: adminOnly(202),
  },
  "POST /api/v1/events": {
    // Not security.alert: that needs a service listed in SECURITY_ALERT_SERVICES (own test).
    setup: async () => ({ id: `evt_authz_${crypto.randomUUID()}` }),
    body: (p, c) => ({
      id: p.id,
      type: "feature_flag.enabled",
      data: { flag: "authz_matrix", user_ids: [c.user.sub] },
    }),
    expect: only(["service"], 202, 403),
  },

  // ---- chat
  "POST /api/v1/support/tickets": {
    body: () => ({ subject: "Where is my refund?" }),
    expect: { ...all(201), service: 403 },
  },
  "GET /api/v1/support/tickets": { expect: all(200) },
  "GET /api/v1/support/tickets/{id}": { setup: ticket, expect: ownerOrAdmin(200) },
  "PATCH /api/v1/support/tickets/{id}": {
    setup: ticket,
    body: () => ({ status: "pending" }),
    expect: adminOnly(200),
  },
  "GET /api/v1/support/tickets/{id}/messages": { setup: ticket, expect: ownerOrAdmin(200) },
  // Erasing a ticket is an admin's; every other caller is refused before the ticket is looked up.
  "DELETE /api/v1/support/tickets/{id}": { setup: ticket, expect: adminOnly(204) },
  "POST /api/v1/support/tickets/{id}/attachments": {
    setup: ticket,
    query: "?filename=note.txt",
    raw: async () => ({ body: "the receipt number is 42", headers: { "content-type": "text/plain" } }),
    expect: ownerOrAdmin(201),
  },
  "GET /api/v1/support/tickets/{id}/attachments/{attachment_id}": {
    setup: async (c) => {
      const id = await createTicket(c.user);
      const res = await api(`/api/v1/support/tickets/${id}/attachments?filename=note.txt`, {
        method: "POST",
        headers: { ...c.user.headers, "content-type": "text/plain" },
        body: "the receipt number is 42",
      });
      if (res.status !== 201) throw new Error(`attachment upload answered ${res.status}`);
      const { id: attachment_id } = (await res.json()) as { id: string };
      return { id, attachment_id };
    },
    expect: ownerOrAdmin(200),
  },
  "POST /api/v1/realtime/tickets": {
    setup: ticket,
    body: (p) => ({ path: `/ws/support/${p.id}` }),
    expect: ownerOrAdmin(201),
  },

  // ---- analytics
  "POST /api/v1/analytics/events": {
    // Anonymous visitors are tracked by session id; a bad token is still refused.
    body: () => ({ events: [{ event_type: "page_view", session_id: "s-authz", page: "/pricing" }] }),
    expect: all(202, 202),
  },
  "GET /api/v1/analytics/user-behavior": { expect: adminOnly(200) },
  "GET /api/v1/analytics/conversion-funnel": {
    query: "?steps=page_view,button_click",
    expect: adminOnly(200),
  },
  "GET /api/v1/analytics/revenue": { expect: adminOnly(200) },
  "GET /api/v1/analytics/revenue/by-source": { expect: adminOnly(200) },
  "GET /api/v1/analytics/retention": { expect: adminOnly(200) },
  "DELETE /api/v1/analytics/users/{id}": {
    setup: async (c) => ({ id: c.user.sub }),
    expect: adminOnly(200),
  },
  "GET /api/v1/analytics/export": {
    query: "?from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z",
    expect: adminOnly(200),
  },

  // ---- WebSocket upgrades (101 = socket opened)
  "GET /ws/support/{id}": { setup: ticket, expect: ownerOrAdmin(101) },
  "GET /ws/merchant/{id}": {
    setup: async (c) => ({ id: c.merchant.merchantId ?? "" }),
    expect: only(["merchant"], 101, 403),
  },
  "GET /ws/admin/{id}": {
    setup: async (c) => ({ id: c.admin.sub }),
    expect: only(["admin"], 101, 403),
  },
};
