import type { EventSink } from "../events/sinks";

// Placeholder until the chat capability lands: no live channels yet.
export const liveChannelSink: EventSink = { name: "live-channels", handle: async () => {} };
