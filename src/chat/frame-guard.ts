import { isUnicodeText } from "../platform/text";
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

const CLIENT_ID = /^[\w.:-]+$/;

/** True when `o` has no own keys outside `allowed` (strict objects). */
function onlyKeys(o: object, allowed: readonly string[]): boolean {
  for (const k in o) if (!allowed.includes(k)) return false;
  return true;
}

/**
 * The hot path: a frame that plainly satisfies `clientFrameSchema` (the message without
 * attachments, read and typing) is accepted without zod. Anything else, valid or not, returns
 * null and goes through the schema, which alone words the VALIDATION_FAILED details; so this
 * may only say yes to frames the schema would accept.
 */
function quickFrame(d: Record<string, unknown>): ClientFrame | null {
  switch (d.type) {
    case "message": {
      const { client_id, body } = d;
      if (
        typeof client_id === "string" &&
        client_id.length >= 1 &&
        client_id.length <= 64 &&
        CLIENT_ID.test(client_id) &&
        typeof body === "string" &&
        body.length <= LIMITS.maxBodyChars &&
        isUnicodeText(body) &&
        onlyKeys(d, ["type", "client_id", "body"])
      )
        return { type: "message", client_id, body };
      return null;
    }
    case "read": {
      const { up_to } = d;
      if (
        typeof up_to === "number" &&
        Number.isSafeInteger(up_to) &&
        up_to >= 0 &&
        onlyKeys(d, ["type", "up_to"])
      )
        return { type: "read", up_to };
      return null;
    }
    case "typing":
      return onlyKeys(d, ["type"]) ? { type: "typing" } : null;
    default:
      return null;
  }
}

const utf8 = new TextEncoder();

/**
 * Whether a frame is over the cap, counted in UTF-8 bytes as the cap is stated (a string's length
 * counts UTF-16 units, so 'é' or CJK would pass at 2-3x the cap). A unit is 1 to 3 bytes, so only
 * a frame between a third of the cap and the cap in units is encoded to be measured; chat frames
 * are far below that.
 */
function tooBig(raw: string | ArrayBuffer): boolean {
  const cap = LIMITS.maxFrameBytes;
  if (typeof raw !== "string") return raw.byteLength > cap;
  if (raw.length > cap) return true;
  if (raw.length * 3 <= cap) return false;
  return utf8.encode(raw).byteLength > cap;
}

/** Size, rate, JSON, type, then schema: the cheapest checks first. */
export function inspect(raw: string | ArrayBuffer, g: GuardState, t: number): Verdict {
  if (tooBig(raw)) return { ok: false, close: 1009, reason: "frame too big" };
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
  const quick = quickFrame(data as Record<string, unknown>);
  if (quick) return { ok: true, frame: quick };
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
