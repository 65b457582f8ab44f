import { publish } from "../events/publish";
import type { EXTERNAL_EVENT_TYPES } from "../events/types";
import type { Deps } from "../platform/deps";
import type { Principal } from "../platform/types";

export type ExternalEvent = {
  id: string;
  type: (typeof EXTERNAL_EVENT_TYPES)[number];
  data: Record<string, unknown>;
  occurred_at?: string | undefined;
};

/** An event another platform service publishes; the caller is recorded as its source. */
export async function ingestEvent(
  deps: Deps,
  caller: Principal,
  input: ExternalEvent,
): Promise<{ id: string; duplicate: boolean }> {
  const { duplicate } = await publish(deps, {
    id: input.id,
    type: input.type,
    // publish() validates data against the type's schema (400 with paths on failure).
    data: input.data as never,
    source: `service:${caller.userId}`,
    ...(input.occurred_at ? { occurred_at: Date.parse(input.occurred_at) } : {}),
  });
  return { id: input.id, duplicate };
}
