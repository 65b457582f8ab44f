import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import wranglerToml from "../../wrangler.toml?raw";
import { authHeaders, newCaller } from "../helpers/auth";
import { type BodyOf, bodyOf } from "../helpers/body";
import { eventually } from "../helpers/eventually";
import { api, postJson } from "../helpers/http";

export type Caller = Awaited<ReturnType<typeof newCaller>>;
export type Delivery = BodyOf<"GET /notifications/:id/deliveries", 200>["items"][number];

export const uid = () => crypto.randomUUID().slice(0, 8);

export async function registerDevice(
  caller: Caller,
  token: string,
  platform: "android" | "ios" | "web" = "android",
) {
  const res = await postJson("/api/v1/notifications/register-device", { token, platform }, caller.headers);
  return bodyOf(res, "POST /notifications/register-device", [200, 201]);
}

/** The service publishEvent() signs as: listed in SECURITY_ALERT_SERVICES (vitest.config.ts). */
const ALERT_SERVICE = env.SECURITY_ALERT_SERVICES.split(",")[0] ?? "";

/**
 * POST /api/v1/events as one fixed service, so a replay of `id` is a replay. `eventId` is the
 * stored domain event id (`ext:<service>:<id>`), which notifications reference.
 */
export async function publishEvent(type: string, data: unknown, id = `evt_${crypto.randomUUID()}`) {
  const headers = await authHeaders(
    { role: "service", sub: ALERT_SERVICE },
    { "content-type": "application/json" },
  );
  const res = await postJson("/api/v1/events", { id, type, data }, headers);
  return { res, id, eventId: `ext:${ALERT_SERVICE}:${id}` };
}

export async function adminTestSend(body: Record<string, unknown>) {
  const admin = await newCaller("admin");
  const res = await postJson("/api/v1/notifications/test", body, admin.headers);
  return bodyOf(res, "POST /notifications/test", 202);
}

export async function deliveriesOf(caller: Caller, notificationId: string): Promise<Delivery[]> {
  const res = await api(`/api/v1/notifications/${notificationId}/deliveries`, { headers: caller.headers });
  return (await bodyOf(res, "GET /notifications/:id/deliveries", 200)).items;
}

const TERMINAL = new Set(["sent", "failed", "token_removed", "dead_lettered"]);

/** Waits until every delivery of the notification has left queued (the real queue consumer ran). */
export function settled(caller: Caller, notificationId: string, tries?: number): Promise<Delivery[]> {
  return eventually(
    async () => {
      const items = await deliveriesOf(caller, notificationId);
      return items.length > 0 && items.every((d) => TERMINAL.has(d.status)) ? items : undefined;
    },
    `deliveries of ${notificationId} to settle`,
    { tries },
  );
}

/** The notification a given event created for a user (straight from D1). */
export async function notificationFor(eventId: string, userId: string): Promise<string | undefined> {
  const row = await env.DB.prepare("select id from notifications where event_id = ? and user_id = ?")
    .bind(eventId, userId)
    .first<{ id: string }>();
  return row?.id;
}

export { api, newCaller, postJson };

/**
 * Rows for consumer tests that drive the handler directly: a device, a notification and
 * a `queued` delivery, written straight to D1 and deliberately NOT enqueued, so the real
 * queue never races the test's own batch.
 */
export async function seedQueued(opts: {
  token: string;
  platform?: "android" | "ios" | "web";
  silent?: boolean;
  data?: Record<string, unknown>;
}): Promise<{ userId: string; deviceId: string; notificationId: string; deliveryId: string }> {
  const userId = crypto.randomUUID();
  const deviceId = crypto.randomUUID();
  const notificationId = crypto.randomUUID();
  const deliveryId = crypto.randomUUID();
  const t = Date.now();
  const platform = opts.platform ?? "android";
  await env.DB.batch([
    env.DB.prepare(
      "insert into devices (id, user_id, token, platform, created_at, updated_at) values (?, ?, ?, ?, ?, ?)",
    ).bind(deviceId, userId, opts.token, platform, t, t),
    env.DB.prepare(
      `insert into notifications (id, user_id, type, title, body, data, silent, event_id, in_app, created_at)
       values (?, ?, 'feature_flag_enabled', 'Title', 'Body', ?, ?, ?, 1, ?)`,
    ).bind(
      notificationId,
      userId,
      JSON.stringify(opts.data ?? {}),
      opts.silent ? 1 : 0,
      `seed:${deliveryId}`,
      t,
    ),
    env.DB.prepare(
      `insert into notification_deliveries (id, notification_id, device_id, token, platform, status, attempts, created_at, updated_at)
       values (?, ?, ?, ?, ?, 'queued', 0, ?, ?)`,
    ).bind(deliveryId, notificationId, deviceId, opts.token, platform, t, t),
  ]);
  return { userId, deviceId, notificationId, deliveryId };
}

export async function deliveryRow(id: string) {
  return env.DB.prepare("select * from notification_deliveries where id = ?").bind(id).first<{
    status: string;
    error_code: string | null;
    attempts: number;
    fcm_message_name: string | null;
  }>();
}

export async function deviceExists(token: string): Promise<boolean> {
  return (await env.DB.prepare("select 1 as x from devices where token = ?").bind(token).first()) !== null;
}

export type QueueCall = { kind: "ack" } | { kind: "retry"; delaySeconds: number | undefined };

/**
 * Runs the worker's real queue handler (src/index.ts `queue`) on one "push" job as delivery
 * attempt `attempts`, with a batch that records ack/retry and the retry delay: the
 * vitest-plugin batch drops `delaySeconds`, and a MessageBatch cannot cross `exports.default`.
 */
export async function runPushJobRecording(
  body: unknown,
  attempts: number,
  messageId = `msg-${crypto.randomUUID()}`,
  vars: Record<string, string> = {},
): Promise<QueueCall[]> {
  const calls: QueueCall[] = [];
  const message = {
    id: messageId,
    timestamp: new Date(),
    attempts,
    body,
    ack: () => calls.push({ kind: "ack" }),
    retry: (o?: QueueRetryOptions) => calls.push({ kind: "retry", delaySeconds: o?.delaySeconds }),
  };
  const batch: MessageBatch<unknown> = {
    queue: "push",
    messages: [message],
    metadata: { metrics: { backlogCount: 1, backlogBytes: 0 } },
    ackAll: () => calls.push({ kind: "ack" }),
    retryAll: (o?: QueueRetryOptions) => calls.push({ kind: "retry", delaySeconds: o?.delaySeconds }),
  };
  // `vars` override configuration for this run only (e.g. FCM_TIMEOUT_MS): a new env object
  // is parsed afresh by getConfig.
  const runEnv = Object.keys(vars).length > 0 ? ({ ...env, ...vars } as Env) : env;
  await worker.queue(batch, runEnv, createExecutionContext());
  return calls;
}

/**
 * `max_retries` of the "push" consumer in wrangler.toml: the runtime, not our code, decides
 * when a job is dead-lettered, so tests read the real configuration.
 */
export function pushMaxRetries(): number {
  // Skip what comes before the first consumer: the producers name "push" too.
  const consumers = wranglerToml.split("[[queues.consumers]]").slice(1);
  const block = consumers.find((b) => /^\s*queue\s*=\s*"push"\s*$/m.test(b));
  const value = block ? /^\s*max_retries\s*=\s*(\d+)/m.exec(block)?.[1] : undefined;
  if (!value) throw new Error("wrangler.toml has no max_retries for the push consumer");
  return Number(value);
}
