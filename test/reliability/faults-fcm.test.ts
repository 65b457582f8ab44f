import { describe, expect, it } from "vitest";
import { injectFcmFault, sentMessages } from "../helpers/google";
import {
  adminTestSend,
  deliveryRow,
  newCaller,
  registerDevice,
  runPushJobRecording,
  seedQueued,
  settled,
  uid,
} from "../notifications/helpers";

/** One push job for these deliveries, run as attempt `attempts`; records ack/retry and delays. */
const runPushJob = (deliveryIds: string[], attempts: number, messageId = `msg-${uid()}`) =>
  runPushJobRecording({ v: 1, delivery_ids: deliveryIds }, attempts, messageId);

const sentCount = async (token: string) => (await sentMessages(token)).length;

describe("FCM answering 5xx for a whole batch", () => {
  it("through the real queue: every delivery retried, then sent exactly once when the fault clears", async () => {
    const user = await newCaller("user");
    const prefix = `outage${uid()}-`;
    const tokens = [0, 1, 2, 3].map((i) => `${prefix}${i}`);
    for (const t of tokens) await registerDevice(user, t);
    // Every send of this notification's first attempt fails; the outage then ends.
    await injectFcmFault({ status: 503, count: tokens.length, token_prefix: prefix });
    const { notification_ids } = await adminTestSend({ user_id: user.sub, type: "payment_received" });
    const deliveries = await settled(user, notification_ids[0] ?? "");
    expect(deliveries).toHaveLength(4);
    for (const d of deliveries) expect(d).toMatchObject({ status: "sent", attempts: 2 });
    for (const t of tokens) expect(await sentCount(t)).toBe(1);
  });

  it("the job is retried with a delay, sends nothing while failing, and a redelivery after success sends nothing", async () => {
    const prefix = `batch5xx${uid()}-`;
    const seeded = [];
    for (let i = 0; i < 3; i++) seeded.push(await seedQueued({ token: `${prefix}${i}` }));
    const ids = seeded.map((s) => s.deliveryId);
    await injectFcmFault({ status: 500, count: seeded.length, token_prefix: prefix });

    const first = await runPushJob(ids, 1);
    expect(first).toHaveLength(1);
    expect(first[0]?.kind).toBe("retry");
    expect(first[0]?.kind === "retry" && (first[0].delaySeconds ?? 0) >= 1).toBe(true);
    for (const id of ids) {
      expect(await deliveryRow(id)).toMatchObject({ status: "queued", attempts: 1, error_code: "INTERNAL" });
    }
    for (const s of seeded) expect(await sentCount(`${prefix}${seeded.indexOf(s)}`)).toBe(0);

    expect(await runPushJob(ids, 2)).toEqual([{ kind: "ack" }]);
    for (const id of ids) expect(await deliveryRow(id)).toMatchObject({ status: "sent", attempts: 2 });

    // At-least-once queues redeliver: the same job again sends nothing more.
    expect(await runPushJob(ids, 3)).toEqual([{ kind: "ack" }]);
    for (let i = 0; i < seeded.length; i++) expect(await sentCount(`${prefix}${i}`)).toBe(1);
  });

  it("the same job delivered twice at once sends each device once", async () => {
    const prefix = `twice${uid()}-`;
    const seeded = [];
    for (let i = 0; i < 3; i++) seeded.push(await seedQueued({ token: `${prefix}${i}` }));
    const ids = seeded.map((s) => s.deliveryId);
    const [a, b] = await Promise.all([runPushJob(ids, 1, "dup"), runPushJob(ids, 1, "dup")]);
    expect(a).toEqual([{ kind: "ack" }]);
    expect(b).toEqual([{ kind: "ack" }]);
    for (const id of ids) expect((await deliveryRow(id))?.status).toBe("sent");
    for (let i = 0; i < seeded.length; i++) expect(await sentCount(`${prefix}${i}`)).toBe(1);
  });
});
