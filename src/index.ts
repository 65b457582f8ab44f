import { createApp } from "./app";
import { handleQueue } from "./queues";
import { handleScheduled } from "./scheduled";

export { IngestBudget } from "./analytics";
export { LiveChannel, TicketRoom } from "./chat";

const app = createApp();

export default {
  fetch: app.fetch,
  queue: handleQueue,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;
