import { analyticsSink } from "./analytics/on-event";
import { liveChannelSink } from "./chat/on-event";
import type { EventSink } from "./events/types";
import { notificationSink } from "./notifications/on-event";

/**
 * The composition root's list of domain-event subscribers (ARCHITECTURE.md, "One module per
 * capability, one spine"). events/ never imports its subscribers; every entry point hands this
 * list to createDeps. Order: durable rows first, then live feeds.
 */
export const sinks: readonly EventSink[] = [notificationSink, liveChannelSink, analyticsSink];
