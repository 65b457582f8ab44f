import { handleAnalyticsBatch, handleAnalyticsDlqBatch } from "./analytics/consumer";
import { handlePushBatch, handlePushDlqBatch } from "./notifications/consumer";
import { createDeps } from "./platform/deps";
import { sinks } from "./sinks";

/** Queue entry point: routes each batch by queue name to its consumer. */
export async function handleQueue(batch: MessageBatch, env: Env, _ctx: ExecutionContext): Promise<void> {
  const deps = createDeps(env, { sinks, log: { queue: batch.queue } });
  switch (batch.queue) {
    case "push":
      return handlePushBatch(batch, deps);
    case "push-dlq":
      return handlePushDlqBatch(batch, deps);
    case "analytics-ingest":
      return handleAnalyticsBatch(batch, deps);
    case "analytics-dlq":
      return handleAnalyticsDlqBatch(batch, deps);
    default:
      deps.logger.warn("no consumer for queue; acking", { count: batch.messages.length });
      batch.ackAll();
  }
}
