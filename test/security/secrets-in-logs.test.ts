import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { tokenFor } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { eventually } from "../helpers/eventually";
import { upgrade } from "../helpers/http";
import { injectFault, signPayload } from "../helpers/stripe";
import { api, createNotification, makeCallers, postJson } from "./fixtures";

/**
 * Secrets never reach the logs. The worker runs in this isolate, so spying on console
 * captures every log line it writes while requests carrying credentials go through:
 * tokens, Stripe calls (secret key), webhook signatures, device tokens, FCM (OAuth with the
 * service account key), an upstream failure, and a socket opened with a bearer subprotocol.
 */

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Distinctive slices of long secrets: a PEM is logged line by line, if at all. */
function serviceAccountKeyParts(): string[] {
  const sa = JSON.parse(env.GOOGLE_SERVICE_ACCOUNT_JSON) as { private_key: string };
  return sa.private_key
    .split(/\\n|\n/)
    .filter((l) => l.length >= 40 && !l.includes("PRIVATE KEY"))
    .slice(0, 3);
}

function waitForDeliveries(notificationId: string, headers: Record<string, string>) {
  return eventually(
    async () => {
      const res = await api(`/api/v1/notifications/${notificationId}/deliveries`, { headers });
      const { items } = await bodyOf(res, "GET /notifications/:id/deliveries", 200);
      return items.length > 0 && items.every((d) => d.status !== "queued") ? items : undefined;
    },
    "deliveries to settle",
    { tries: 100, intervalMs: 50 },
  );
}

describe("secrets never logged", () => {
  it("keeps every credential out of the log lines of a busy session", async () => {
    const c = await makeCallers();
    const secrets: string[] = [
      env.JWT_SECRET,
      env.STRIPE_SECRET_KEY,
      env.STRIPE_WEBHOOK_SECRET,
      ...serviceAccountKeyParts(),
    ];
    const keep = (s: string) => {
      secrets.push(s);
      return s;
    };
    for (const who of Object.values(c)) if (who.token) keep(who.token);

    // Payments: Stripe calls with the secret key, success and an injected upstream failure.
    const paid = await postJson(
      "/api/v1/payments/create-intent",
      { amount: 900, currency: "usd" },
      c.user.headers,
    );
    expect(paid.status).toBe(201);
    keep((await bodyOf(paid, "POST /payments/create-intent", 201)).client_secret);
    const marker = `logs-${crypto.randomUUID()}`;
    await injectFault({ path_prefix: "/v1/payment_intents", status: 500, count: 3, body_contains: marker });
    const failed = await postJson(
      "/api/v1/payments/create-intent",
      { amount: 901, currency: "usd", description: marker },
      c.user.headers,
    );
    expect(failed.status).toBeGreaterThanOrEqual(500);

    // Bad tokens: one forged with another secret, one expired.
    const forged = keep(await tokenFor({ role: "admin", secret: "z".repeat(40) }));
    expect((await api("/api/v1/health", { headers: { authorization: `Bearer ${forged}` } })).status).toBe(
      401,
    );

    // Webhooks: a valid and a tampered signature.
    const body = JSON.stringify({
      id: `evt_logs_${crypto.randomUUID().replaceAll("-", "")}`,
      object: "event",
      type: "customer.created",
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: "cus_logs", object: "customer" } },
    });
    const signature = keep(await signPayload(body));
    for (const sig of [signature, signature.replace(/v1=\w{8}/, "v1=deadbeef")]) {
      await api("/api/v1/payments/webhook", {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": sig },
        body,
      });
    }

    // Push: device tokens (one FCM rejects), OAuth with the service-account key, FCM sends.
    for (const token of [`sec-logs-${crypto.randomUUID()}`, `unregistered-${crypto.randomUUID()}`]) {
      keep(token);
      const res = await postJson(
        "/api/v1/notifications/register-device",
        { token, platform: "android" },
        c.user.headers,
      );
      expect(res.status).toBe(201);
    }
    const notificationId = await createNotification(c.user, c.admin);
    await waitForDeliveries(notificationId, c.admin.headers);

    // Chat: a connect ticket and a socket authenticated by subprotocol.
    const path = `/ws/merchant/${c.merchant.merchantId}`;
    const issued = await postJson("/api/v1/realtime/tickets", { path }, c.merchant.headers);
    keep((await bodyOf(issued, "POST /realtime/tickets", 201)).ticket);
    const sock = await upgrade(path, { "sec-websocket-protocol": `bearer, ${c.merchant.token}` });
    expect(sock.status).toBe(101);
    sock.webSocket?.accept();
    sock.webSocket?.close(1000, "done");

    expect(lines.length).toBeGreaterThan(10);
    const leaks = secrets.filter((s) => s.length >= 8 && lines.some((l) => l.includes(s)));
    expect(leaks.map((s) => `${s.slice(0, 12)}…`)).toEqual([]);
  });
});
