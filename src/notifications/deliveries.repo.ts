import { and, eq, inArray, lte } from "drizzle-orm";
import { devices, notificationDeliveries, notifications } from "../db/schema";
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
  notificationId: string;
  type: NotificationType;
  title: string;
  body: string;
  data: Record<string, string> | null;
  silent: boolean;
};

export type Outcome =
  | { kind: "sent"; name: string }
  | { kind: "token_removed"; code: string }
  | { kind: "failed"; code: string }
  | { kind: "retry"; code: string; retryAfterSeconds: number | null };

const IN_CHUNK = 90;

/** Only `queued` rows: anything already sent, failed or removed is never sent again. */
export async function loadPending(db: Db, ids: string[]): Promise<PendingDelivery[]> {
  const out: PendingDelivery[] = [];
  for (const group of chunk(ids, IN_CHUNK)) {
    const rows = await db
      .select({
        id: notificationDeliveries.id,
        deviceId: notificationDeliveries.deviceId,
        token: notificationDeliveries.token,
        platform: notificationDeliveries.platform,
        attempts: notificationDeliveries.attempts,
        notificationId: notifications.id,
        type: notifications.type,
        title: notifications.title,
        body: notifications.body,
        data: notifications.data,
        silent: notifications.silent,
      })
      .from(notificationDeliveries)
      .innerJoin(notifications, eq(notifications.id, notificationDeliveries.notificationId))
      .where(and(inArray(notificationDeliveries.id, group), eq(notificationDeliveries.status, "queued")));
    out.push(...rows);
  }
  return out;
}

/**
 * Claims loaded rows for this invocation by bumping `attempts` only where it still has the
 * value just read (and the row is still queued). Queues deliver at least once, so the same
 * job can run twice at the same time: only one run wins each row, and only it sends.
 * A run that dies after claiming leaves the row queued, so the job's retry claims it again.
 */
export async function claimPending(db: Db, pending: PendingDelivery[]): Promise<PendingDelivery[]> {
  const t = now();
  const claimed = new Set<string>();
  for (const group of chunk(pending, 50)) {
    const statements = group.map((d) =>
      db
        .update(notificationDeliveries)
        .set({ attempts: d.attempts + 1, updatedAt: t })
        .where(
          and(
            eq(notificationDeliveries.id, d.id),
            eq(notificationDeliveries.status, "queued"),
            eq(notificationDeliveries.attempts, d.attempts),
          ),
        )
        .returning({ id: notificationDeliveries.id }),
    );
    const [first, ...rest] = statements;
    if (!first) continue;
    for (const rows of await db.batch([first, ...rest])) for (const r of rows) claimed.add(r.id);
  }
  return pending.filter((d) => claimed.has(d.id));
}

/**
 * Writes each outcome with a forward-only guard (`status = 'queued'`), so a concurrent
 * redelivery can never turn a `sent` row back. A removed token also deletes its device.
 */
export async function recordOutcomes(
  db: Db,
  results: Array<{ d: PendingDelivery; o: Outcome }>,
): Promise<void> {
  const t = now();
  const statements = results.flatMap(({ d, o }) => {
    const guard = and(eq(notificationDeliveries.id, d.id), eq(notificationDeliveries.status, "queued"));
    // claimPending already counted this attempt.
    const attempts = d.attempts + 1;
    switch (o.kind) {
      case "sent":
        return [
          db
            .update(notificationDeliveries)
            .set({ status: "sent", fcmMessageName: o.name, errorCode: null, attempts, updatedAt: t })
            .where(guard),
        ];
      case "token_removed":
        return [
          db
            .update(notificationDeliveries)
            .set({ status: "token_removed", errorCode: o.code, attempts, updatedAt: t })
            .where(guard),
          // By token, not only id: the token is dead whoever registered it since.
          db.delete(devices).where(eq(devices.token, d.token)),
        ];
      case "failed":
        return [
          db
            .update(notificationDeliveries)
            .set({ status: "failed", errorCode: o.code, attempts, updatedAt: t })
            .where(guard),
        ];
      default:
        // retry: the row stays queued so the next attempt picks it up.
        return [
          db.update(notificationDeliveries).set({ errorCode: o.code, attempts, updatedAt: t }).where(guard),
        ];
    }
  });
  for (const group of chunk(statements, 50)) {
    const [first, ...rest] = group;
    if (first) await db.batch([first, ...rest]);
  }
}

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
  let changed = 0;
  const t = now();
  for (const group of chunk(ids, IN_CHUNK)) {
    const rows = await db
      .update(notificationDeliveries)
      .set({ status, updatedAt: t, ...(code === null ? {} : { errorCode: code }) })
      .where(and(inArray(notificationDeliveries.id, group), eq(notificationDeliveries.status, "queued")))
      .returning({ id: notificationDeliveries.id });
    changed += rows.length;
  }
  return changed;
}

/** Moves held deliveries whose quiet hours are over back to `queued`; returns their ids. */
export async function claimDueHeld(db: Db, at: number, limit: number): Promise<string[]> {
  const due = await db
    .select({ id: notificationDeliveries.id })
    .from(notificationDeliveries)
    .where(and(eq(notificationDeliveries.status, "held"), lte(notificationDeliveries.notBefore, at)))
    .limit(limit);
  const claimed: string[] = [];
  for (const group of chunk(
    due.map((r) => r.id),
    IN_CHUNK,
  )) {
    const rows = await db
      .update(notificationDeliveries)
      .set({ status: "queued", updatedAt: now() })
      .where(and(inArray(notificationDeliveries.id, group), eq(notificationDeliveries.status, "held")))
      .returning({ id: notificationDeliveries.id });
    claimed.push(...rows.map((r) => r.id));
  }
  return claimed;
}

export async function revertToHeld(db: Db, ids: string[]): Promise<void> {
  for (const group of chunk(ids, IN_CHUNK)) {
    await db
      .update(notificationDeliveries)
      .set({ status: "held", updatedAt: now() })
      .where(and(inArray(notificationDeliveries.id, group), eq(notificationDeliveries.status, "queued")));
  }
}
