import { getConfig } from "../platform/config";
import type { Deps } from "../platform/deps";
import { stripeClient } from "./stripe-client";
import { retryDeferred } from "./webhooks/deferred";

/** 5-minute cron: re-applies webhooks parked before their row existed, so none stay parked. */
export async function retryDeferredWebhooks(deps: Deps): Promise<number> {
  const config = getConfig(deps.env);
  return retryDeferred({ ...deps, config, stripe: stripeClient(config) });
}
