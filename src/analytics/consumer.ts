import type { Deps } from "../platform/deps";
import { touchStatements } from "./attribution";
import { type IngestMessage, ingestMessageSchema } from "./ingest-queue";
import { insertJsonRows, type JsonRow } from "./store";

type ConsumerDeps = Pick<Deps, "analyticsDb" | "logger" | "env">;

/**
 * Retry schedule. A 202 promised the events are durable, so an ANALYTICS_DB outage must not drop
 * them: the old schedule (max_retries = 3, 10 s each) dead-lettered every message 30 s into one,
 * and the DLQ's consumer writes to the same database (with Cloudflare's default of 3 retries and
 * no DLQ of its own, the runtime then deletes them). Both consumers back off exponentially from
 * 10 s up to 10 minutes per step: with max_retries = 30 (wrangler.toml; a test reads it) the
 * ingest queue waits about 4 h before dead-lettering, and the DLQ (max_retries = 100) about 16 h
 * more before the runtime deletes. Cloudflare Queues allow at most 100 retries and 12 h a delay.
 */
const FIRST_RETRY_S = 10;
const RETRY_CAP_S = 600;
export const retryDelaySeconds = (attempts: number) =>
  Math.min(RETRY_CAP_S, FIRST_RETRY_S * 2 ** Math.max(0, Math.min(attempts, 20) - 1));

/**
 * The ingest consumer (wrangler.toml, queue analytics-ingest, max_batch_size = 100): every
 * well-formed message of the batch in ONE D1 batch, rollups included (store.ts). Event ids are
 * the key and rollups count only rows actually inserted, so a redelivered message writes and
 * counts nothing twice; UTM touches are conditional upserts in the same batch (attribution.ts).
 * A malformed message goes to analytics-dlq at once; if the D1 batch fails,
 * each message is written on its own, so one that cannot be written is retried (and
 * dead-lettered by the Queue after max_retries) without holding back the rest.
 */
export async function handleAnalyticsBatch(batch: MessageBatch, deps: ConsumerDeps): Promise<void> {
  const good: Array<{ msg: Message; body: IngestMessage }> = [];
  for (const msg of batch.messages) {
    const parsed = ingestMessageSchema.safeParse(msg.body);
    if (parsed.success) {
      good.push({ msg, body: parsed.data });
      continue;
    }
    // No retry can fix a malformed body: straight to the DLQ, acked only once the DLQ has it.
    deps.logger.warn("malformed analytics message; dead-lettering", { id: msg.id });
    try {
      await deps.env.ANALYTICS_DLQ.send(msg.body, { contentType: "json" });
      msg.ack();
    } catch {
      msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
    }
  }
  if (good.length === 0) return;
  try {
    await insertJsonRows(deps.analyticsDb, uniqueRows(good.flatMap((g) => g.body.rows)), {
      more: touchStatements,
    });
    for (const g of good) g.msg.ack();
    return;
  } catch (err) {
    deps.logger.warn("analytics batch write failed; writing message by message", {
      err,
      messages: good.length,
    });
  }
  for (const { msg, body } of good) {
    try {
      await insertJsonRows(deps.analyticsDb, uniqueRows(body.rows), { more: touchStatements });
      msg.ack();
    } catch (err) {
      deps.logger.warn("analytics message write failed", { id: msg.id, attempts: msg.attempts, err });
      msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) });
    }
  }
}

/**
 * Dead letters are kept, not dropped: one row per message in analytics_dead_letters, for an
 * operator to inspect or replay. Its body is stored as JSON text whatever it is.
 */
export async function handleAnalyticsDlqBatch(batch: MessageBatch, deps: ConsumerDeps): Promise<void> {
  const rows = batch.messages.map((m) => ({
    id: m.id,
    body: JSON.stringify(m.body) ?? "null",
    attempts: m.attempts,
    at: Date.now(),
  }));
  try {
    await deps.analyticsDb.$client
      .prepare(
        `INSERT INTO analytics_dead_letters (message_id, body, attempts, received_at)
       SELECT value->>'id', value->>'body', value->>'attempts', value->>'at' FROM json_each(?1) WHERE true
       ON CONFLICT DO NOTHING`,
      )
      .bind(JSON.stringify(rows))
      .run();
  } catch (err) {
    // ANALYTICS_DB is down: back off rather than burn the DLQ's retries in seconds.
    const attempts = Math.max(1, ...batch.messages.map((m) => m.attempts));
    deps.logger.warn("analytics dead letters not stored; retrying", { err, count: rows.length });
    batch.retryAll({ delaySeconds: retryDelaySeconds(attempts) });
    return;
  }
  deps.logger.error("analytics messages dead-lettered", { count: rows.length });
  batch.ackAll();
}

/** Two messages may carry one event (a producer retried after a lost answer): first wins. */
function uniqueRows(rows: JsonRow[]): JsonRow[] {
  const byId = new Map<string, JsonRow>();
  for (const r of rows) if (!byId.has(r.id)) byId.set(r.id, r);
  return [...byId.values()];
}
