import { sql } from "drizzle-orm";
import type { Deps } from "../platform/deps";
import { newTimeOrderedId } from "../platform/ids";
import type { Principal } from "../platform/types";
import { AeWriter } from "./engine";
import { batchAll, rows } from "./reports/sql";
import {
  type ClientEvent,
  clientEventSchema,
  type IngestResult,
  MAX_PROPERTIES_BYTES,
  MAX_PROPERTIES_DEPTH,
  type RejectionCode,
} from "./schemas";
import { type EventRow, insertEvents, toAePoint } from "./store";

/** Client clocks drift; beyond these the timestamp is a bug or a replay, not a skew. */
const MAX_FUTURE_MS = 5 * 60_000;
const MAX_PAST_MS = 7 * 24 * 3_600_000;

/** Types only the server records (from domain events), never accepted from clients. */
const SERVER_ONLY_TYPES = new Set<string>(["payment_completed"]);

type Rejection = IngestResult["errors"][number];

const encoder = new TextEncoder();

/**
 * Validates each event on its own: good events are stored even when others in the same
 * batch are rejected, and each rejection names its index, a code and the failing path.
 * `userId` comes from the verified token only (null for anonymous callers).
 */
export async function ingestEvents(
  deps: Pick<Deps, "db" | "env" | "logger">,
  items: unknown[],
  userId: string | null,
  receivedAt = Date.now(),
): Promise<IngestResult> {
  const rows: EventRow[] = [];
  const errors: Rejection[] = [];
  items.forEach((item, index) => {
    const result = checkEvent(item, receivedAt);
    if ("code" in result) errors.push({ index, ...result });
    else rows.push(toRow(result, userId, receivedAt));
  });

  await insertEvents(deps.db, rows);
  const stats = new AeWriter(deps.env.ANALYTICS).writeAll(rows.map(toAePoint));
  // Any batch over 25 events is folded into rollup points by design (AE allows 25 writes per
  // invocation): routine, so counted and visible at debug level. Events missing from AE
  // altogether (no binding, a failed write) are still a warning. D1 has every event either way.
  if (stats.dropped > 0) {
    deps.logger.warn("analytics engine dropped events", { ...stats, batch: rows.length });
  } else if (stats.rolledUp > 0 && deps.logger.enabled("debug")) {
    deps.logger.debug("analytics engine budget exceeded", { ...stats, batch: rows.length });
  }
  return { accepted: rows.length, rejected: errors.length, errors };
}

function reject(code: RejectionCode, message: string, path: string): Omit<Rejection, "index"> {
  return { code, message, path };
}

function checkEvent(item: unknown, receivedAt: number): ClientEvent | Omit<Rejection, "index"> {
  const parsed = clientEventSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return reject(
      "INVALID_EVENT",
      issue?.message ?? "invalid event",
      issue?.path.map(String).join(".") ?? "",
    );
  }
  const event = parsed.data;
  if (SERVER_ONLY_TYPES.has(event.event_type)) {
    return reject(
      "EVENT_TYPE_NOT_ALLOWED",
      `${event.event_type} is recorded by the server only`,
      "event_type",
    );
  }
  const at = occurredAt(event, receivedAt);
  if (at > receivedAt + MAX_FUTURE_MS || at < receivedAt - MAX_PAST_MS) {
    return reject(
      "TIMESTAMP_OUT_OF_RANGE",
      "timestamp must be within 7 days before and 5 minutes after now",
      "timestamp",
    );
  }
  if (event.properties !== undefined) {
    // Size first: it bounds the input the depth walk recurses over.
    const bytes = encoder.encode(JSON.stringify(event.properties)).byteLength;
    if (bytes > MAX_PROPERTIES_BYTES) {
      return reject(
        "PROPERTIES_TOO_LARGE",
        `properties exceed ${MAX_PROPERTIES_BYTES} bytes (${bytes})`,
        "properties",
      );
    }
    if (jsonDepth(event.properties) > MAX_PROPERTIES_DEPTH) {
      return reject(
        "PROPERTIES_TOO_DEEP",
        `properties nest deeper than ${MAX_PROPERTIES_DEPTH} levels`,
        "properties",
      );
    }
  }
  return event;
}

function occurredAt(event: ClientEvent, receivedAt: number): number {
  if (event.timestamp === undefined) return receivedAt;
  return typeof event.timestamp === "number" ? event.timestamp : Date.parse(event.timestamp);
}

function toRow(event: ClientEvent, userId: string | null, receivedAt: number): EventRow {
  return {
    // Time-ordered: appends to the primary-key index (about 3× cheaper D1 commits at 1M rows).
    id: newTimeOrderedId(receivedAt),
    eventType: event.event_type,
    userId,
    sessionId: event.session_id,
    page: event.page ?? null,
    element: event.element ?? null,
    source: event.source ?? null,
    properties: event.properties ?? null,
    occurredAt: occurredAt(event, receivedAt),
    receivedAt,
  };
}

/** Depth of nested objects/arrays: {} is 1, {a:{}} is 2. Scalars are 0. */
function jsonDepth(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let max = 0;
  for (const child of children) max = Math.max(max, jsonDepth(child));
  return 1 + max;
}

/**
 * Erases one user's events and the rollup that names them (analytics_user_days); the
 * other rollups are anonymous counts. AE points age out with AE's own retention.
 */
export async function eraseUserEvents(deps: Pick<Deps, "db" | "logger">, admin: Principal, userId: string) {
  const [deleted] = await batchAll(deps.db, [
    rows<{ n: number }>(sql`DELETE FROM analytics_events WHERE user_id = ${userId} RETURNING 1 AS n`),
    rows(sql`DELETE FROM analytics_user_days WHERE user_id = ${userId}`),
  ]);
  deps.logger.info("analytics events erased", { user_id: userId, deleted: deleted.length, by: admin.userId });
  return { user_id: userId, deleted: deleted.length };
}
