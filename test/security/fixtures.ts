import { env } from "cloudflare:workers";
import type { Role } from "../../src/platform/types";
import { tokenFor } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { api, postJson } from "../helpers/http";

/** Shared by the security suite: callers, resource factories and a database fingerprint. */

/** The order callers run in: those expected to change state (admin, owner) come last. */
export const CALLERS = [
  "anonymous",
  "expired",
  "bad_signature",
  "other_user",
  "other_merchant",
  "merchant",
  "service",
  "admin",
  "user",
] as const;
export type CallerName = (typeof CALLERS)[number];

export type Identity = {
  name: CallerName;
  sub: string;
  role: Role | null;
  merchantId: string | null;
  token: string | null;
  headers: Record<string, string>;
};
export type Callers = Record<CallerName, Identity>;

async function identity(
  name: CallerName,
  role: Role | null,
  opts: { merchantId?: string; expired?: boolean; secret?: string } = {},
): Promise<Identity> {
  const sub = crypto.randomUUID();
  const merchantId = opts.merchantId ?? null;
  if (role === null) return { name, sub, role, merchantId, token: null, headers: {} };
  const token = await tokenFor({
    role,
    sub,
    ...(merchantId ? { merchantId } : {}),
    // jose reads a number as epoch seconds: an hour in the past is expired beyond any clock skew.
    ...(opts.expired ? { expiresIn: Math.floor(Date.now() / 1000) - 3600 } : {}),
    ...(opts.secret ? { secret: opts.secret } : {}),
  });
  return { name, sub, role, merchantId, token, headers: { authorization: `Bearer ${token}` } };
}

/** Fresh identities for every caller kind; a bad token carries the most powerful role it could claim. */
export async function makeCallers(): Promise<Callers> {
  const entries = await Promise.all([
    identity("anonymous", null),
    identity("expired", "user", { expired: true }),
    identity("bad_signature", "admin", { secret: "forged-".repeat(8) }),
    identity("user", "user"),
    identity("other_user", "user"),
    identity("merchant", "merchant", { merchantId: crypto.randomUUID() }),
    identity("other_merchant", "merchant", { merchantId: crypto.randomUUID() }),
    identity("admin", "admin"),
    identity("service", "service"),
  ]);
  return Object.fromEntries(entries.map((e) => [e.name, e])) as Callers;
}

/** A payment owned by `owner`; `paid` confirms it with the emulator's succeeding card. */
export async function createPayment(owner: Identity, paid = false): Promise<string> {
  const { payment_id } = await bodyOf(
    await postJson("/api/v1/payments/create-intent", { amount: 2500, currency: "usd" }, owner.headers),
    "POST /payments/create-intent",
    201,
  );
  if (paid) {
    const res = await postJson(
      "/api/v1/payments/confirm",
      { payment_id, payment_method: "pm_card_visa" },
      owner.headers,
    );
    if (res.status !== 200) throw new Error(`confirm failed ${res.status}: ${await res.text()}`);
  }
  return payment_id;
}

export async function createSubscription(owner: Identity): Promise<string> {
  const body = await bodyOf(
    await postJson("/api/v1/subscriptions", { plan: "free" }, owner.headers),
    "POST /subscriptions",
    201,
  );
  return body.subscription_id;
}

export async function createDevice(owner: Identity): Promise<string> {
  const res = await postJson(
    "/api/v1/notifications/register-device",
    { token: `sec-${crypto.randomUUID()}`, platform: "android" },
    owner.headers,
  );
  return (await bodyOf(res, "POST /notifications/register-device", 201)).id;
}

/** An in-app notification for `owner`, sent by `admin` through the real pipeline (no devices, so no push). */
export async function createNotification(owner: Identity, admin: Identity): Promise<string> {
  const body = await bodyOf(
    await postJson(
      "/api/v1/notifications/test",
      { user_id: owner.sub, type: "payment_received", title: "hello" },
      admin.headers,
    ),
    "POST /notifications/test",
    202,
  );
  const id = body.notification_ids[0];
  if (!id) throw new Error("test send created no notification");
  return id;
}

export async function createTicket(owner: Identity): Promise<string> {
  const body = await bodyOf(
    await postJson("/api/v1/support/tickets", { subject: "Security matrix" }, owner.headers),
    "POST /support/tickets",
    201,
  );
  return body.id;
}

/** Makes one authenticated request so `authenticate` has recorded the caller in `users` already. */
export async function warm(...who: Identity[]): Promise<void> {
  for (const w of who) if (w.token) await api("/api/v1/health", { headers: w.headers });
}

export { api, postJson };

// ---- database fingerprint -------------------------------------------------------------

const SKIP_TABLES = /^(sqlite_|_cf_|d1_migrations$)/;

async function tables(): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "select name from sqlite_master where type = 'table' order by name",
  ).all<{ name: string }>();
  return results.map((r) => r.name).filter((n) => !SKIP_TABLES.test(n));
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Row count and a hash of every row's content, per table: equal fingerprints mean nothing changed. */
export type Fingerprint = Record<string, { rows: number; hash: string }>;

export async function fingerprint(): Promise<Fingerprint> {
  const names = await tables();
  // One round trip: D1's batch reads all tables at the same point in time.
  const results = await env.DB.batch(names.map((n) => env.DB.prepare(`select * from "${n}" order by rowid`)));
  const out: Fingerprint = {};
  for (const [i, name] of names.entries()) {
    const rows = results[i]?.results ?? [];
    out[name] = { rows: rows.length, hash: await sha256(JSON.stringify(rows)) };
  }
  return out;
}

/** The tables whose fingerprint differs, for a readable failure message. */
export function changedTables(before: Fingerprint, after: Fingerprint): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => before[n]?.rows !== after[n]?.rows || before[n]?.hash !== after[n]?.hash);
}

/** After an accepted request, waits until the database stops changing, so no late write is blamed on the next case. */
export async function settle(): Promise<void> {
  let prev = JSON.stringify(await fingerprint());
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const next = JSON.stringify(await fingerprint());
    if (next === prev) return;
    prev = next;
  }
}

/** The error envelope every non-2xx answer must carry; returns a description of what is wrong, or null. */
export function envelopeProblem(status: number, text: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 120)}`;
  }
  const err = (body as { error?: Record<string, unknown> })?.error;
  if (!err || typeof err !== "object") return `no error object: ${text.slice(0, 200)}`;
  if (typeof err.code !== "string" || typeof err.message !== "string" || typeof err.request_id !== "string")
    return `incomplete envelope (${status}): ${text.slice(0, 200)}`;
  return null;
}
