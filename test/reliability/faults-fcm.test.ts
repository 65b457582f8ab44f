import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BACKOFF_CAP_S } from "../../src/notifications/retry-schedule";
import { clearFcmFaults, injectFcmFault, sentMessages } from "../helpers/google";
import {
  adminTestSend,
  deliveryRow,
  newCaller,
  pushMaxRetries,
  registerDevice,
  runPushJobRecording,
  seedQueued,
  settled,
  uid,
} from "../notifications/helpers";

/**
 * One push job for these deliveries, run as attempt `attempts`; records ack/retry and delays.
 * Simulated time: the queue hands a retried job back once its delay is over, so the rows'
 * retry (`not_before`) is due by then; the consumer refuses to send a row early.
 */
async function runPushJob(deliveryIds: string[], attempts: number, messageId = `msg-${uid()}`) {
  await env.DB.prepare(
    `UPDATE notification_deliveries SET not_before = NULL
     WHERE status = 'queued' AND id IN (SELECT value FROM json_each(?))`,
  )
    .bind(JSON.stringify(deliveryIds))
    .run();
  return runPushJobRecording({ v: 1, delivery_ids: deliveryIds }, attempts, messageId);
}

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

/** Three queued deliveries to tokens `<prefix>0..2`, not enqueued. */
async function seedThree(prefix: string) {
  const tokens = [0, 1, 2].map((i) => `${prefix}${i}`);
  const ids: string[] = [];
  for (const token of tokens) ids.push((await seedQueued({ token })).deliveryId);
  return { tokens, ids };
}

describe("a long FCM outage (issue 13 item 2)", () => {
  it("503 with no Retry-After for 10 simulated minutes: every delivery still ends sent, once, before the runtime would dead-letter it", async () => {
    const prefix = `longoutage${uid()}-`;
    const { tokens, ids } = await seedThree(prefix);
    const maxRetries = pushMaxRetries();
    await injectFcmFault({ status: 503, count: 1_000_000, token_prefix: prefix });
    // Simulated time: the clock advances by each retry delay the consumer asks the queue for.
    let clock = 0;
    let attempt = 1;
    for (;;) {
      if (clock >= 600) await clearFcmFaults(prefix);
      // Past max_retries + 1 deliveries the runtime moves the job to push-dlq: the push is lost.
      expect(attempt, `still in the outage at ${clock} s`).toBeLessThanOrEqual(maxRetries + 1);
      const [call] = await runPushJob(ids, attempt);
      if (call?.kind === "ack") break;
      expect(call?.kind).toBe("retry");
      const delay = call?.kind === "retry" ? (call.delaySeconds ?? 0) : 0;
      expect(delay).toBeGreaterThanOrEqual(1);
      expect(delay).toBeLessThanOrEqual(BACKOFF_CAP_S);
      clock += delay;
      attempt++;
    }
    expect(clock).toBeGreaterThanOrEqual(600);
    for (const id of ids) expect(await deliveryRow(id)).toMatchObject({ status: "sent", attempts: attempt });
    for (const t of tokens) expect(await sentCount(t)).toBe(1);
  });
});

describe("FCM's 429 QUOTA_EXCEEDED without Retry-After (review of issue 13, item 5)", () => {
  it("backs off from a minute (FCM's error-code reference), doubling, instead of retrying after 1 s", async () => {
    const prefix = `quota${uid()}-`;
    const { ids } = await seedThree(prefix);
    await injectFcmFault({ status: 429, count: 2 * ids.length, token_prefix: prefix });
    const before = Date.now();
    const [first] = await runPushJob(ids, 1);
    const firstDelay = first?.kind === "retry" ? (first.delaySeconds ?? 0) : 0;
    expect(firstDelay).toBeGreaterThanOrEqual(60);
    expect(firstDelay).toBeLessThanOrEqual(120);
    for (const id of ids) {
      const row = await env.DB.prepare(
        "SELECT status, error_code, not_before FROM notification_deliveries WHERE id = ?",
      )
        .bind(id)
        .first<{ status: string; error_code: string; not_before: number }>();
      expect(row).toMatchObject({ status: "queued", error_code: "QUOTA_EXCEEDED" });
      // The row's due time agrees with the job's delay: the next attempt does not come early.
      expect(row?.not_before ?? 0).toBeGreaterThanOrEqual(before + 60_000);
    }
    const [second] = await runPushJob(ids, 2);
    expect(second?.kind === "retry" ? (second.delaySeconds ?? 0) : 0).toBeGreaterThanOrEqual(120);
    expect(await runPushJob(ids, 3)).toEqual([{ kind: "ack" }]);
  });

  it("still honours a Retry-After FCM does send with a 429", async () => {
    const prefix = `quotara${uid()}-`;
    const { ids } = await seedThree(prefix);
    await injectFcmFault({ status: 429, count: ids.length, retry_after: 7, token_prefix: prefix });
    const [call] = await runPushJob(ids, 1);
    expect(call).toEqual({ kind: "retry", delaySeconds: 7 });
    await clearFcmFaults(prefix);
  });
});

describe("a hung FCM request (issue 13 item 4)", () => {
  it("is aborted after FCM_TIMEOUT_MS and retried, while the rest of the batch is sent", async () => {
    const prefix = `hung${uid()}-`;
    const hung = await seedQueued({ token: `${prefix}0` });
    const okToken = `ok-${uid()}-beside-hung`;
    const ok = await seedQueued({ token: okToken });
    // The emulator holds the request for 20 s (then would answer 503): far past the timeout.
    await injectFcmFault({ status: 503, count: 1, token_prefix: prefix, hang_ms: 20_000 });
    const ids = [hung.deliveryId, ok.deliveryId];
    const first = await runPushJobRecording({ v: 1, delivery_ids: ids }, 1, `msg-${uid()}`, {
      FCM_TIMEOUT_MS: "300",
    });
    expect(first.map((c) => c.kind)).toEqual(["retry"]);
    expect(await deliveryRow(hung.deliveryId)).toMatchObject({ status: "queued", error_code: "TIMEOUT" });
    expect(await deliveryRow(ok.deliveryId)).toMatchObject({ status: "sent" });

    expect(await runPushJob(ids, 2)).toEqual([{ kind: "ack" }]);
    expect(await deliveryRow(hung.deliveryId)).toMatchObject({ status: "sent", attempts: 2 });
    expect(await sentCount(`${prefix}0`)).toBe(1);
    expect(await sentCount(okToken)).toBe(1);
  });
});

/**
 * Makes D1 refuse to mark these deliveries `sent` (a trigger, so production code has no test
 * branch), until the returned function drops it.
 */
async function refuseSentWrites(ids: string[]): Promise<() => Promise<void>> {
  for (const id of ids) if (!/^[0-9a-f-]+$/.test(id)) throw new Error(`unexpected id ${id}`);
  const name = `refuse_sent_${crypto.randomUUID().replaceAll("-", "")}`;
  const list = ids.map((id) => `'${id}'`).join(",");
  await env.DB.exec(
    `CREATE TRIGGER ${name} BEFORE UPDATE ON notification_deliveries WHEN NEW.status = 'sent' AND OLD.id IN (${list}) BEGIN SELECT RAISE(ABORT, 'injected'); END`,
  );
  return async () => {
    await env.DB.exec(`DROP TRIGGER IF EXISTS ${name}`);
  };
}

describe("a failed outcome write (issue 13 item 4)", () => {
  it("D1 refuses to record the sends: the job's retry sends no device a second push", async () => {
    const prefix = `outcomefail${uid()}-`;
    const { tokens, ids } = await seedThree(prefix);
    const allow = await refuseSentWrites(ids);
    try {
      await runPushJob(ids, 1);
    } finally {
      await allow();
    }
    for (const t of tokens) expect(await sentCount(t)).toBe(1);
    // The claim said `sending` before each request: a retry can see these may have gone out.
    for (const id of ids) expect(await deliveryRow(id)).toMatchObject({ status: "sending", attempts: 1 });

    // The queue retries (or redelivers) the job: nothing is sent again.
    expect(await runPushJob(ids, 2)).toEqual([{ kind: "ack" }]);
    for (const t of tokens) expect(await sentCount(t)).toBe(1);
  });

  it("one refused write does not hold back the others: each outcome is written right after its send", async () => {
    const prefix = `onefail${uid()}-`;
    const refused = await seedQueued({ token: `${prefix}refused` });
    const others = [await seedQueued({ token: `${prefix}a` }), await seedQueued({ token: `${prefix}b` })];
    const allow = await refuseSentWrites([refused.deliveryId]);
    try {
      await runPushJob([refused.deliveryId, ...others.map((o) => o.deliveryId)], 1);
    } finally {
      await allow();
    }
    for (const o of others) expect((await deliveryRow(o.deliveryId))?.status).toBe("sent");
    expect((await deliveryRow(refused.deliveryId))?.status).toBe("sending");
  });
});
