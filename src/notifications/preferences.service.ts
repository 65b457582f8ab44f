import { and, eq, inArray } from "drizzle-orm";
import { type DeliveryMode, notificationPreferences, notificationSettings } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import { now } from "../platform/ids";
import type { Db } from "../platform/types";
import type { QuietHours } from "./quiet-hours";
import { isCritical, NOTIFICATION_TYPES, type NotificationType } from "./types";

export type TypePreference = {
  type: NotificationType;
  push: boolean;
  in_app: boolean;
  /** instant, or one summary push per hourly/daily window (docs/notifications.md, "Digests"). */
  delivery: DeliveryMode;
  critical: boolean;
};
export type Preferences = { preferences: TypePreference[]; quiet_hours: QuietHoursOut | null };
type QuietHoursOut = { start: string; end: string; time_zone: string };

export type PreferenceUpdate = {
  preferences?: Array<{ type: NotificationType; push?: boolean; in_app?: boolean; delivery?: DeliveryMode }>;
  /** null clears quiet hours; undefined leaves them as they are. */
  quiet_hours?: QuietHoursOut | null;
};

// D1 binds at most 100 parameters per statement.
const IN_CHUNK = 90;
export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export async function getPreferences({ db }: Pick<Deps, "db">, userId: string): Promise<Preferences> {
  const [rows, settings] = await Promise.all([
    db.select().from(notificationPreferences).where(eq(notificationPreferences.userId, userId)),
    db.select().from(notificationSettings).where(eq(notificationSettings.userId, userId)),
  ]);
  const byType = new Map(rows.map((r) => [r.type, r]));
  const s = settings[0];
  return {
    preferences: NOTIFICATION_TYPES.map((type) => {
      const critical = isCritical(type);
      const row = byType.get(type);
      return {
        type,
        push: critical || (row?.push ?? true),
        in_app: critical || (row?.inApp ?? true),
        delivery: critical ? "instant" : (row?.delivery ?? "instant"),
        critical,
      };
    }),
    quiet_hours:
      s?.quietStart && s.quietEnd && s.timeZone
        ? { start: s.quietStart, end: s.quietEnd, time_zone: s.timeZone }
        : null,
  };
}

/**
 * Applies a partial update atomically; a critical type switched off, or set to a digest, is a
 * 422 and nothing is written.
 */
export async function updatePreferences(
  deps: Pick<Deps, "db">,
  userId: string,
  update: PreferenceUpdate,
): Promise<Preferences> {
  const critical = (update.preferences ?? []).filter((p) => isCritical(p.type));
  const muted = critical.filter((p) => p.push === false || p.in_app === false);
  const digested = critical.filter((p) => p.delivery !== undefined && p.delivery !== "instant");
  if (muted.length > 0 || digested.length > 0) {
    throw new ApiError(
      "UNPROCESSABLE",
      "security_alert is critical and cannot be turned off or digested: it warns you about access to your account",
      {
        details: [
          ...muted.map((p) => ({ path: `preferences.${p.type}`, message: "critical type cannot be muted" })),
          ...digested.map((p) => ({
            path: `preferences.${p.type}.delivery`,
            message: "critical type is always delivered instantly",
          })),
        ],
      },
    );
  }
  const { db } = deps;
  const current = await getPreferences(deps, userId);
  const t = now();
  const writes = [];
  for (const p of update.preferences ?? []) {
    if (isCritical(p.type)) continue;
    const prev = current.preferences.find((c) => c.type === p.type);
    const push = p.push ?? prev?.push ?? true;
    const inApp = p.in_app ?? prev?.in_app ?? true;
    const delivery = p.delivery ?? prev?.delivery ?? "instant";
    writes.push(
      db
        .insert(notificationPreferences)
        .values({ userId, type: p.type, push, inApp, delivery, updatedAt: t })
        .onConflictDoUpdate({
          target: [notificationPreferences.userId, notificationPreferences.type],
          set: { push, inApp, delivery, updatedAt: t },
        }),
    );
  }
  if (update.quiet_hours !== undefined) {
    const q = update.quiet_hours;
    const values = { quietStart: q?.start ?? null, quietEnd: q?.end ?? null, timeZone: q?.time_zone ?? null };
    writes.push(
      db
        .insert(notificationSettings)
        .values({ userId, ...values, updatedAt: t })
        .onConflictDoUpdate({ target: notificationSettings.userId, set: { ...values, updatedAt: t } }),
    );
  }
  const [first, ...rest] = writes;
  if (first) await db.batch([first, ...rest]);
  return getPreferences(deps, userId);
}

export type Recipient = {
  userId: string;
  push: boolean;
  inApp: boolean;
  delivery: DeliveryMode;
  quietHours: QuietHours | null;
};

/** Effective channels and quiet hours for many users at once (for notify). */
export async function recipientsFor(db: Db, userIds: string[], type: NotificationType): Promise<Recipient[]> {
  const critical = isCritical(type);
  const prefs = new Map<string, { push: boolean; inApp: boolean; delivery: DeliveryMode }>();
  const quiet = new Map<string, QuietHours>();
  for (const ids of chunk(userIds, IN_CHUNK)) {
    const [p, s] = await Promise.all([
      critical
        ? Promise.resolve([])
        : db
            .select()
            .from(notificationPreferences)
            .where(and(eq(notificationPreferences.type, type), inArray(notificationPreferences.userId, ids))),
      db.select().from(notificationSettings).where(inArray(notificationSettings.userId, ids)),
    ]);
    for (const r of p) prefs.set(r.userId, { push: r.push, inApp: r.inApp, delivery: r.delivery });
    for (const r of s) {
      if (r.quietStart && r.quietEnd && r.timeZone)
        quiet.set(r.userId, { start: r.quietStart, end: r.quietEnd, timeZone: r.timeZone });
    }
  }
  return userIds.map((userId) => ({
    userId,
    push: critical || (prefs.get(userId)?.push ?? true),
    inApp: critical || (prefs.get(userId)?.inApp ?? true),
    // Critical types are never digested.
    delivery: critical ? "instant" : (prefs.get(userId)?.delivery ?? "instant"),
    // Critical alerts bypass quiet hours.
    quietHours: critical ? null : (quiet.get(userId) ?? null),
  }));
}
