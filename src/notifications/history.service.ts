import { and, asc, count, desc, eq, isNotNull, isNull, lt, or } from "drizzle-orm";
import { notificationDeliveries, notifications } from "../db/schema";
import type { Deps } from "../platform/deps";
import { notFound } from "../platform/errors";
import { now, toIso } from "../platform/ids";
import { decodeCursor, pageOf } from "../platform/pagination";
import type { Db, Principal } from "../platform/types";
import type { NotificationType } from "./types";

export type NotificationOut = {
  id: string;
  type: NotificationType;
  title: string;
  body: string;
  data: Record<string, string>;
  silent: boolean;
  read: boolean;
  read_at: string | null;
  created_at: string;
};

export function shapeNotification(n: typeof notifications.$inferSelect): NotificationOut {
  return {
    id: n.id,
    type: n.type,
    title: n.title,
    body: n.body,
    data: n.data ?? {},
    silent: n.silent,
    read: n.readAt !== null,
    read_at: toIso(n.readAt),
    created_at: toIso(n.createdAt) ?? "",
  };
}

export type HistoryQuery = {
  limit: number;
  cursor?: string | undefined;
  status?: "read" | "unread" | "all" | undefined;
  type?: NotificationType | undefined;
};

const visible = (userId: string) => and(eq(notifications.userId, userId), eq(notifications.inApp, true));

async function unreadCount(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(notifications)
    .where(and(visible(userId), isNull(notifications.readAt)));
  return row?.n ?? 0;
}

/** The in-app history, newest first, keyset-paginated on (created_at, id). */
export async function listHistory({ db }: Pick<Deps, "db">, userId: string, q: HistoryQuery) {
  const cursor = decodeCursor(q.cursor);
  const filters = [visible(userId)];
  if (q.status === "read") filters.push(isNotNull(notifications.readAt));
  if (q.status === "unread") filters.push(isNull(notifications.readAt));
  if (q.type) filters.push(eq(notifications.type, q.type));
  if (cursor) {
    const before = or(
      lt(notifications.createdAt, cursor.t),
      and(eq(notifications.createdAt, cursor.t), lt(notifications.id, cursor.id)),
    );
    if (before) filters.push(before);
  }
  const [rows, unread] = await Promise.all([
    db
      .select()
      .from(notifications)
      .where(and(...filters))
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(q.limit + 1),
    unreadCount(db, userId),
  ]);
  const page = pageOf(rows, q.limit, (r) => ({ t: r.createdAt, id: r.id }));
  return { items: page.items.map(shapeNotification), next_cursor: page.next_cursor, unread_count: unread };
}

/** Someone else's id is a 404, exactly like a missing one. Reading twice keeps the first read_at. */
export async function markRead(
  { db }: Pick<Deps, "db">,
  userId: string,
  id: string,
): Promise<NotificationOut> {
  const mine = and(eq(notifications.id, id), eq(notifications.userId, userId));
  await db
    .update(notifications)
    .set({ readAt: now() })
    .where(and(mine, isNull(notifications.readAt)));
  const [row] = await db.select().from(notifications).where(mine);
  if (!row) throw notFound("Notification");
  return shapeNotification(row);
}

export async function markAllRead(
  { db }: Pick<Deps, "db">,
  userId: string,
): Promise<{ updated: number; unread_count: number }> {
  const rows = await db
    .update(notifications)
    .set({ readAt: now() })
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt)))
    .returning({ id: notifications.id });
  return { updated: rows.length, unread_count: await unreadCount(db, userId) };
}

export type DeliveryOut = {
  id: string;
  device_id: string;
  platform: string;
  status: (typeof notificationDeliveries.$inferSelect)["status"];
  fcm_message_name: string | null;
  error_code: string | null;
  attempts: number;
  not_before: string | null;
  created_at: string;
  updated_at: string;
};

/** Per-device delivery state, for the notification's owner or an admin (others: 404). */
export async function listDeliveries({ db }: Pick<Deps, "db">, caller: Principal, notificationId: string) {
  const [n] = await db
    .select({ userId: notifications.userId })
    .from(notifications)
    .where(eq(notifications.id, notificationId));
  if (!n || (n.userId !== caller.userId && caller.role !== "admin")) throw notFound("Notification");
  const rows = await db
    .select()
    .from(notificationDeliveries)
    .where(eq(notificationDeliveries.notificationId, notificationId))
    .orderBy(asc(notificationDeliveries.createdAt), asc(notificationDeliveries.id));
  const items: DeliveryOut[] = rows.map((d) => ({
    id: d.id,
    device_id: d.deviceId,
    platform: d.platform,
    status: d.status,
    fcm_message_name: d.fcmMessageName,
    error_code: d.errorCode,
    attempts: d.attempts,
    not_before: toIso(d.notBefore),
    created_at: toIso(d.createdAt) ?? "",
    updated_at: toIso(d.updatedAt) ?? "",
  }));
  return { notification_id: notificationId, items };
}
