import {
  CLIENT_FRAME_TYPES,
  type ClientFrame,
  clientFrameSchema,
  type FrameErrorCode,
  LIMITS,
} from "./protocol";

/**
 * Per-connection limiter state. It lives in the socket's attachment, not in memory, so a
 * connection cannot reset its bucket by waiting for the object to hibernate.
 */
export type GuardState = { tokens: number; refilledAt: number; strikes: number; strikeAt: number };

export const freshGuard = (t: number): GuardState => ({
  tokens: LIMITS.bucketCapacity,
  refilledAt: t,
  strikes: 0,
  strikeAt: t,
});

export type Verdict =
  | { ok: true; frame: ClientFrame }
  | { ok: false; close: 1009; reason: string }
  | { ok: false; code: FrameErrorCode; message: string; client_id?: string; details?: unknown };

/** Takes one token; false when the bucket is empty. */
export function takeToken(g: GuardState, t: number): boolean {
  const elapsed = Math.max(0, t - g.refilledAt) / 1000;
  g.tokens = Math.min(LIMITS.bucketCapacity, g.tokens + elapsed * LIMITS.bucketRefillPerSec);
  g.refilledAt = t;
  if (g.tokens < 1) return false;
  g.tokens -= 1;
  return true;
}

/** Counts a rejected frame; true once the connection has earned a 1008 close. */
export function strike(g: GuardState, t: number): boolean {
  if (t - g.strikeAt > LIMITS.strikeWindowMs) {
    g.strikes = 0;
    g.strikeAt = t;
  }
  g.strikes += 1;
  return g.strikes >= LIMITS.maxStrikes;
}

/** Size, rate, JSON, type, then schema: the cheapest checks first. */
export function inspect(raw: string | ArrayBuffer, g: GuardState, t: number): Verdict {
  const size = typeof raw === "string" ? raw.length : raw.byteLength;
  if (size > LIMITS.maxFrameBytes) return { ok: false, close: 1009, reason: "frame too big" };
  if (!takeToken(g, t)) return { ok: false, code: "RATE_LIMITED", message: "Slow down: too many frames" };
  if (typeof raw !== "string")
    return { ok: false, code: "UNSUPPORTED_FRAME", message: "Send JSON text frames" };
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { ok: false, code: "INVALID_JSON", message: "Frame is not valid JSON" };
  }
  const type = typeof data === "object" && data !== null ? (data as { type?: unknown }).type : undefined;
  if (typeof type !== "string" || !(CLIENT_FRAME_TYPES as readonly string[]).includes(type)) {
    return {
      ok: false,
      code: "UNKNOWN_TYPE",
      message: `type must be one of ${CLIENT_FRAME_TYPES.join(", ")}`,
    };
  }
  const parsed = clientFrameSchema.safeParse(data);
  if (!parsed.success) {
    const clientId = (data as { client_id?: unknown }).client_id;
    return {
      ok: false,
      code: "VALIDATION_FAILED",
      message: "Frame failed validation",
      ...(typeof clientId === "string" ? { client_id: clientId.slice(0, 64) } : {}),
      details: parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
    };
  }
  return { ok: true, frame: parsed.data };
}
