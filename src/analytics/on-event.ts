import type { EventSink } from "../events/sinks";

// Placeholder until the analytics capability lands: server-side events are not tracked yet.
export const analyticsSink: EventSink = { name: "analytics", handle: async () => {} };
