import { and, eq, exists, inArray, notInArray } from "drizzle-orm";
import { devices, notificationDeliveries, notifications } from "../db/schema";
import type { Deps } from "../platform/deps";
import { notFound } from "../platform/errors";
import { newId, now, toIso } from "../platform/ids";
import { canonicalLocale } from "./templates/index";

export type DeviceInput = {
  token: string;
  platform: "android" | "ios" | "web";
  model?: string | undefined;
  os_version?: string | undefined;
  app_version?: string | undefined;
  locale?: string | undefined;
  time_zone?: string | undefined;
};

export type DeviceOut = {
  id: string;
  platform: "android" | "ios" | "web";
  model: string | null;
  os_version: string | null;
  app_version: string | null;
  locale: string | null;
  time_zone: string | null;
  created_at: string;
  updated_at: string;
};

function shape(d: typeof devices.$inferSelect): DeviceOut {
  return {
    id: d.id,
    platform: d.platform,
    model: d.model,
    os_version: d.osVersion,
    app_version: d.appVersion,
    locale: d.locale,
    time_zone: d.timeZone,
    created_at: toIso(d.createdAt) ?? "",
    updated_at: toIso(d.updatedAt) ?? "",
  };
}

/**
 * Upsert by token (unique): re-registering updates the row and moves it to the caller.
 * Pushes still pending for the token's previous owner are cancelled in the same batch,
 * so one user's notification never lands on a phone that now belongs to someone else.
 */
export async function registerDevice(
  { db }: Pick<Deps, "db">,
  userId: string,
  input: DeviceInput,
): Promise<{ device: DeviceOut; created: boolean }> {
  const t = now();
  const id = newId();
  const info = {
    userId,
    platform: input.platform,
    model: input.model ?? null,
    osVersion: input.os_version ?? null,
    appVersion: input.app_version ?? null,
    // Canonical ("fr_ca" → "fr-CA"); the schema refused anything that is not a tag.
    locale: input.locale ? canonicalLocale(input.locale) : null,
    timeZone: input.time_zone ?? null,
    updatedAt: t,
  };
  const [upserted] = await db.batch([
    db
      .insert(devices)
      .values({ id, token: input.token, createdAt: t, ...info })
      .onConflictDoUpdate({ target: devices.token, set: info })
      .returning(),
    db
      .update(notificationDeliveries)
      .set({ status: "failed", errorCode: "DEVICE_REASSIGNED", updatedAt: t })
      .where(
        and(
          eq(notificationDeliveries.token, input.token),
          inArray(notificationDeliveries.status, ["queued", "held"]),
          // Pending rows are few (status index); the caller's own stay untouched.
          notInArray(
            notificationDeliveries.notificationId,
            db.select({ id: notifications.id }).from(notifications).where(eq(notifications.userId, userId)),
          ),
        ),
      ),
  ]);
  const row = upserted[0];
  if (!row) throw new Error("device upsert returned no row");
  return { device: shape(row), created: row.id === id };
}

export async function listDevices({ db }: Pick<Deps, "db">, userId: string): Promise<DeviceOut[]> {
  const rows = await db.select().from(devices).where(eq(devices.userId, userId)).orderBy(devices.createdAt);
  return rows.map(shape);
}

/**
 * Only the owner may remove a device; anyone else gets the same 404 as for a missing id.
 * Its queued and held pushes (a quiet-hours backlog) are cancelled in the same batch, before
 * the delete and only if the caller owns the device, so a lost phone gets nothing more.
 */
export async function deleteDevice({ db }: Pick<Deps, "db">, userId: string, id: string): Promise<void> {
  const owned = and(eq(devices.id, id), eq(devices.userId, userId));
  const [, gone] = await db.batch([
    db
      .update(notificationDeliveries)
      .set({ status: "failed", errorCode: "DEVICE_DELETED", updatedAt: now() })
      .where(
        and(
          eq(notificationDeliveries.deviceId, id),
          inArray(notificationDeliveries.status, ["queued", "held"]),
          exists(db.select({ id: devices.id }).from(devices).where(owned)),
        ),
      ),
    db.delete(devices).where(owned).returning({ id: devices.id }),
  ]);
  if (gone.length === 0) throw notFound("Device");
}
