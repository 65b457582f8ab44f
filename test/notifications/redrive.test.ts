import { createExecutionContext, createMessageBatch } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { eventually } from "../helpers/eventually";
import { breakThirdPartyAuth, sentMessages } from "../helpers/google";
import { expectEnvelope } from "../helpers/http";
import { deliveryRow, newCaller, postJson, runPushJobRecording, seedQueued, uid } from "./helpers";

// Issue 13 item 2: dead-lettered pushes had no way back.
const PATH = "/api/v1/notifications/admin/redrive";
type Redrive = { redriven: number; delivery_ids: string[]; deferred: number; more: boolean };

async function redrive(body: Record<string, unknown>): Promise<Redrive> {
  const admin = await newCaller("admin");
  const res = await postJson(PATH, body, admin.headers);
  if (res.status !== 202) throw new Error(`redrive: ${res.status} ${await res.text()}`);
  return res.json<Redrive>();
}

/** Seeds queued deliveries and runs the real DLQ consumer on them, as after exhausted retries. */
async function deadLettered(tokens: string[]) {
  const seeded = [];
  for (const token of tokens) seeded.push(await seedQueued({ token }));
  const batch = createMessageBatch("push-dlq", [
    {
      id: `dlq-${uid()}`,
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, delivery_ids: seeded.map((s) => s.deliveryId) },
    },
  ]);
  await worker.queue(batch, env, createExecutionContext());
  for (const s of seeded) expect((await deliveryRow(s.deliveryId))?.status).toBe("dead_lettered");
  return seeded;
}

/** Seeded rows belong to one user each; this puts them under one user so a filter finds them all. */
async function sameUser(seeded: Array<{ notificationId: string; deviceId: string }>): Promise<string> {
  const userId = crypto.randomUUID();
  for (const s of seeded) {
    await env.DB.prepare("update notifications set user_id = ? where id = ?")
      .bind(userId, s.notificationId)
      .run();
    await env.DB.prepare("update devices set user_id = ? where id = ?").bind(userId, s.deviceId).run();
  }
  return userId;
}

const sentOnce = (id: string) =>
  eventually(async () => ((await deliveryRow(id))?.status === "sent" ? true : undefined), `${id} to be sent`);

describe("POST /notifications/admin/redrive", () => {
  it("queues dead-lettered deliveries again; they are sent once, and a repeated call re-drives nothing", async () => {
    const tokens = [`ok-${uid()}-dl0`, `ok-${uid()}-dl1`];
    const seeded = await deadLettered(tokens);
    const userId = await sameUser(seeded);
    const first = await redrive({ user_id: userId });
    expect(first).toMatchObject({ redriven: 2, deferred: 0, more: false });
    expect(first.delivery_ids.sort()).toEqual(seeded.map((s) => s.deliveryId).sort());
    for (const s of seeded) await sentOnce(s.deliveryId);
    expect(await redrive({ user_id: userId })).toMatchObject({ redriven: 0, delivery_ids: [] });
    for (const t of tokens) expect(await sentMessages(t)).toHaveLength(1);
  });

  it("concurrent re-drives split the rows: each delivery is queued by one call and sent once", async () => {
    const tokens = [0, 1, 2, 3].map((i) => `ok-${uid()}-par${i}`);
    const seeded = await deadLettered(tokens);
    const userId = await sameUser(seeded);
    const results = await Promise.all([redrive({ user_id: userId }), redrive({ user_id: userId })]);
    const ids = results.flatMap((r) => r.delivery_ids);
    expect(ids.sort()).toEqual(seeded.map((s) => s.deliveryId).sort());
    for (const s of seeded) await sentOnce(s.deliveryId);
    for (const t of tokens) expect(await sentMessages(t)).toHaveLength(1);
  });

  it("is bounded: `limit` per call, `more` says to call again", async () => {
    const seeded = await deadLettered([0, 1, 2].map((i) => `ok-${uid()}-lim${i}`));
    const userId = await sameUser(seeded);
    expect(await redrive({ user_id: userId, limit: 2 })).toMatchObject({ redriven: 2, more: true });
    expect(await redrive({ user_id: userId, limit: 2 })).toMatchObject({ redriven: 1, more: false });
  });

  it("never re-drives to a deleted device or to a token now registered by someone else", async () => {
    const [gone, moved] = await deadLettered([`ok-${uid()}-gone`, `ok-${uid()}-moved`]);
    if (!gone || !moved) throw new Error("seed");
    await env.DB.prepare("delete from devices where id = ?").bind(gone.deviceId).run();
    await env.DB.prepare("update devices set user_id = ? where id = ?")
      .bind(crypto.randomUUID(), moved.deviceId)
      .run();
    expect((await redrive({ notification_id: gone.notificationId })).redriven).toBe(0);
    expect((await redrive({ notification_id: moved.notificationId })).redriven).toBe(0);
    expect((await deliveryRow(moved.deliveryId))?.status).toBe("dead_lettered");
  });

  it("re-drives a delivery whose token copy the retention blanked, to the device's current token (review of issue 13, item 4)", async () => {
    const [s] = await deadLettered([`ok-${uid()}-old`]);
    if (!s) throw new Error("seed");
    const current = `ok-${uid()}-current`;
    // 30 days on: the retention job blanked the copy, and the app has since refreshed its token.
    await env.DB.prepare("update notification_deliveries set token = '' where id = ?")
      .bind(s.deliveryId)
      .run();
    await env.DB.prepare("update devices set token = ? where id = ?").bind(current, s.deviceId).run();
    expect((await redrive({ notification_id: s.notificationId })).redriven).toBe(1);
    await sentOnce(s.deliveryId);
    expect(await sentMessages(current)).toHaveLength(1);
  });

  it("re-drives THIRD_PARTY_AUTH_ERROR failures once the credentials are fixed, only when asked for them", async () => {
    const prefix = `apns${uid()}-`;
    const s = await seedQueued({ token: `${prefix}0`, platform: "ios" });
    await breakThirdPartyAuth(prefix, 1);
    expect(await runPushJobRecording({ v: 1, delivery_ids: [s.deliveryId] }, 1)).toEqual([{ kind: "ack" }]);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({
      status: "failed",
      error_code: "THIRD_PARTY_AUTH_ERROR",
    });
    const filter = { notification_id: s.notificationId };
    expect((await redrive({ ...filter, kinds: ["dead_lettered"] })).redriven).toBe(0);
    expect((await redrive({ ...filter, kinds: ["third_party_auth"], platform: "ios" })).redriven).toBe(1);
    await sentOnce(s.deliveryId);
    expect(await sentMessages(`${prefix}0`)).toHaveLength(1);
  });

  it("refuses bad filters with a 400 envelope and moves nothing", async () => {
    const [s] = await deadLettered([`ok-${uid()}-bad`]);
    const admin = await newCaller("admin");
    for (const body of [
      { notification_id: s?.notificationId, limit: 0 },
      { notification_id: s?.notificationId, limit: 1001 },
      { notification_id: s?.notificationId, kinds: [] },
      { notification_id: s?.notificationId, kinds: ["sent"] },
      { notification_id: s?.notificationId, since: "yesterday" },
      { notification_id: s?.notificationId, status: "failed" },
    ]) {
      await expectEnvelope(await postJson(PATH, body, admin.headers), 400, "VALIDATION_FAILED");
    }
    expect((await deliveryRow(s?.deliveryId ?? ""))?.status).toBe("dead_lettered");
  });
});
