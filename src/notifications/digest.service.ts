import { and, desc, eq, inArray, isNotNull, isNull, min } from "drizzle-orm";
import {
  type DigestMode,
  devices,
  notificationDigests,
  notificationSettings,
  notifications,
} from "../db/schema";
import type { Deps } from "../platform/deps";
import { derivedId, now, toIso } from "../platform/ids";
import type { Db } from "../platform/types";
import { digestSummary } from "./digest-text";
import { type DigestWindow, digestWindow } from "./digest-window";
import { notify } from "./notify";
import { chunk } from "./preferences.service";
import { isValidTimeZone } from "./quiet-hours";
import type { NotificationType } from "./types";

// Per cron run; the next run (5 minutes later) takes what is left.
const MAX_GROUPS_PER_RUN = 500;
const MAX_RESUMED_PER_RUN = 500;
/** Windows one (user, type, mode) may release in one run, e.g. after the cron was down a day. */
const MAX_WINDOWS_PER_GROUP = 48;

type Group = { userId: string; type: NotificationType; mode: DigestMode };
type DigestRow = typeof notificationDigests.$inferSelect;
export type DigestReleaseResult = { claimed: number; summaries: number; failed: number };

/**
 * Where a user's windows are cut (docs/notifications.md, "Digests"): the quiet-hours zone if
 * they set one (the zone they told us about on purpose), else the zone of the device they
 * registered most recently, else UTC.
 */
export async function digestTimeZones(db: Db, userIds: string[]): Promise<Map<string, string>> {
  const zones = new Map<string, string>();
  for (const ids of chunk(userIds, 90)) {
    const [settings, deviceZones] = await Promise.all([
      db
        .select({ userId: notificationSettings.userId, timeZone: notificationSettings.timeZone })
        .from(notificationSettings)
        .where(and(inArray(notificationSettings.userId, ids), isNotNull(notificationSettings.timeZone))),
      db
        .select({ userId: devices.userId, timeZone: devices.timeZone })
        .from(devices)
        .where(and(inArray(devices.userId, ids), isNotNull(devices.timeZone)))
        .orderBy(desc(devices.updatedAt)),
    ]);
    // Validated when stored; re-checked so a zone the runtime's ICU data dropped cannot make
    // the user's windows fail on every run.
    for (const s of settings) if (s.timeZone && isValidTimeZone(s.timeZone)) zones.set(s.userId, s.timeZone);
    for (const d of deviceZones)
      if (d.timeZone && !zones.has(d.userId) && isValidTimeZone(d.timeZone)) zones.set(d.userId, d.timeZone);
  }
  return zones;
}

const pendingOf = (g: Group) =>
  and(
    eq(notifications.userId, g.userId),
    eq(notifications.type, g.type),
    eq(notifications.digest, g.mode),
    isNull(notifications.digestId),
  );

async function earliestPending(db: Db, g: Group): Promise<number | null> {
  const [row] = await db
    .select({ first: min(notifications.createdAt) })
    .from(notifications)
    .where(pendingOf(g));
  return row?.first ?? null;
}

/**
 * Claims window `w` for group `g`, in one transaction: inserts its digest row (only if items
 * wait in it; the unique (user, type, mode, window_start) lets one run win), gives every
 * pending item created before the window's end to it, and counts them. Items created before
 * the window but committed after this (a late arrival) stay pending and go to the next one.
 * Returns the row when this run won it.
 */
async function claimWindow(
  db: Db,
  g: Group,
  w: DigestWindow,
  timeZone: string,
  token: string,
): Promise<DigestRow | null> {
  const id = await derivedId("digest", g.userId, g.type, g.mode, String(w.start));
  const t = now();
  const d1 = db.$client;
  const pending = `user_id = ?1 AND type = ?2 AND digest = ?3 AND digest_id IS NULL AND created_at < ?4`;
  const mine = `id = ?5 AND claim_token = ?6 AND status = 'releasing'`;
  const [inserted] = await d1.batch([
    d1
      .prepare(
        `INSERT INTO notification_digests (id, user_id, type, mode, window_start, window_end, time_zone,
           item_count, status, claim_token, created_at, updated_at)
         SELECT ?5, ?1, ?2, ?3, ?7, ?4, ?8, 0, 'releasing', ?6, ?9, ?9
         WHERE EXISTS (SELECT 1 FROM notifications WHERE ${pending})
         ON CONFLICT DO NOTHING`,
      )
      .bind(g.userId, g.type, g.mode, w.end, id, token, w.start, timeZone, t),
    d1
      .prepare(
        `UPDATE notifications SET digest_id = ?5 WHERE ${pending}
           AND EXISTS (SELECT 1 FROM notification_digests WHERE ${mine})`,
      )
      .bind(g.userId, g.type, g.mode, w.end, id, token),
    d1
      .prepare(
        `UPDATE notification_digests SET item_count = (SELECT count(*) FROM notifications WHERE digest_id = ?5)
           WHERE ${mine}`,
      )
      .bind(g.userId, g.type, g.mode, w.end, id, token),
  ]);
  if (!inserted?.meta.changes) return null;
  const [row] = await db.select().from(notificationDigests).where(eq(notificationDigests.id, id));
  return row ?? null;
}

/**
 * Pushes a claimed window's summary through the ordinary pipeline (delivery rows, quiet hours,
 * the queue), then marks it released. Safe to run again, or twice at once: the summary's
 * notification and delivery ids derive from the digest id, so a re-run after a crash adds
 * what is missing and never queues a second push. No device: nothing is pushed, still released.
 */
async function pushSummary(deps: Deps, d: DigestRow): Promise<void> {
  const eventId = `digest:${d.id}`;
  const result = await notify(deps, {
    userIds: [d.userId],
    type: d.type,
    localized: (locale) => digestSummary(d.type, d.itemCount, locale),
    data: {
      digest_id: d.id,
      digest: d.mode,
      count: String(d.itemCount),
      window_start: toIso(d.windowStart) ?? "",
      window_end: toIso(d.windowEnd) ?? "",
    },
    eventId,
    digestSummary: true,
  });
  const [summary] = result.notification_ids.length
    ? result.notification_ids
    : (
        await deps.db
          .select({ id: notifications.id })
          .from(notifications)
          .where(and(eq(notifications.eventId, eventId), eq(notifications.userId, d.userId)))
      ).map((n) => n.id);
  await deps.db
    .update(notificationDigests)
    .set({ status: "released", summaryNotificationId: summary ?? null, updatedAt: now() })
    .where(and(eq(notificationDigests.id, d.id), eq(notificationDigests.status, "releasing")));
}

/**
 * Cron step (docs/notifications.md, "Digests"): finishes windows an earlier run claimed but
 * did not push (it crashed, or the queue refused), then claims every window that has ended by
 * `at` and has items, and pushes one summary per window. Each window and each group is
 * isolated: one failure is logged and left for the next run.
 */
export async function releaseDigests(deps: Deps, at: number = now()): Promise<DigestReleaseResult> {
  const result: DigestReleaseResult = { claimed: 0, summaries: 0, failed: 0 };
  const attempt = async (d: DigestRow) => {
    try {
      await pushSummary(deps, d);
      result.summaries++;
    } catch (err) {
      result.failed++;
      deps.logger.warn("digest summary not pushed; the next run resumes it", { digest_id: d.id, err });
    }
  };
  const unfinished = await deps.db
    .select()
    .from(notificationDigests)
    .where(eq(notificationDigests.status, "releasing"))
    .limit(MAX_RESUMED_PER_RUN);
  for (const d of unfinished) await attempt(d);

  const groups = await deps.db
    .select({
      userId: notifications.userId,
      type: notifications.type,
      mode: notifications.digest,
      first: min(notifications.createdAt),
    })
    .from(notifications)
    .where(and(isNotNull(notifications.digest), isNull(notifications.digestId)))
    .groupBy(notifications.userId, notifications.type, notifications.digest)
    // Oldest waiting first: a group whose earliest item is oldest is the likeliest to be due, so
    // a backlog of more than one run's groups drains in age order instead of an arbitrary one
    // (review: unordered, 500 not-yet-due groups could crowd out the due ones run after run).
    .orderBy(min(notifications.createdAt))
    .limit(MAX_GROUPS_PER_RUN);
  const zones = await digestTimeZones(deps.db, [...new Set(groups.map((g) => g.userId))]);
  const token = crypto.randomUUID();
  for (const { mode, first, ...rest } of groups) {
    if (!mode || first === null) continue;
    const g: Group = { ...rest, mode };
    const zone = zones.get(g.userId) ?? "UTC";
    try {
      let next: number | null = first;
      let floor = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < MAX_WINDOWS_PER_GROUP && next !== null; i++) {
        // After a window, the next one starts at its end even if the earliest item is older:
        // such an item arrived after its own window was released.
        const w = digestWindow(Math.max(next, floor), g.mode, zone);
        if (w.end > at) break;
        const claimed = await claimWindow(deps.db, g, w, zone, token);
        if (claimed) {
          result.claimed++;
          await attempt(claimed);
        }
        floor = w.end;
        next = await earliestPending(deps.db, g);
      }
    } catch (err) {
      result.failed++;
      deps.logger.warn("digest release failed for a group; the next run retries", { ...g, err });
    }
  }
  return result;
}
