import { and, eq, lt, or } from "drizzle-orm";
import { createMiddleware } from "hono/factory";
import { idempotencyKeys } from "../db/schema";
import type { AppEnv } from "./app-env";
import { ApiError } from "./errors";
import { sha256Hex } from "./ids";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
/** Stripe's own bound; longer keys are a client bug, not something to store. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const KEY_SHAPE = /^[\x21-\x7e]+$/;
/**
 * How long a finished response is replayed (the middleware's default `ttlMs`). The retention
 * job (retention.ts) drops stored bodies after exactly this, so it imports it from here.
 */
export const IDEMPOTENCY_REPLAY_WINDOW_MS = 24 * 60 * 60_000;

type Options = {
  /** How long a finished response is replayed; after this the same request runs again. */
  ttlMs?: number;
  /** An in-progress claim older than this is considered abandoned (crashed isolate). */
  staleMs?: number;
};

/**
 * Reads and validates the optional `Idempotency-Key` header (printable ASCII, bounded);
 * a bad key is a 400 so it can never be stored.
 */
export function idempotencyKeyOf(header: string | undefined): string | null {
  if (header === undefined) return null;
  if (header.length === 0 || header.length > MAX_IDEMPOTENCY_KEY_LENGTH || !KEY_SHAPE.test(header)) {
    throw new ApiError("VALIDATION_FAILED", "Idempotency-Key header is invalid", {
      details: [
        {
          path: IDEMPOTENCY_HEADER,
          message: `must be 1–${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
        },
      ],
    });
  }
  return header;
}

/**
 * Client `Idempotency-Key` support backed by `idempotency_keys` (Stripe's semantics):
 * - the first request claims (user, key) with an INSERT, runs, and stores its response;
 * - a replay with the same body gets the stored status and body back;
 * - the same key with another body, method or concrete path is 409 IDEMPOTENCY_CONFLICT, also
 *   after the replay window (the key stays bound to its request while the row lives);
 * - a duplicate that arrives while the first is still running is 409 CONFLICT.
 * Responses ≥ 500, 429 and 400 are not stored: the claim is released so a retry can complete
 * (or, after a 400, so the corrected request can reuse the key); nor is a service's 409
 * IDEMPOTENCY_CONFLICT (the key belongs to its original request).
 * Mount after authentication; anonymous requests pass through untouched.
 */
export function idempotency(opts: Options = {}) {
  const ttlMs = opts.ttlMs ?? IDEMPOTENCY_REPLAY_WINDOW_MS;
  const staleMs = opts.staleMs ?? 60_000;

  return createMiddleware<AppEnv>(async function idempotency(c, next) {
    const key = idempotencyKeyOf(c.req.header(IDEMPOTENCY_HEADER));
    const userId = c.var.principal?.userId;
    if (key === null || userId === undefined) return next();

    const db = c.var.deps.db;
    // The concrete path, not the route pattern: `/payments/A/refund` and `/payments/B/refund`
    // are different requests, and a key reused across them must never replay A's answer for B.
    const route = `${c.req.method} ${c.req.path}`;
    const body = await c.req.text();
    const requestHash = await sha256Hex(`${route}\n${body}`);
    const t = Date.now();
    const where = and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key));

    let claimed =
      (
        await db
          .insert(idempotencyKeys)
          .values({ userId, key, route, requestHash, state: "in_progress", createdAt: t })
          .onConflictDoNothing()
          .returning({ key: idempotencyKeys.key })
      ).length === 1;

    if (!claimed) {
      const existing = await db.select().from(idempotencyKeys).where(where).get();
      if (!existing) throw new ApiError("CONFLICT", "Request with this Idempotency-Key is in progress");
      const expired = existing.state === "done" && existing.createdAt < t - ttlMs;
      const abandoned = existing.state === "in_progress" && existing.createdAt < t - staleMs;
      // The key stays bound to its request for as long as the row lives: after the replay
      // window the same request may run again, another request under the key never does
      // (it would reach the old row's derived ids with new parameters).
      if (existing.requestHash !== requestHash) {
        throw new ApiError(
          "IDEMPOTENCY_CONFLICT",
          "Idempotency-Key was already used with a different request",
        );
      }
      if (expired || abandoned) {
        // Take over with a conditional update so two takers cannot both win.
        const taken = await db
          .update(idempotencyKeys)
          .set({
            route,
            requestHash,
            state: "in_progress",
            statusCode: null,
            responseBody: null,
            createdAt: t,
          })
          .where(
            and(
              where,
              eq(idempotencyKeys.createdAt, existing.createdAt),
              or(eq(idempotencyKeys.state, "done"), lt(idempotencyKeys.createdAt, t - staleMs)),
            ),
          )
          .returning({ key: idempotencyKeys.key });
        claimed = taken.length === 1;
        if (!claimed) throw new ApiError("CONFLICT", "Request with this Idempotency-Key is in progress");
      } else {
        if (existing.state === "in_progress" || existing.statusCode === null) {
          throw new ApiError("CONFLICT", "Request with this Idempotency-Key is in progress");
        }
        return new Response(existing.responseBody ?? "", {
          status: existing.statusCode,
          headers: { "content-type": "application/json", "Idempotent-Replayed": "true" },
        });
      }
    }

    try {
      await next();
    } catch (err) {
      await db.delete(idempotencyKeys).where(where);
      throw err;
    }
    const status = c.res.status;
    // A 400 means the request failed validation and never ran (Stripe saves no result for
    // those either); storing it would leave a row behind for a request that was rejected.
    const responseBody = await c.res.clone().text();
    // A key conflict found by the service (the key's earlier records outlived this claim, e.g.
    // a payment row) is not this key's answer either: storing it would bind the key to the
    // conflicting request instead of the original one.
    // A 409 with Retry-After (Stripe's idempotency_key_in_use, a claim still settling) is "try again", not a result.
    if (
      status >= 500 ||
      status === 429 ||
      status === 400 ||
      (status === 409 && c.res.headers.has("Retry-After")) ||
      isKeyConflict(status, responseBody)
    ) {
      await db.delete(idempotencyKeys).where(where);
      return;
    }
    await db
      .update(idempotencyKeys)
      .set({ state: "done", statusCode: status, responseBody })
      .where(and(where, eq(idempotencyKeys.requestHash, requestHash)));
  });
}

function isKeyConflict(status: number, body: string): boolean {
  if (status !== 409) return false;
  try {
    return (JSON.parse(body) as { error?: { code?: unknown } }).error?.code === "IDEMPOTENCY_CONFLICT";
  } catch {
    return false;
  }
}
