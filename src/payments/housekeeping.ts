import type { Deps } from "../platform/deps";
import { retryDeferred } from "./webhooks/deferred";

/** 5-minute cron: re-applies webhooks parked before their row existed, so none stay parked. */
export function retryDeferredWebhooks(deps: Deps): Promise<number> {
  return retryDeferred(deps);
}
