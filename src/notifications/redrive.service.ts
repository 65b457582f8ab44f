import { and, eq, exists, gte, inArray, or, type SQL, sql } from "drizzle-orm";
import { devices, notificationDeliveries, notifications } from "../db/schema";
import type { Deps } from "../platform/deps";
import { now } from "../platform/ids";
import { THIRD_PARTY_AUTH_ERROR } from "./fcm/client";
import { EnqueueError, enqueuePush } from "./notify";
import { chunk } from "./preferences.service";
import type { REDRIVE_KINDS } from "./schemas";

export type RedriveFilter = {
  kinds: Array<(typeof REDRIVE_KINDS)[number]>;
  notification_id?: string | undefined;
  user_id?: string | undefined;
  platform?: "android" | "ios" | "web" | undefined;
  since?: string | undefined;
  limit: number;
};

export type RedriveResult = { redriven: number; delivery_ids: string[]; deferred: number; more: boolean };

const d = notificationDeliveries;

/**
 * The deliveries a re-drive may send again: dead-lettered ones and those failed by a
 * THIRD_PARTY_AUTH_ERROR. Which device may get them is decided by `ownedDevice` below.
 */
function redrivable(kinds: RedriveFilter["kinds"]): SQL | undefined {
  const statuses: SQL[] = [];
  if (kinds.includes("dead_lettered")) statuses.push(eq(d.status, "dead_lettered"));
  if (kinds.includes("third_party_auth"))
    statuses.push(and(eq(d.status, "failed"), eq(d.errorCode, THIRD_PARTY_AUTH_ERROR)) as SQL);
  return or(...statuses);
}

/**
 * Admin re-drive (POST /notifications/admin/redrive): moves matching unsendable deliveries
 * back to `queued` and enqueues them. At most `limit` per call (`more` says whether to call
 * again). Idempotent and race-free: the move is a conditional UPDATE on the status, so a
 * repeated or concurrent call finds nothing left to move, and a row is queued once.
 */
export async function redriveDeliveries(
  deps: Pick<Deps, "db" | "env" | "logger">,
  f: RedriveFilter,
): Promise<RedriveResult> {
  const { db } = deps;
  // Only while the delivery's device still exists and still belongs to the notification's
  // user: a deleted device, or a device whose token someone else registered since (the row
  // moves to them), must never get another user's push. Matched by device id, not by the
  // token copy in the delivery: the retention job blanks that copy after 30 days, and the
  // device may have a newer token by now; the move below sends the device's current one.
  const ownedDevice = exists(
    db
      .select({ one: devices.id })
      .from(devices)
      .innerJoin(notifications, eq(notifications.id, d.notificationId))
      .where(and(eq(devices.id, d.deviceId), eq(devices.userId, notifications.userId))),
  );
  const guard = and(redrivable(f.kinds), ownedDevice);
  const filters = [
    guard,
    f.notification_id ? eq(d.notificationId, f.notification_id) : undefined,
    f.platform ? eq(d.platform, f.platform) : undefined,
    f.since ? gte(d.updatedAt, Date.parse(f.since)) : undefined,
    f.user_id
      ? exists(
          db
            .select({ one: notifications.id })
            .from(notifications)
            .where(and(eq(notifications.id, d.notificationId), eq(notifications.userId, f.user_id))),
        )
      : undefined,
  ];
  const rows = await db
    .select({ id: d.id })
    .from(d)
    .where(and(...filters))
    .orderBy(d.updatedAt, d.id)
    .limit(f.limit + 1);
  const more = rows.length > f.limit;
  const ids: string[] = [];
  const t = now();
  for (const group of chunk(
    rows.slice(0, f.limit).map((r) => r.id),
    90,
  )) {
    const moved = await db
      .update(d)
      .set({
        status: "queued",
        notBefore: null,
        claimToken: null,
        // The device's current token (the guard has just checked the device is there).
        token: sql`(SELECT ${devices.token} FROM ${devices} WHERE ${devices.id} = ${d.deviceId})`,
        updatedAt: t,
      })
      .where(and(inArray(d.id, group), guard))
      .returning({ id: d.id });
    ids.push(...moved.map((r) => r.id));
  }
  let deferred = 0;
  if (ids.length > 0) {
    try {
      await enqueuePush(deps, ids);
    } catch (err) {
      // Already `queued` and untouched from now: the cron's lost-job sweep enqueues them.
      deferred = err instanceof EnqueueError ? err.unsent.length : ids.length;
      deps.logger.warn("re-drive enqueue failed; the cron will enqueue the rest", { deferred, err });
    }
  }
  deps.logger.info("push re-drive", { redriven: ids.length, deferred, more, filter: f });
  return { redriven: ids.length, delivery_ids: ids, deferred, more };
}
