import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sendTestNotification } from "../../src/notifications/admin.service";
import { releaseHeldPushes } from "../../src/notifications/housekeeping";
import type { Deps } from "../../src/platform/deps";
import { testDeps } from "../helpers/deps";
import { sentMessages } from "../helpers/google";
import { deliveryRow, newCaller, registerDevice, settled, uid } from "./helpers";

// Review of issue 13, item 2: a push whose Queue send failed after its rows were committed
// (`failed`, ENQUEUE_FAILED) was revived only by a retry of the notifications sink, so a test
// send, or a sink delivery that had given up, never sent it. The 5-minute cron now re-enqueues it.

/** Deps whose push queue refuses every send: the outage, nothing else is a stand-in. */
function queueDown(): Deps {
  const deps = testDeps();
  const PUSH_QUEUE = {
    send: () => Promise.reject(new Error("queue unavailable")),
    sendBatch: () => Promise.reject(new Error("queue unavailable")),
  } as unknown as Queue;
  return { ...deps, env: { ...deps.env, PUSH_QUEUE } };
}

/** A user with two devices and a notification whose pushes the queue refused. */
async function refusedSend() {
  const user = await newCaller("user");
  const tokens = [`ok-${uid()}-eq0`, `ok-${uid()}-eq1`];
  for (const t of tokens) await registerDevice(user, t);
  const send = sendTestNotification(queueDown(), {
    user_id: user.sub,
    type: "payment_received",
    title: "T",
    body: "B",
    silent: false,
  });
  await expect(send).rejects.toThrow(/enqueue failed/);
  const rows = await env.DB.prepare(
    `SELECT d.id, d.status, d.error_code FROM notification_deliveries d
     JOIN notifications n ON n.id = d.notification_id WHERE n.user_id = ?`,
  )
    .bind(user.sub)
    .all<{ id: string; status: string; error_code: string }>();
  expect(rows.results.map((r) => [r.status, r.error_code])).toEqual([
    ["failed", "ENQUEUE_FAILED"],
    ["failed", "ENQUEUE_FAILED"],
  ]);
  const notification = await env.DB.prepare("SELECT id FROM notifications WHERE user_id = ?")
    .bind(user.sub)
    .first<{ id: string }>();
  return { user, tokens, ids: rows.results.map((r) => r.id), notificationId: notification?.id ?? "" };
}

describe("pushes whose enqueue failed after the commit", () => {
  it("are re-enqueued by the cron and sent once each, even by two overlapping cron runs", async () => {
    const { user, tokens, notificationId } = await refusedSend();
    await Promise.all([releaseHeldPushes(testDeps()), releaseHeldPushes(testDeps())]);
    const deliveries = await settled(user, notificationId);
    expect(deliveries.map((d) => d.status)).toEqual(["sent", "sent"]);
    for (const t of tokens) expect(await sentMessages(t)).toHaveLength(1);
  });

  it("stay ENQUEUE_FAILED for the next run while the queue still refuses them", async () => {
    const { user, tokens, ids, notificationId } = await refusedSend();
    await releaseHeldPushes(queueDown());
    for (const id of ids)
      expect(await deliveryRow(id)).toMatchObject({ status: "failed", error_code: "ENQUEUE_FAILED" });
    await releaseHeldPushes(testDeps());
    expect((await settled(user, notificationId)).map((d) => d.status)).toEqual(["sent", "sent"]);
    for (const t of tokens) expect(await sentMessages(t)).toHaveLength(1);
  });
});
