import { createLogger } from "./platform/logger";

/**
 * Queue entry point: routes each batch by queue name to its consumer. Consumers are
 * added by the notifications capability ("push" and its dead-letter queue "push-dlq").
 */
export async function handleQueue(batch: MessageBatch, _env: Env, _ctx: ExecutionContext): Promise<void> {
  createLogger({ queue: batch.queue }).warn("no consumer for queue; acking", {
    count: batch.messages.length,
  });
  batch.ackAll();
}
