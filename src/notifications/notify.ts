import { and, eq, inArray, sql } from "drizzle-orm";
import { devices, notificationDeliveries, notifications } from "../db/schema";
import { derivedId, now } from "../platform/ids";
import type { Logger } from "../platform/logger";
import type { Db } from "../platform/types";
import { ENQUEUE_FAILED, markUnsendable } from "./deliveries.service";
import { chunk, recipientsFor } from "./preferences.service";
import { heldUntil } from "./quiet-hours";
import { type UserLocale, userLocales } from "./templates/choose";
import type { TemplateKey } from "./templates/index";
import { renderSafely, type Vars } from "./templates/render";
import { type NotificationType, type PushJob, TOKENS_PER_JOB } from "./types";

export type NotifyDeps = { env: Pick<Env, "PUSH_QUEUE">; db: Db; logger: Logger };

/** A template of templates/*.json and what fills its placeholders. */
export type TemplateRef = { key: TemplateKey; vars: Vars };

/**
 * Either a template, rendered per user (history) and per device (push) in their locale; or text
 * written per user in their locale (a digest's summary: its wording depends on a count, which
 * the template syntax cannot branch on); or free text sent as is to everyone (admin test sends).
 */
type Content =
  | { template: TemplateRef; title?: undefined; body?: undefined; localized?: undefined }
  | { template?: undefined; title?: undefined; body?: undefined; localized: (locale: string) => Text }
  | { template?: undefined; title: string; body: string; localized?: undefined };
type Text = { title: string; body: string };

export type NotifyInput = Content & {
  userIds: string[];
  type: NotificationType;
  /** FCM requires string values; callers stringify. */
  data?: Record<string, string>;
  silent?: boolean;
  /** Domain event id: (event_id, user_id) is unique, so a replay adds nothing. */
  eventId: string;
  /**
   * The push of a released digest window (digest.service.ts): never digested again, and
   * hidden from the in-app history, which already shows the window's items one by one.
   */
  digestSummary?: boolean;
};

export type NotifyResult = {
  notifications: number;
  queued: number;
  held: number;
  notification_ids: string[];
};

// D1 binds at most 100 parameters per statement: rows per multi-row INSERT.
const ROWS_PER_INSERT = 8;
// Statements per db.batch call.
const STATEMENTS_PER_BATCH = 50;

async function batchAll(db: Db, statements: Array<ReturnType<typeof insertNotifications>>) {
  const results: Array<{ id: string; userId: string; digest: string | null }> = [];
  for (const group of chunk(statements, STATEMENTS_PER_BATCH)) {
    const [first, ...rest] = group;
    if (!first) continue;
    for (const rows of await db.batch([first, ...rest])) results.push(...rows);
  }
  return results;
}

function insertNotifications(db: Db, rows: Array<typeof notifications.$inferInsert>) {
  return db
    .insert(notifications)
    .values(rows)
    .onConflictDoNothing()
    .returning({ id: notifications.id, userId: notifications.userId, digest: notifications.digest });
}

/** Existing notifications of this event for `userIds` (a retried or replayed notify). */
async function existingNotifications(db: Db, eventId: string, userIds: string[]) {
  const out: Array<{ id: string; userId: string; digest: string | null }> = [];
  for (const ids of chunk(userIds, 90)) {
    out.push(
      ...(await db
        .select({ id: notifications.id, userId: notifications.userId, digest: notifications.digest })
        .from(notifications)
        .where(and(eq(notifications.eventId, eventId), inArray(notifications.userId, ids)))),
    );
  }
  return out;
}

async function devicesOf(db: Db, userIds: string[]) {
  const out: Array<typeof devices.$inferSelect> = [];
  for (const ids of chunk(userIds, 90))
    out.push(...(await db.select().from(devices).where(inArray(devices.userId, ids))));
  return out;
}

/**
 * The row's title/body: a template is rendered in the user's locale (what the in-app history
 * shows; each push is rendered again for its device's locale at send time) and kept with its
 * variables and that locale for the consumer.
 */
function content(deps: NotifyDeps, input: NotifyInput, user: UserLocale | undefined) {
  if (input.localized) return { ...input.localized(user?.locale ?? "en"), template: null };
  if (!input.template) return { title: input.title, body: input.body, template: null };
  const { key, vars } = input.template;
  const text = renderSafely(user?.locale ?? "en", key, vars, user?.timeZone, (msg, f) =>
    deps.logger.warn(msg, f),
  );
  const kept = Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined)) as Record<
    string,
    string | number | boolean | null
  >;
  return { title: text.title, body: text.body, template: { key, vars: kept, locale: text.locale } };
}

/**
 * Deliveries an earlier attempt of this notify wrote but could not enqueue: back to queued
 * (conditional, so concurrent retries split them) for this attempt to enqueue.
 */
async function reviveUnenqueued(db: Db, notificationIds: string[]): Promise<string[]> {
  if (notificationIds.length === 0) return [];
  const rows = await db
    .update(notificationDeliveries)
    .set({ status: "queued", errorCode: null, updatedAt: now() })
    .where(
      and(
        sql`${notificationDeliveries.notificationId} IN (SELECT value FROM json_each(${JSON.stringify(notificationIds)}))`,
        eq(notificationDeliveries.status, "failed"),
        eq(notificationDeliveries.errorCode, ENQUEUE_FAILED),
      ),
    )
    .returning({ id: notificationDeliveries.id });
  return rows.map((r) => r.id);
}

/**
 * The one way to notify users (docs/notifications.md, "Pipeline"): applies per-type and
 * per-channel preferences, writes a notification row per user, creates a delivery row per
 * device (`held` during quiet hours) and enqueues push jobs of at most TOKENS_PER_JOB
 * deliveries.
 *
 * Idempotent per event, so the notifications sink can be retried after any failure: row
 * ids derive from (event, user) and (notification, device), every insert is ON CONFLICT
 * DO NOTHING, and only the delivery rows this call inserted (or revived after a failed
 * enqueue) are enqueued. A retry therefore fills in what an earlier attempt left out and
 * never queues a second push for a device.
 */
export async function notify(deps: NotifyDeps, input: NotifyInput): Promise<NotifyResult> {
  const { db } = deps;
  const userIds = [...new Set(input.userIds)];
  const recipients = (await recipientsFor(db, userIds, input.type)).filter((r) => r.push || r.inApp);
  const t = now();
  const userDevices = await devicesOf(
    db,
    recipients.map((r) => r.userId),
  );
  const locales = userLocales(userDevices);
  const rows = await Promise.all(
    recipients.map(async (r) => ({
      id: await derivedId("notification", input.eventId, r.userId),
      userId: r.userId,
      type: input.type,
      ...content(deps, input, locales.get(r.userId)),
      data: input.data ?? {},
      silent: input.silent ?? false,
      eventId: input.eventId,
      inApp: r.inApp && !input.digestSummary,
      // Digested: stored and shown as usual, pushed later as part of its window's summary.
      digest: r.push && r.delivery !== "instant" && !input.digestSummary ? r.delivery : null,
      createdAt: t,
    })),
  );
  const inserted = await batchAll(
    db,
    chunk(rows, ROWS_PER_INSERT).map((group) => insertNotifications(db, group)),
  );
  const fresh = new Set(inserted.map((n) => n.userId));
  // Rows an earlier attempt wrote (possibly with other ids, before ids were derived).
  const earlier =
    inserted.length < rows.length
      ? await existingNotifications(
          db,
          input.eventId,
          rows.filter((r) => !fresh.has(r.userId)).map((r) => r.userId),
        )
      : [];

  const byUser = new Map(recipients.map((r) => [r.userId, r]));
  const notificationOf = new Map(
    [...inserted, ...earlier]
      .filter((n) => byUser.get(n.userId)?.push && n.digest === null)
      .map((n) => [n.userId, n.id]),
  );
  const deliveries: Array<typeof notificationDeliveries.$inferInsert> = [];
  for (const d of userDevices) {
    const notificationId = notificationOf.get(d.userId);
    const quiet = byUser.get(d.userId)?.quietHours;
    if (!notificationId) continue;
    const notBefore = quiet ? heldUntil(t, quiet) : null;
    deliveries.push({
      id: await derivedId("delivery", notificationId, d.id),
      notificationId,
      deviceId: d.id,
      token: d.token,
      platform: d.platform,
      status: notBefore === null ? "queued" : "held",
      attempts: 0,
      notBefore,
      createdAt: t,
      updatedAt: t,
    });
  }
  const created: Array<{ id: string; status: string }> = [];
  for (const group of chunk(chunk(deliveries, ROWS_PER_INSERT), STATEMENTS_PER_BATCH)) {
    const [first, ...rest] = group.map((g) =>
      db
        .insert(notificationDeliveries)
        .values(g)
        .onConflictDoNothing()
        .returning({ id: notificationDeliveries.id, status: notificationDeliveries.status }),
    );
    if (first) for (const r of await db.batch([first, ...rest])) created.push(...r);
  }

  const queued = [
    ...created.filter((d) => d.status === "queued").map((d) => d.id),
    ...(await reviveUnenqueued(
      db,
      earlier.map((n) => n.id),
    )),
  ];
  try {
    await enqueuePush(deps, queued);
  } catch (err) {
    // Rather than leaving rows `queued` forever, say what happened on each of them.
    // Jobs already accepted before the failure still run; only the rest are unsendable,
    // until the sink's retry (reviveUnenqueued) or the cron (requeueEnqueueFailed) revives them.
    const unsent = err instanceof EnqueueError ? err.unsent : queued;
    deps.logger.error("push enqueue failed", { count: unsent.length, err });
    await markUnsendable(db, unsent, ENQUEUE_FAILED);
    throw err;
  }
  return {
    notifications: inserted.length,
    queued: queued.length,
    held: created.length - created.filter((d) => d.status === "queued").length,
    notification_ids: inserted.map((n) => n.id),
  };
}

// sendBatch takes at most 100 messages and 256 KB in all; stay well under the bytes.
const MESSAGES_PER_SEND = 100;
const BYTES_PER_SEND = 192_000;

/**
 * Sends delivery ids to the push queue in jobs of ≤TOKENS_PER_JOB, grouped into sendBatch
 * calls bounded by message count and by bytes (100 jobs of 100 UUIDs were ~390 KB: a
 * 10,000-device fan-out was refused whole).
 */
export async function enqueuePush(deps: Pick<NotifyDeps, "env">, deliveryIds: string[]): Promise<void> {
  const jobs: PushJob[] = chunk(deliveryIds, TOKENS_PER_JOB).map((ids) => ({ v: 1, delivery_ids: ids }));
  const groups: PushJob[][] = [];
  let bytes = 0;
  for (const job of jobs) {
    const size = JSON.stringify(job).length;
    const last = groups.at(-1);
    if (last && last.length < MESSAGES_PER_SEND && bytes + size <= BYTES_PER_SEND) {
      last.push(job);
      bytes += size;
    } else {
      groups.push([job]);
      bytes = size;
    }
  }
  for (const [i, group] of groups.entries()) {
    try {
      await deps.env.PUSH_QUEUE.sendBatch(group.map((body) => ({ body, contentType: "json" as const })));
    } catch (err) {
      throw new EnqueueError(
        groups.slice(i).flatMap((g) => g.flatMap((j) => j.delivery_ids)),
        err,
      );
    }
  }
}

/** A sendBatch refused: `unsent` are the delivery ids of this and every later group. */
export class EnqueueError extends Error {
  override name = "EnqueueError";
  constructor(
    readonly unsent: string[],
    cause: unknown,
  ) {
    super(`push enqueue failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
