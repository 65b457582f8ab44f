import { handlePushBatch, handlePushDlqBatch } from "./notifications/consumer";
import { createLogger } from "./platform/logger";

/** Queue entry point: routes each batch by queue name to its consumer. */
export async function handleQueue(batch: MessageBatch, env: Env, _ctx: ExecutionContext): Promise<void> {
  switch (batch.queue) {
    case "push":
      return handlePushBatch(batch, env);
    case "push-dlq":
      return handlePushDlqBatch(batch, env);
    default:
      createLogger({ queue: batch.queue }).warn("no consumer for queue; acking", {
        count: batch.messages.length,
      });
      batch.ackAll();
  }
}
