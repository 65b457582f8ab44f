import { sql } from "drizzle-orm";
import { clientNetwork } from "../platform/client-ip";
import type { Deps } from "../platform/deps";
import { ApiError, OVERLOADED_RETRY_AFTER_S } from "../platform/errors";
import { newTimeOrderedId } from "../platform/ids";
import { enforceLimit } from "../platform/limits";
import type { Principal } from "../platform/types";
import { eraseTouches } from "./attribution";
import { classifySessions } from "./bots";
import { BudgetExceeded, type BudgetTake, BudgetUnavailable, budgetKey, takeBudgets } from "./budget";
import { AeWriter } from "./engine";
import { jsonBytes, MAX_SEND_BATCH_BYTES, packMessages } from "./ingest-queue";
import { batchAll, rows } from "./reports/sql";
import {
  type ClientEvent,
  clientEventSchema,
  type IngestResult,
  MAX_PROPERTIES_BYTES,
  MAX_PROPERTIES_DEPTH,
  MAX_SESSIONS_PER_BATCH,
  type RejectionCode,
} from "./schemas";
import { ACTIVITY_BUCKET_MS, DAY_MS, type EventRow, type JsonRow, toAePoint, toJsonRow } from "./store";

/** Client clocks drift; beyond these the timestamp is a bug or a replay, not a skew. */
const MAX_FUTURE_MS = 5 * 60_000;
const MAX_PAST_MS = 7 * 24 * 3_600_000;

/** Types only the server records (from domain events), never accepted from clients. */
const SERVER_ONLY_TYPES = new Set<string>(["payment_completed"]);

type Rejection = IngestResult["errors"][number];

const encoder = new TextEncoder();
/** Seconds a client should wait after the queue refused a batch (a transient outage). */
const QUEUE_RETRY_AFTER_S = 5;

/**
 * Validates each event on its own: good events are enqueued even when others in the same
 * batch are rejected, and each rejection names its index, a code and the failing path.
 * `userId` comes from the verified token only (null for anonymous callers); `clientIp` from
 * CF-Connecting-IP; `userAgent` classifies the request's sessions as bots or not (bots.ts). The answer comes only after the ingest queue accepted the events
 * (docs/analytics.md, "Ingest pipeline"); the consumer writes them to ANALYTICS_DB.
 */
export async function ingestEvents(
  deps: Pick<Deps, "env" | "logger" | "config">,
  items: unknown[],
  userId: string | null,
  clientIp: string,
  receivedAt = Date.now(),
  userAgent: string | null = null,
): Promise<IngestResult> {
  const rows: EventRow[] = [];
  const accepted: ClientEvent[] = [];
  const errors: Rejection[] = [];
  const sessions = new Set<string>();
  for (const [index, item] of items.entries()) {
    const result = checkEvent(item, receivedAt);
    if ("code" in result) {
      errors.push({ index, ...result });
      continue;
    }
    // Each session costs a rate-limit take and a budget row: a batch names only a few.
    if (!sessions.has(result.session_id) && sessions.size >= MAX_SESSIONS_PER_BATCH) {
      const message = `a batch may name at most ${MAX_SESSIONS_PER_BATCH} sessions`;
      errors.push({ index, ...reject("TOO_MANY_SESSIONS", message, "session_id") });
      continue;
    }
    sessions.add(result.session_id);
    accepted.push(result);
    rows.push(toRow(result, userId, receivedAt));
  }
  markBots(rows, accepted, userAgent, deps.logger);
  if (rows.length > 0) await enqueueWithinLimits(deps, rows, sessions, clientIp, receivedAt);
  // After the queue took them: AE points are written once per accepted request, never per
  // redelivery. ≤ 100 events always fit the 250-point budget as single points.
  const stats = new AeWriter(deps.env.ANALYTICS).writeAll(rows.map(toAePoint));
  if (stats.dropped > 0) {
    deps.logger.warn("analytics engine dropped events", { ...stats, batch: rows.length });
  }
  return { accepted: rows.length, rejected: errors.length, errors };
}

/**
 * Abuse limits (docs/analytics.md, "Abuse limits"): the client network was limited by the
 * route's middleware; here each session named is limited by the binding, then the request's
 * bytes are taken from its sessions', its network's and the global daily budget (all or none),
 * then sent.
 */
async function enqueueWithinLimits(
  deps: Pick<Deps, "env" | "config" | "logger">,
  rows: EventRow[],
  sessions: Set<string>,
  clientIp: string,
  receivedAt: number,
): Promise<void> {
  const limiter = deps.env.ANALYTICS_SESSION_RATE_LIMITER;
  // All at once: each take is a round trip to the limiter, and one after another they added up
  // to five per request. Every session named is charged, even when one refuses. The answer is
  // the first failure in batch order, as with the loop, not whichever settled first: a refusal
  // (429) and a binding error (503) in one request must not trade places by the binding's timing.
  const limits = await Promise.allSettled(
    [...sessions].map((session) => enforceLimit(limiter, `ingest-session:${session}`)),
  );
  const failed = limits.find((t) => t.status === "rejected");
  if (failed) throw failed.reason;
  const jsonRows = rows.map(toJsonRow);
  const sizes = jsonRows.map(jsonBytes);
  const messages = packMessages(jsonRows, sizes);
  if (!messages) {
    throw new ApiError("PAYLOAD_TOO_LARGE", `The accepted events exceed one queue batch; split the batch`, {
      details: { limit: "queue_send_batch_bytes", max_bytes: MAX_SEND_BATCH_BYTES },
    });
  }
  const takes = budgetTakes(deps.config, jsonRows, sizes, clientIp);
  try {
    await takeBudgets(deps.env, takes, receivedAt);
  } catch (err) {
    if (err instanceof BudgetUnavailable) {
      deps.logger.warn("analytics budget unavailable", { err: err.cause, events: rows.length });
      // An overloaded object must not be retried at once (Cloudflare's DO error handling).
      const wait = err.overloaded ? OVERLOADED_RETRY_AFTER_S : QUEUE_RETRY_AFTER_S;
      throw new ApiError("UPSTREAM_UNAVAILABLE", "Analytics ingest is unavailable; retry later", {
        headers: { "Retry-After": String(wait) },
      });
    }
    if (!(err instanceof BudgetExceeded)) throw err;
    // The budgets are per UTC day: the batch can be sent again after the midnight that ends the
    // refusing day (the object's; this clock may already be past it).
    const retryAfter = Math.max(1, Math.ceil(((err.day + 1) * DAY_MS - receivedAt) / 1000));
    const scope = err.refused.key.split(":")[0];
    const limit =
      scope === "s" ? "session_daily_bytes" : scope === "ip" ? "ip_daily_bytes" : "global_daily_bytes";
    throw new ApiError("RATE_LIMITED", "The daily analytics byte budget is used up", {
      headers: { "Retry-After": String(retryAfter) },
      details: { limit, cap_bytes: err.refused.cap },
    });
  }
  try {
    await deps.env.ANALYTICS_QUEUE.sendBatch(
      messages.map((body) => ({ body, contentType: "json" as const })),
    );
  } catch (err) {
    // Not given back: a sendBatch that failed may still have enqueued (its answer lost), and
    // the budgets are over-counted, never under. The client's retry is counted again.
    deps.logger.warn("analytics queue refused a batch", { err, events: rows.length });
    throw new ApiError("UPSTREAM_UNAVAILABLE", "Analytics ingest is unavailable; retry later", {
      headers: { "Retry-After": String(QUEUE_RETRY_AFTER_S) },
    });
  }
}

/** A row's size is its queued JSON form: what the request costs the queue and the database. */
function budgetTakes(
  config: Deps["config"],
  rows: JsonRow[],
  sizes: number[],
  clientIp: string,
): BudgetTake[] {
  const perSession = new Map<string, number>();
  let total = 0;
  for (const [i, r] of rows.entries()) {
    const bytes = sizes[i] ?? jsonBytes(r);
    perSession.set(r.session, (perSession.get(r.session) ?? 0) + bytes);
    total += bytes;
  }
  return [
    ...[...perSession].map(([session, bytes]) => ({
      key: budgetKey("s", session),
      bytes,
      cap: config.ANALYTICS_SESSION_DAILY_BYTES,
    })),
    // Per network (an IPv6 /64, client-ip.ts), like the IP rate limit in front of it.
    { key: budgetKey("ip", clientNetwork(clientIp)), bytes: total, cap: config.ANALYTICS_IP_DAILY_BYTES },
    { key: budgetKey("global"), bytes: total, cap: config.ANALYTICS_GLOBAL_DAILY_BYTES },
  ];
}

/** Sets `bot` on the rows of every session the request's signals classify (bots.ts). */
function markBots(rows: EventRow[], events: ClientEvent[], userAgent: string | null, logger: Deps["logger"]) {
  const signals = events.map((e, i) => ({
    session: e.session_id,
    clientAt: e.timestamp === undefined ? undefined : (rows[i]?.occurredAt ?? undefined),
  }));
  const flagged = classifySessions(userAgent, signals);
  if (flagged.size === 0) return;
  for (const r of rows) if (flagged.has(r.sessionId)) r.bot = 1;
  logger.debug("analytics sessions classified as bots", {
    sessions: flagged.size,
    reason: [...flagged.values()][0],
  });
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

// Integer literals, not parameters: D1 binds JS numbers as REAL, and REAL division would not floor.
const PER_DAY = sql.raw(String(DAY_MS));
const PER_BUCKET = sql.raw(String(ACTIVITY_BUCKET_MS));

/**
 * Erases one user (docs/analytics.md, "Erasure"): their events, and every anonymous event of a
 * session they appeared in (the pre-login part of the same visit identifies them just as well);
 * the session rollup rows of those sessions (rebuilt from what other signed-in users left in
 * them, if anything); the daily and activity counts of every erased event, decremented, with
 * rows that reach zero deleted, so a page string only this user produced disappears; and their
 * user-day rows; their UTM touches (attribution.ts); and tombstones for the user and those sessions, so a write still on its way
 * cannot bring the events back. One D1 batch, so a report never sees half an erasure. Statements run in order:
 * the rollups are corrected while the doomed events still exist, then the events go.
 */
export async function eraseUserEvents(
  deps: Pick<Deps, "analyticsDb" | "logger">,
  admin: Principal,
  userId: string,
  now = Date.now(),
) {
  // Also the sessions whose rows are only in the R2 archive now (archive.ts indexes them).
  const sessions = sql`SELECT session_id FROM analytics_events WHERE user_id = ${userId}
    UNION SELECT session_id FROM analytics_archived_sessions WHERE user_id = ${userId}`;
  const doomed = sql`SELECT occurred_at, event_type, page, element, bot FROM analytics_events WHERE user_id = ${userId}
    UNION ALL SELECT occurred_at, event_type, page, element, bot FROM analytics_events
    WHERE user_id IS NULL AND session_id IN (${sessions})`;
  const [, , , , sessionRows, , anonymous, own] = await batchAll(deps.analyticsDb, [
    // Tombstones first: a write of these events that commits after this batch (an ingest still
    // in the queue, a retried payment sink) skips them (store.ts, NOT_ERASED).
    rows(sql`INSERT INTO analytics_erasures (subject, erased_at)
      SELECT 'u:' || ${userId}, ${now} UNION SELECT 's:' || session_id, ${now} FROM (${sessions}) WHERE true
      ON CONFLICT (subject) DO UPDATE SET erased_at = MAX(analytics_erasures.erased_at, excluded.erased_at)`),
    // While the doomed events still exist: it finds inherited touches by their event id.
    eraseTouches(userId, sessions),
    rows(sql`WITH doomed AS (${doomed})
      INSERT INTO analytics_daily (day, event_type, page, element, bot, events)
      SELECT occurred_at / ${PER_DAY}, event_type, COALESCE(page, ''), COALESCE(element, ''), bot, -COUNT(*)
      FROM doomed WHERE true GROUP BY 1, 2, 3, 4, 5
      ON CONFLICT (day, event_type, page, element, bot) DO UPDATE SET events = analytics_daily.events + excluded.events`),
    rows(sql`WITH doomed AS (${doomed})
      INSERT INTO analytics_activity (bucket, bot, events)
      SELECT occurred_at / ${PER_BUCKET}, bot, -COUNT(*) FROM doomed WHERE true GROUP BY 1, 2
      ON CONFLICT (bucket, bot) DO UPDATE SET events = analytics_activity.events + excluded.events`),
    rows<{ n: number }>(
      sql`DELETE FROM analytics_sessions WHERE session_id IN (${sessions}) RETURNING 1 AS n`,
    ),
    // Same rules as the ingest upsert (store.ts): server-recorded payment_completed excluded.
    rows(sql`INSERT INTO analytics_sessions (session_id, first_at, last_at, events, page_views, interactions, bot)
      SELECT session_id, MIN(occurred_at), MAX(occurred_at), COUNT(*), SUM(event_type = 'page_view'),
        SUM(event_type IN ('button_click', 'feature_used')), MAX(bot)
      FROM analytics_events
      WHERE session_id IN (${sessions}) AND user_id <> ${userId} AND event_type <> 'payment_completed'
      GROUP BY session_id`),
    rows<{ n: number }>(sql`DELETE FROM analytics_events
      WHERE user_id IS NULL AND session_id IN (${sessions}) RETURNING 1 AS n`),
    rows<{ n: number }>(sql`DELETE FROM analytics_events WHERE user_id = ${userId} RETURNING 1 AS n`),
    rows(sql`DELETE FROM analytics_daily WHERE events <= 0`),
    rows(sql`DELETE FROM analytics_activity WHERE events <= 0`),
    rows(sql`DELETE FROM analytics_user_days WHERE user_id = ${userId}`),
    rows(sql`DELETE FROM analytics_archived_sessions WHERE user_id = ${userId}`),
  ]);
  const deleted = own.length + anonymous.length;
  deps.logger.info("analytics events erased", {
    user_id: userId,
    deleted,
    anonymous: anonymous.length,
    sessions: sessionRows.length,
    by: admin.userId,
  });
  return { user_id: userId, deleted, anonymous_deleted: anonymous.length, sessions: sessionRows.length };
}
