import type { EventSink } from "../events/sinks";

// Placeholder until the notifications capability lands: no notifications yet.
export const notificationSink: EventSink = { name: "notifications", handle: async () => {} };
