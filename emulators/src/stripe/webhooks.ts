import { nowSeconds } from "./ids";
import type { Store } from "./store";

const MAX_ATTEMPTS = 8;

/** `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`, exactly as Stripe signs. */
export async function signPayload(secret: string, payload: string, timestamp: number): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${timestamp}.${payload}`));
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `t=${timestamp},v1=${hex}`;
}

type DeliveryRow = {
  seq: number;
  event_id: string;
  type: string;
  payload: string;
  timestamp: number;
  attempts: number;
  delivered_at: number | null;
  last_status: number | null;
};

/** Recorded deliveries after a cursor, each with the signature Stripe would send. */
export async function listDeliveries(
  store: Store,
  secret: string,
  opts: { since: number; type: string | null; limit: number },
) {
  const rows = store.sql
    .exec<DeliveryRow>(
      `SELECT seq, event_id, type, payload, timestamp, attempts, delivered_at, last_status FROM deliveries
       WHERE seq > ? AND (? IS NULL OR type GLOB ?) ORDER BY seq LIMIT ?`,
      opts.since,
      opts.type,
      opts.type,
      opts.limit,
    )
    .toArray();
  const deliveries = await Promise.all(
    rows.map(async (r) => ({
      id: r.seq,
      event_id: r.event_id,
      type: r.type,
      payload: r.payload,
      signature: await signPayload(secret, r.payload, r.timestamp),
      timestamp: r.timestamp,
      attempts: r.attempts,
      delivered: r.delivered_at !== null,
      last_status: r.last_status,
    })),
  );
  const last = rows.at(-1);
  return { deliveries, next: String(last ? last.seq : opts.since) };
}

/**
 * Pushes due deliveries to STRIPE_WEBHOOK_URL (under `npm start`), retrying failures with
 * exponential backoff up to MAX_ATTEMPTS. Returns when the next attempt is due, if any.
 */
export async function deliverDue(store: Store, url: string, secret: string): Promise<number | null> {
  const due = store.sql
    .exec<DeliveryRow>(
      `SELECT seq, event_id, type, payload, timestamp, attempts, delivered_at, last_status FROM deliveries
       WHERE delivered_at IS NULL AND attempts < ? AND next_attempt_at <= ? ORDER BY seq LIMIT 50`,
      MAX_ATTEMPTS,
      Date.now(),
    )
    .toArray();
  for (const d of due) {
    let status = 0;
    let error: string | null = null;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json; charset=utf-8",
          "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
          "stripe-signature": await signPayload(secret, d.payload, nowSeconds()),
        },
        body: d.payload,
      });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const ok = status >= 200 && status < 300;
    const backoff = Math.min(1000 * 2 ** d.attempts, 5 * 60_000);
    store.sql.exec(
      "UPDATE deliveries SET attempts = attempts + 1, last_status = ?, last_error = ?, delivered_at = ?, next_attempt_at = ? WHERE seq = ?",
      status,
      error,
      ok ? Date.now() : null,
      ok ? null : Date.now() + backoff,
      d.seq,
    );
  }
  const next = store.sql
    .exec<{ at: number | null }>(
      "SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE delivered_at IS NULL AND attempts < ?",
      MAX_ATTEMPTS,
    )
    .one();
  return next.at;
}
