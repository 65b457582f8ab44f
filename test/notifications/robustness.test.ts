import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { dbFor } from "../../src/db/client";
import worker from "../../src/index";
import { claimPending, loadPending } from "../../src/notifications/deliveries.service";
import {
  requeueStalePushes,
  requeueStuckSending,
  SENDING_STALE_MS,
  STALE_QUEUED_MS,
} from "../../src/notifications/housekeeping";
import { enqueuePush } from "../../src/notifications/notify";
import { testDeps } from "../helpers/deps";
import { eventually } from "../helpers/eventually";
import { sentMessages } from "../helpers/google";
import {
  deliveryRow,
  newCaller,
  notificationFor,
  publishEvent,
  registerDevice,
  seedQueued,
  settled,
  uid,
} from "./helpers";

// Findings 2 and 3 of BENCHMARKS.md: FCM-reserved data keys, and fan-outs that never finished.

async function runJob(body: unknown, attempts = 1) {
  const batch = createMessageBatch("push", [{ id: `msg-${uid()}`, timestamp: new Date(), attempts, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

const RESERVED = (k: string) =>
  k === "from" || k === "notification" || k === "message_type" || /^(google|gcm)/.test(k);

describe("data keys FCM reserves", () => {
  it("campaign.status_changed is delivered: sent at the emulator, with from_status/to_status", async () => {
    const merchant = await newCaller("merchant");
    const token = `ok-${uid()}-campaign`;
    await registerDevice(merchant, token, "android");
    const { res, eventId } = await publishEvent("campaign.status_changed", {
      campaign_id: "cmp_reserved",
      merchant_id: "m_1",
      user_ids: [merchant.sub],
      from: "draft",
      to: "active",
    });
    expect(res.status).toBe(202);
    const notificationId = await notificationFor(eventId, merchant.sub);
    const [d] = await settled(merchant, notificationId ?? "");
    expect(d).toMatchObject({ status: "sent", error_code: null });
    const [message] = await sentMessages(token);
    expect(message?.message.data).toMatchObject({
      campaign_id: "cmp_reserved",
      from_status: "draft",
      to_status: "active",
    });
    expect(Object.keys(message?.message.data ?? {}).filter(RESERVED)).toEqual([]);
  });

  it("the message builder renames reserved keys in stored data (a taken name drops the key)", async () => {
    const token = `ok-${uid()}-reserved`;
    const s = await seedQueued({
      token,
      data: {
        from: "a",
        message_type: "b",
        "google.c": "c",
        gcm_d: "d",
        notification: "e",
        data_from: "kept",
      },
    });
    const result = await runJob({ v: 1, delivery_ids: [s.deliveryId] });
    expect(result.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({ status: "sent", error_code: null });
    const [message] = await sentMessages(token);
    expect(message?.message.data).toEqual({
      data_from: "kept",
      data_message_type: "b",
      "data_google.c": "c",
      data_gcm_d: "d",
      data_notification: "e",
      notification_id: s.notificationId,
      type: "feature_flag_enabled",
    });
  });
});

describe("a fan-out always completes", () => {
  it("rows a dead run left `sending` are not re-sent by the job's retry; the cron re-queues them once, then they are sent", async () => {
    const tokens = [0, 1, 2].map((i) => `ok-${uid()}-claimed-${i}`);
    const rows = await Promise.all(tokens.map((token) => seedQueued({ token })));
    const ids = rows.map((r) => r.deliveryId);
    const db = dbFor(env.DB);
    // What a cancelled consumer leaves behind: rows claimed (`sending`), nothing recorded. Its
    // requests may or may not have reached FCM; a retry of the job must not send them again.
    expect(await claimPending(db, await loadPending(db, ids), "dead-run")).toHaveLength(3);
    const retry = await runJob({ v: 1, delivery_ids: ids }, 2);
    expect(retry.explicitAcks).toHaveLength(1);
    for (const id of ids) expect(await deliveryRow(id)).toMatchObject({ status: "sending", attempts: 1 });
    for (const token of tokens) expect(await sentMessages(token)).toHaveLength(0);

    const deps = testDeps();
    // A claim younger than any run can live is left alone.
    expect(await requeueStuckSending(deps, Date.now() + SENDING_STALE_MS - 60_000)).toBe(0);
    expect(await requeueStuckSending(deps, Date.now() + SENDING_STALE_MS + 1000)).toBeGreaterThanOrEqual(3);
    for (const id of ids) {
      const row = await eventually(async () => {
        const r = await deliveryRow(id);
        return r?.status === "sent" ? r : undefined;
      }, "the re-queued delivery to be sent");
      expect(row.attempts).toBe(2);
    }
    for (const token of tokens) expect(await sentMessages(token)).toHaveLength(1);
  });

  it("queued rows whose queue message was lost are re-enqueued by the cron and then sent", async () => {
    const token = `ok-${uid()}-lost`;
    const s = await seedQueued({ token });
    const deps = testDeps();
    // Not stale yet: nothing happens.
    await requeueStalePushes(deps);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({ status: "queued", attempts: 0 });
    expect(await requeueStalePushes(deps, Date.now() + STALE_QUEUED_MS + 1000)).toBeGreaterThanOrEqual(1);
    const row = await eventually(async () => {
      const r = await deliveryRow(s.deliveryId);
      return r?.status === "sent" ? r : undefined;
    }, "the re-enqueued delivery to be sent");
    expect(row.attempts).toBe(1);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("a 10,000-delivery fan-out is enqueued whole (sendBatch is bounded by bytes, not only count)", async () => {
    // Ids of rows that do not exist: the consumer finds nothing queued and acks every job.
    const ids = Array.from({ length: 10_000 }, () => crypto.randomUUID());
    await expect(enqueuePush({ env }, ids)).resolves.toBeUndefined();
  });
});
