import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { THIRD_PARTY_AUTH_ERROR } from "../../src/notifications/fcm/client";
import { PUSH_MAX_RETRIES } from "../../src/notifications/retry-schedule";
import { bodyOf } from "../helpers/body";
import { eventually } from "../helpers/eventually";
import {
  breakThirdPartyAuth,
  faultsLeft,
  googleStats,
  revokeGoogleTokens,
  sentMessages,
} from "../helpers/google";
import {
  adminTestSend,
  api,
  deliveryRow,
  deviceExists,
  newCaller,
  registerDevice,
  runPushJobRecording,
  seedQueued,
  settled,
  uid,
} from "./helpers";

let seq = 0;
/**
 * Runs the worker's real queue handler (src/index.ts `queue`) on one job, as the queue
 * would on attempt `attempts`. (A MessageBatch cannot cross `exports.default`, so the
 * default export is imported instead.)
 */
async function runJob(queue: "push" | "push-dlq", body: unknown, attempts = 1) {
  const batch = createMessageBatch(queue, [
    { id: `msg-${++seq}-${uid()}`, timestamp: new Date(), attempts, body },
  ]);
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}
const job = (...ids: string[]) => ({ v: 1, delivery_ids: ids });

/** Same, recording the retry delay (see runPushJobRecording). */
const runJobRecordingDelay = (body: unknown, attempts: number) => runPushJobRecording(body, attempts);

describe("dead tokens (Done 5)", () => {
  it("UNREGISTERED through the real queue: device deleted, delivery token_removed", async () => {
    const user = await newCaller("user");
    const token = `unregistered-${uid()}`;
    const device = await registerDevice(user, token);
    const { notification_ids } = await adminTestSend({ user_id: user.sub, type: "payment_received" });
    const [d] = await settled(user, notification_ids[0] ?? "");
    expect(d).toMatchObject({ device_id: device.id, status: "token_removed", error_code: "UNREGISTERED" });
    expect(await deviceExists(token)).toBe(false);
    const list = await api("/api/v1/notifications/devices", { headers: user.headers });
    expect((await bodyOf(list, "GET /notifications/devices", 200)).items).toEqual([]);
  });

  it.each([
    ["mismatch-", "SENDER_ID_MISMATCH"],
    ["invalid-", "INVALID_ARGUMENT"],
  ])("%s token is removed (%s)", async (prefix, code) => {
    const token = `${prefix}${uid()}`;
    const s = await seedQueued({ token });
    const result = await runJob("push", job(s.deliveryId));
    expect(result.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({ status: "token_removed", error_code: code });
    expect(await deviceExists(token)).toBe(false);
  });
});

describe("retries and the dead-letter queue (Done 6)", () => {
  it("a 503 is retried through the real queue and then delivered", async () => {
    const user = await newCaller("user");
    const token = `flaky1-${uid()}`;
    await registerDevice(user, token);
    const { notification_ids } = await adminTestSend({ user_id: user.sub, type: "payment_received" });
    const [d] = await settled(user, notification_ids[0] ?? "", 300);
    expect(d).toMatchObject({ status: "sent", attempts: 2 });
    expect(d?.fcm_message_name).toBeTruthy();
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("a 429 keeps the delivery queued and retries no sooner than Retry-After", async () => {
    const s = await seedQueued({ token: `quota-${uid()}` });
    expect(await runJobRecordingDelay(job(s.deliveryId), 1)).toEqual([{ kind: "retry", delaySeconds: 30 }]);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({
      status: "queued",
      error_code: "QUOTA_EXCEEDED",
      attempts: 1,
    });
  });

  it("backoff grows with the attempt when Google gives no Retry-After", async () => {
    const s = await seedQueued({ token: `unavailable-${uid()}` });
    expect(await runJobRecordingDelay(job(s.deliveryId), 1)).toEqual([{ kind: "retry", delaySeconds: 1 }]);
    // Step 8 s at attempt 4, jittered over its upper half.
    const [fourth] = await runJobRecordingDelay(job(s.deliveryId), 4);
    expect(fourth?.kind).toBe("retry");
    const delay = fourth?.kind === "retry" ? (fourth.delaySeconds ?? 0) : 0;
    expect(delay).toBeGreaterThanOrEqual(4);
    expect(delay).toBeLessThanOrEqual(8);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({
      status: "queued",
      error_code: "UNAVAILABLE",
      attempts: 2,
    });
  });

  it("exhausted retries land in the DLQ, whose consumer marks the delivery dead_lettered", async () => {
    const s = await seedQueued({ token: `unavailable-${uid()}` });
    // The last attempt (max_retries + 1): still retried by us; the runtime moves it to push-dlq.
    const last = await runJob("push", job(s.deliveryId), PUSH_MAX_RETRIES + 1);
    expect(last.retryMessages).toHaveLength(1);
    const dlq = await runJob("push-dlq", job(s.deliveryId));
    expect(dlq.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({
      status: "dead_lettered",
      error_code: "UNAVAILABLE",
    });
  });

  it("the DLQ never overwrites a delivery that was sent", async () => {
    const s = await seedQueued({ token: `ok-${uid()}` });
    await runJob("push", job(s.deliveryId));
    await runJob("push-dlq", job(s.deliveryId));
    expect((await deliveryRow(s.deliveryId))?.status).toBe("sent");
  });

  it("a mixed job retries only what is pending: redelivery sends nothing twice", async () => {
    const ok = await seedQueued({ token: `ok-${uid()}` });
    const flaky = await seedQueued({ token: `flaky1-${uid()}` });
    const first = await runJob("push", job(ok.deliveryId, flaky.deliveryId), 1);
    expect(first.retryMessages).toHaveLength(1);
    expect((await deliveryRow(ok.deliveryId))?.status).toBe("sent");
    const okName = (await deliveryRow(ok.deliveryId))?.fcm_message_name;

    const second = await runJob("push", job(ok.deliveryId, flaky.deliveryId), 2);
    expect(second.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(flaky.deliveryId)).toMatchObject({ status: "sent", attempts: 2 });
    // Redelivery of the same job once more: nothing left to send.
    const third = await runJob("push", job(ok.deliveryId, flaky.deliveryId), 3);
    expect(third.explicitAcks).toHaveLength(1);
    const ok1 = await deliveryRow(ok.deliveryId);
    expect(ok1).toMatchObject({ status: "sent", attempts: 1, fcm_message_name: okName });
  });
});

describe("401s: our expired token vs FCM's THIRD_PARTY_AUTH_ERROR (issue 13 item 3)", () => {
  it("THIRD_PARTY_AUTH_ERROR fails the delivery at once: one request, no token refresh, no retry", async () => {
    const prefix = `apnsbroken${uid()}-`;
    const s = await seedQueued({ token: `${prefix}0`, platform: "ios" });
    // Enough faults for the old behaviour (refresh, resend, retry…) to show up as extra requests.
    await breakThirdPartyAuth(prefix, 5);
    const before = await googleStats();
    const result = await runJob("push", job(s.deliveryId));
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    // Exactly one request reached FCM: no refresh-and-resend.
    expect(await faultsLeft(prefix)).toBe(4);
    expect((await googleStats()).token_exchanges).toBe(before.token_exchanges);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({
      status: "failed",
      error_code: THIRD_PARTY_AUTH_ERROR,
      attempts: 1,
    });
    // A configuration failure is not the token's fault: the device stays.
    expect(await deviceExists(`${prefix}0`)).toBe(true);
  });

  it("a 401 for an expired access token still refreshes it once and delivers", async () => {
    // Warm the isolate's token cache, then invalidate every issued token at the emulator.
    const warmToken = `ok-${uid()}-warm`;
    const warm = await seedQueued({ token: warmToken });
    await runJob("push", job(warm.deliveryId));
    const [warmSent] = await sentMessages(warmToken);
    await revokeGoogleTokens();

    const token = `ok-${uid()}-expired`;
    const s = await seedQueued({ token });
    const result = await runJob("push", job(s.deliveryId));
    expect(result.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({ status: "sent", attempts: 1, error_code: null });
    const sent = await sentMessages(token);
    expect(sent).toHaveLength(1);
    // Delivered with a new access token: the rejected one was dropped and replaced.
    expect(sent[0]?.access_token_suffix).not.toBe(warmSent?.access_token_suffix);
  });
});

describe("redelivery and payload bugs", () => {
  it("a message redelivered after success does not send again", async () => {
    const user = await newCaller("user");
    const token = `ok-${uid()}`;
    await registerDevice(user, token);
    const { notification_ids } = await adminTestSend({ user_id: user.sub, type: "payment_received" });
    const [d] = await settled(user, notification_ids[0] ?? "");
    expect(d?.status).toBe("sent");
    const again = await runJob("push", job(d?.id ?? ""), 2);
    expect(again.explicitAcks).toHaveLength(1);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("a malformed job is acked, not retried forever", async () => {
    const result = await runJob("push", { nope: true });
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
  });

  it("a payload that cannot be a valid FCM message is failed and acked", async () => {
    const token = `ok-${uid()}`;
    const s = await seedQueued({ token, data: { count: 3 } });
    const result = await runJob("push", job(s.deliveryId));
    expect(result.explicitAcks).toHaveLength(1);
    expect(await deliveryRow(s.deliveryId)).toMatchObject({
      status: "failed",
      error_code: "INVALID_PAYLOAD",
    });
    expect(await sentMessages(token)).toEqual([]);
  });
});

it("eventually gives up (bounded polling)", async () => {
  await expect(eventually(async () => undefined, "nothing", { tries: 2 })).rejects.toThrow("timed out");
});

describe("Retry-After binds every job that names the delivery (review of issue 13)", () => {
  it("a duplicate of a job that got 429 + Retry-After does not send before it, and waits out the rest", async () => {
    const s = await seedQueued({ token: `quota-${uid()}` });
    expect(await runJobRecordingDelay(job(s.deliveryId), 1)).toEqual([{ kind: "retry", delaySeconds: 30 }]);
    // Queues deliver at least once: the same job (or the cron's sweep) may run again right away.
    const [again, ...rest] = await runJobRecordingDelay(job(s.deliveryId), 1);
    expect(rest).toEqual([]);
    expect(again?.kind).toBe("retry");
    const delay = again?.kind === "retry" ? (again.delaySeconds ?? 0) : 0;
    expect(delay).toBeGreaterThanOrEqual(1);
    expect(delay).toBeLessThanOrEqual(30);
    // Not sent again: the one FCM request is still the only attempt.
    expect(await deliveryRow(s.deliveryId)).toMatchObject({
      status: "queued",
      error_code: "QUOTA_EXCEEDED",
      attempts: 1,
    });
  });
});
