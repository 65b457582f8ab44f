import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { releaseHeldPushes } from "../../src/notifications/housekeeping";
import { testDeps } from "../helpers/deps";
import { sentMessages } from "../helpers/google";
import {
  adminTestSend,
  api,
  type Caller,
  deliveriesOf,
  deliveryRow,
  newCaller,
  postJson,
  registerDevice,
  runPushJobRecording,
  seedQueued,
  settled,
  uid,
} from "./helpers";

/** A quiet window around the current UTC time, so a non-critical push is held. */
function quietNow(): { start: string; end: string; time_zone: string } {
  const h = new Date().getUTCHours();
  const pad = (n: number) => String((n + 24) % 24).padStart(2, "0");
  return { start: `${pad(h - 1)}:00`, end: `${pad(h + 1)}:00`, time_zone: "UTC" };
}

const deleteDevice = (caller: Caller, id: string) =>
  api(`/api/v1/notifications/devices/${id}`, { method: "DELETE", headers: caller.headers });

/** A user in quiet hours with two devices and one held push to each. */
async function heldBacklog() {
  const user = await newCaller("user");
  const lost = { token: `ok-${uid()}-lost` };
  const kept = { token: `ok-${uid()}-kept` };
  const lostDevice = await registerDevice(user, lost.token, "ios");
  const keptDevice = await registerDevice(user, kept.token, "android");
  const prefs = await postJson(
    "/api/v1/notifications/preferences",
    { quiet_hours: quietNow() },
    user.headers,
  );
  expect(prefs.status).toBe(200);
  const res = await adminTestSend({ user_id: user.sub, type: "support_ticket_response" });
  expect(res).toMatchObject({ queued: 0, held: 2 });
  return { user, lost, kept, lostDevice, keptDevice, notificationId: res.notification_ids[0] ?? "" };
}

describe("deleting a device cancels its pending pushes (issue 13, item 5)", () => {
  it("held (quiet hours) and queued pushes of the deleted device are cancelled; the release sends only to the others", async () => {
    const { user, lost, kept, lostDevice, keptDevice, notificationId } = await heldBacklog();
    // A queued push too, as a job not yet consumed leaves it.
    const t = Date.now();
    const queuedNotification = crypto.randomUUID();
    const queuedDelivery = crypto.randomUUID();
    await env.DB.batch([
      env.DB.prepare(
        `insert into notifications (id, user_id, type, title, body, data, silent, event_id, in_app, created_at)
         values (?, ?, 'security_alert', 'T', 'B', '{}', 0, ?, 1, ?)`,
      ).bind(queuedNotification, user.sub, `seed:${queuedDelivery}`, t),
      env.DB.prepare(
        `insert into notification_deliveries (id, notification_id, device_id, token, platform, status, attempts, created_at, updated_at)
         values (?, ?, ?, ?, 'ios', 'queued', 0, ?, ?)`,
      ).bind(queuedDelivery, queuedNotification, lostDevice.id, lost.token, t, t),
    ]);

    expect((await deleteDevice(user, lostDevice.id)).status).toBe(204);
    const byDevice = new Map((await deliveriesOf(user, notificationId)).map((d) => [d.device_id, d]));
    expect(byDevice.get(lostDevice.id)).toMatchObject({ status: "failed", error_code: "DEVICE_DELETED" });
    expect(byDevice.get(keptDevice.id)).toMatchObject({ status: "held" });
    expect(await deliveryRow(queuedDelivery)).toMatchObject({
      status: "failed",
      error_code: "DEVICE_DELETED",
    });

    // Quiet hours end: only the device still registered gets the backlog.
    await releaseHeldPushes(testDeps(), Date.now() + 3 * 3_600_000);
    const after = new Map((await settled(user, notificationId)).map((d) => [d.device_id, d]));
    expect(after.get(keptDevice.id)).toMatchObject({ status: "sent" });
    expect(after.get(lostDevice.id)).toMatchObject({ status: "failed", error_code: "DEVICE_DELETED" });
    // The job of the queued row arriving late sends nothing either.
    expect(await runPushJobRecording({ v: 1, delivery_ids: [queuedDelivery] }, 1)).toEqual([{ kind: "ack" }]);
    expect(await sentMessages(kept.token)).toHaveLength(1);
    expect(await sentMessages(lost.token)).toEqual([]);
  });

  it("someone else's device id is a 404 and cancels nothing of theirs", async () => {
    const { lostDevice, notificationId, user } = await heldBacklog();
    const intruder = await newCaller("user");
    expect((await deleteDevice(intruder, lostDevice.id)).status).toBe(404);
    const rows = await deliveriesOf(user, notificationId);
    expect(rows.map((d) => d.status)).toEqual(["held", "held"]);
  });

  it("a job already in flight for a device deleted since sends nothing and settles the row", async () => {
    const token = `ok-${uid()}-gone`;
    const seeded = await seedQueued({ token, platform: "android" });
    // Gone another way than the API delete (e.g. its token came back UNREGISTERED for another push).
    await env.DB.prepare("delete from devices where id = ?").bind(seeded.deviceId).run();
    expect(await runPushJobRecording({ v: 1, delivery_ids: [seeded.deliveryId] }, 1)).toEqual([
      { kind: "ack" },
    ]);
    expect(await deliveryRow(seeded.deliveryId)).toMatchObject({
      status: "failed",
      error_code: "DEVICE_DELETED",
      attempts: 0,
    });
    expect(await sentMessages(token)).toEqual([]);
  });
});
