import { and, eq, inArray, isNull, lt, lte, notExists, or, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SQLiteUpdateSetSource } from "drizzle-orm/sqlite-core";
import { devices, notificationDeliveries, notifications, type StoredTemplate } from "../db/schema";
import { now } from "../platform/ids";
import type { Db } from "../platform/types";
import { chunk } from "./preferences.service";
import type { NotificationType } from "./types";

/** A delivery still to be sent, with what the FCM message is built from. */
export type PendingDelivery = {
  id: string;
  deviceId: string;
  token: string;
  platform: string;
  attempts: number;
  /** When a retry is due (Retry-After, backoff); null when the delivery may go now. */
  notBefore?: number | null;
  notificationId: string;
  type: NotificationType;
  title: string;
  body: string;
  data: Record<string, string> | null;
  silent: boolean;
  /** What the push is rendered from for this device (null: send title/body as stored). */
  template?: StoredTemplate | null;
  deviceLocale?: string | null;
  deviceTimeZone?: string | null;
};

export type Outcome =
  | { kind: "sent"; name: string }
  | { kind: "token_removed"; code: string }
  | { kind: "failed"; code: string }
  | {
      kind: "retry";
      code: string;
      retryAfterSeconds: number | null;
      /** First backoff step when it is not 1 s (QUOTA_FIRST_STEP_S: a 429 without Retry-After). */
      firstStepS?: number;
    };

const IN_CHUNK = 90;

/**
 * error_code of deliveries whose push job the queue refused after their rows were committed.
 * Not final: the notify sink's retry and the cron (claimEnqueueFailed) queue them again.
 */
export const ENQUEUE_FAILED = "ENQUEUE_FAILED";

/**
 * Only `queued` rows whose device still exists: anything already sent, failed or removed is
 * never sent again, and neither is a push to a deleted device (deleteDevice cancels its rows
 * in the same batch; this catches a job already in flight). Rows left without a device are
 * cancelled here, so the stale-job sweep does not re-enqueue them forever.
 */
export async function loadPending(db: Db, ids: string[]): Promise<PendingDelivery[]> {
  const out = await loadQueued(db, ids);
  const orphaned = out.filter((d) => d.deviceGone).map((d) => d.id);
  if (orphaned.length > 0) await cancelOrphaned(db, orphaned);
  return out.filter((d) => !d.deviceGone).map(({ deviceGone: _, ...d }) => d);
}

async function cancelOrphaned(db: Db, ids: string[]): Promise<void> {
  await db
    .update(notificationDeliveries)
    .set({ status: "failed", errorCode: "DEVICE_DELETED", updatedAt: now() })
    .where(
      and(
        sql`${notificationDeliveries.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
        eq(notificationDeliveries.status, "queued"),
        notExists(
          db.select({ id: devices.id }).from(devices).where(eq(devices.id, notificationDeliveries.deviceId)),
        ),
      ),
    );
}

async function loadQueued(db: Db, ids: string[]): Promise<Array<PendingDelivery & { deviceGone: boolean }>> {
  const out: Array<PendingDelivery & { deviceGone: boolean }> = [];
  for (const group of chunk(ids, IN_CHUNK)) {
    const rows = await db
      .select({
        id: notificationDeliveries.id,
        deviceId: notificationDeliveries.deviceId,
        token: notificationDeliveries.token,
        platform: notificationDeliveries.platform,
        attempts: notificationDeliveries.attempts,
        notBefore: notificationDeliveries.notBefore,
        notificationId: notifications.id,
        type: notifications.type,
        title: notifications.title,
        body: notifications.body,
        data: notifications.data,
        silent: notifications.silent,
        template: notifications.template,
        deviceLocale: devices.locale,
        deviceTimeZone: devices.timeZone,
        deviceGone: sql<boolean>`${devices.id} IS NULL`.mapWith(Boolean),
      })
      .from(notificationDeliveries)
      .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
      .leftJoin(devices, eq(devices.id, notificationDeliveries.deviceId))
      .where(and(inArray(notificationDeliveries.id, group), eq(notificationDeliveries.status, "queued")));
    out.push(...rows);
  }
  return out;
}

/**
 * Claims loaded rows for one consumer run: `queued` → `sending`, with the run's claim token,
 * `claimed_at` and `attempts + 1`, only where `attempts` still has the value just read.
 * Queues deliver at least once, so the same job can run twice at the same time: only one
 * run wins each row, and only it sends. The row says `sending` BEFORE its FCM request, so
 * whatever happens to this run afterwards, a retry of the job never sends it again; only
 * the run holding the token writes its outcome (recordOutcomes). A run that dies holding
 * claims leaves rows `sending`: the cron re-queues them once the claim is older than any
 * run can live (claimStuckSending): that, and only that, is the at-least-once window.
 * Rows of one job nearly always share an attempts value, so this is one UPDATE per value
 * (not one per row), all in one db.batch: D1 counts every statement against the
 * invocation's query limit.
 */
export async function claimPending(
  db: Db,
  pending: PendingDelivery[],
  claimToken: string,
): Promise<PendingDelivery[]> {
  const t = now();
  const byAttempts = new Map<number, string[]>();
  for (const d of pending) byAttempts.set(d.attempts, [...(byAttempts.get(d.attempts) ?? []), d.id]);
  const statements = [...byAttempts].flatMap(([attempts, ids]) =>
    chunk(ids, IN_CHUNK).map((group) =>
      db
        .update(notificationDeliveries)
        .set({ status: "sending", claimToken, claimedAt: t, attempts: attempts + 1, updatedAt: t })
        .where(
          and(
            inArray(notificationDeliveries.id, group),
            eq(notificationDeliveries.status, "queued"),
            eq(notificationDeliveries.attempts, attempts),
          ),
        )
        .returning({ id: notificationDeliveries.id }),
    ),
  );
  const [first, ...rest] = statements;
  if (!first) return [];
  const claimed = new Set<string>();
  for (const rows of await db.batch([first, ...rest])) for (const r of rows) claimed.add(r.id);
  return pending.filter((d) => claimed.has(d.id));
}

// A JSON object {delivery id: value} bound as ONE parameter: a single statement then updates
// any number of rows with a value per row (D1 binds at most 100 parameters per statement).
const inMap = (map: string) => sql`${notificationDeliveries.id} IN (SELECT key FROM json_each(${map}))`;
const valueIn = (map: string) =>
  sql<string>`(SELECT value FROM json_each(${map}) WHERE key = ${notificationDeliveries.id})`;

/** One send's outcome; `retryAt` (retries only) is when its next attempt is due. */
export type SendResult = { d: PendingDelivery; o: Outcome; retryAt?: number };

/**
 * Writes outcomes of sends made under `claimToken`, in one db.batch of at most five
 * statements (one per kind of outcome, plus the device deletions), whatever their number.
 * Each is guarded by `status = 'sending' AND claim_token = <token>`: only the run that
 * claimed a row writes it, once, and nothing can turn a `sent` row back. `attempts` was
 * already counted by claimPending. Retried rows go back to `queued` with `not_before` = when
 * their retry is due, so the job's next attempt picks them up.
 */
export async function recordOutcomes(db: Db, results: SendResult[], claimToken: string): Promise<void> {
  const t = now();
  const maps = { sent: {}, token_removed: {}, failed: {}, retry: {} } as Record<
    Outcome["kind"],
    Record<string, string>
  >;
  const retryAt: Record<string, number | null> = {};
  const deadTokens: string[] = [];
  for (const { d, o, retryAt: at } of results) {
    maps[o.kind][d.id] = o.kind === "sent" ? o.name : o.code;
    if (o.kind === "retry") retryAt[d.id] = at ?? null;
    if (o.kind === "token_removed") deadTokens.push(d.token);
  }
  const released = { claimToken: null, updatedAt: t };
  const guarded = (map: string, set: SQLiteUpdateSetSource<typeof notificationDeliveries>) =>
    db
      .update(notificationDeliveries)
      .set({ ...set, ...released })
      .where(
        and(
          inMap(map),
          eq(notificationDeliveries.status, "sending"),
          eq(notificationDeliveries.claimToken, claimToken),
        ),
      );
  const json = (kind: Outcome["kind"]) =>
    Object.keys(maps[kind]).length > 0 ? JSON.stringify(maps[kind]) : null;
  const statements: BatchItem<"sqlite">[] = [];
  const sent = json("sent");
  if (sent)
    statements.push(guarded(sent, { status: "sent", fcmMessageName: valueIn(sent), errorCode: null }));
  const removed = json("token_removed");
  if (removed) statements.push(guarded(removed, { status: "token_removed", errorCode: valueIn(removed) }));
  const failed = json("failed");
  if (failed) statements.push(guarded(failed, { status: "failed", errorCode: valueIn(failed) }));
  const retry = json("retry");
  if (retry) {
    const due = JSON.stringify(retryAt);
    statements.push(
      guarded(retry, {
        status: "queued",
        errorCode: valueIn(retry),
        notBefore: sql<
          number | null
        >`(SELECT value FROM json_each(${due}) WHERE key = ${notificationDeliveries.id})`,
      }),
    );
  }
  if (deadTokens.length > 0) {
    // By token, not only id: the token is dead whoever registered it since.
    const tokens = JSON.stringify(deadTokens);
    statements.push(
      db.delete(devices).where(sql`${devices.token} IN (SELECT value FROM json_each(${tokens}))`),
    );
  }
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/**
 * Updates the rows among `ids` that still match `guard`, IN_CHUNK ids per statement; returns
 * the ids it changed. The guard is what lets concurrent runs split rows instead of sharing them.
 */
async function updateGuarded(
  db: Db,
  ids: string[],
  set: SQLiteUpdateSetSource<typeof notificationDeliveries>,
  guard: SQL | undefined,
): Promise<string[]> {
  const changed: string[] = [];
  for (const group of chunk(ids, IN_CHUNK)) {
    const rows = await db
      .update(notificationDeliveries)
      .set(set)
      .where(and(inArray(notificationDeliveries.id, group), guard))
      .returning({ id: notificationDeliveries.id });
    changed.push(...rows.map((r) => r.id));
  }
  return changed;
}

const isQueued = eq(notificationDeliveries.status, "queued");

/** Marks still-queued deliveries with a terminal status (enqueue failure, dead letter). */
export async function markUnsendable(db: Db, ids: string[], code: string): Promise<number> {
  return setTerminal(db, ids, "failed", code);
}

export async function markDeadLettered(db: Db, ids: string[]): Promise<number> {
  return setTerminal(db, ids, "dead_lettered", null);
}

async function setTerminal(
  db: Db,
  ids: string[],
  status: "failed" | "dead_lettered",
  code: string | null,
): Promise<number> {
  const set = { status, updatedAt: now(), ...(code === null ? {} : { errorCode: code }) };
  return (await updateGuarded(db, ids, set, isQueued)).length;
}

/** Selects up to `limit` rows matching `where`, then moves those still matching it with `set`. */
async function claimWhere(
  db: Db,
  where: SQL | undefined,
  set: SQLiteUpdateSetSource<typeof notificationDeliveries>,
  limit: number,
): Promise<string[]> {
  const due = await db
    .select({ id: notificationDeliveries.id })
    .from(notificationDeliveries)
    .where(where)
    .limit(limit);
  return updateGuarded(
    db,
    due.map((r) => r.id),
    set,
    where,
  );
}

/**
 * Moves deliveries whose enqueue failed back to `queued` for the caller to enqueue; returns
 * their ids. Conditional, so the cron and a retried notify never both take the same row.
 */
export function claimEnqueueFailed(db: Db, limit: number): Promise<string[]> {
  const failed = and(
    eq(notificationDeliveries.status, "failed"),
    eq(notificationDeliveries.errorCode, ENQUEUE_FAILED),
  );
  return claimWhere(db, failed, { status: "queued", errorCode: null, updatedAt: now() }, limit);
}

/**
 * Moves held deliveries whose quiet hours are over back to `queued`; returns their ids. Their
 * `not_before` was the end of quiet hours, not a retry delay: it is cleared, so the consumer
 * (which waits for a future not_before, the FCM Retry-After rule) sends them at once.
 */
export function claimDueHeld(db: Db, at: number, limit: number): Promise<string[]> {
  const due = and(eq(notificationDeliveries.status, "held"), lte(notificationDeliveries.notBefore, at));
  return claimWhere(db, due, { status: "queued", notBefore: null, updatedAt: now() }, limit);
}

export async function revertToHeld(db: Db, ids: string[]): Promise<void> {
  await updateGuarded(db, ids, { status: "held", updatedAt: now() }, isQueued);
}

/**
 * Queued rows nobody has touched for `staleMs` and whose retry (if any) is long due: the
 * queue message that named them was lost (e.g. enqueueing a retry or a re-drive failed).
 * Touches `updated_at` conditionally, so concurrent sweeps split the rows and the next
 * sweep leaves them alone for another `staleMs`.
 */
export function claimStaleQueued(db: Db, at: number, staleMs: number, limit: number): Promise<string[]> {
  const cutoff = at - staleMs;
  const stale = and(
    isQueued,
    lt(notificationDeliveries.updatedAt, cutoff),
    or(isNull(notificationDeliveries.notBefore), lte(notificationDeliveries.notBefore, cutoff)),
  );
  return claimWhere(db, stale, { updatedAt: at }, limit);
}

/**
 * Rows left `sending` by a run that died (or could not write its outcome) with a claim older
 * than `staleMs`: back to `queued`, error `SEND_UNCONFIRMED`, so the caller re-enqueues them.
 * Their FCM request may have been delivered (FCM v1 has no idempotency key): re-sending is
 * the at-least-once choice, and this is the one place a device can get a push twice.
 */
export function claimStuckSending(db: Db, at: number, staleMs: number, limit: number): Promise<string[]> {
  const stuck = and(
    eq(notificationDeliveries.status, "sending"),
    lt(notificationDeliveries.claimedAt, at - staleMs),
  );
  const set = {
    status: "queued",
    claimToken: null,
    errorCode: "SEND_UNCONFIRMED",
    updatedAt: now(),
  } as const;
  return claimWhere(db, stuck, set, limit);
}
