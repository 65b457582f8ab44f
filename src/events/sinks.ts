import { analyticsSink } from "../analytics/on-event";
import { liveChannelSink } from "../chat/on-event";
import { notificationSink } from "../notifications/on-event";
import type { EventDeps } from "./publish";
import type { DomainEvent } from "./types";

export type EventSink = { name: string; handle(event: DomainEvent, deps: EventDeps): Promise<void> };

/** Where every published event goes (DESIGN §1). Order: durable rows first, then live feeds. */
export const sinks: EventSink[] = [notificationSink, liveChannelSink, analyticsSink];
