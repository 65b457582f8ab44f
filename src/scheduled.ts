import { purgeExpiredAnalytics } from "./analytics/housekeeping";
import { expireConnectTickets, sweepTicketAttachments } from "./chat/housekeeping";
import { retryEventSinks } from "./events/redeliver";
import { releaseDigests } from "./notifications/digest.service";
import { releaseHeldPushes } from "./notifications/housekeeping";
import { cancelLapsedSubscriptions } from "./payments/dunning-cancel";
import { retryDeferredWebhooks } from "./payments/housekeeping";
import { reconcilePayments } from "./payments/reconcile";
import { reconcileSubscriptionClaims } from "./payments/reconcile-subscriptions";
import { createDeps, type Deps } from "./platform/deps";
import { RETENTION_JOBS } from "./platform/retention";
import { sinks } from "./sinks";

/** Cron entry point (wrangler.toml [triggers]). Each job is isolated: one failing does not stop the rest. */
export async function handleScheduled(
  controller: ScheduledController,
  env: Env,
  _ctx: ExecutionContext,
): Promise<void> {
  const deps = createDeps(env, { sinks, log: { cron: controller.cron } });
  const daily = controller.cron === "17 3 * * *";
  const jobs: Array<[string, (d: Deps) => Promise<unknown>]> = daily
    ? [
        ["purge-analytics", purgeExpiredAnalytics],
        ["expire-connect-tickets", expireConnectTickets],
        ...RETENTION_JOBS,
      ]
    : [
        ["retry-event-sinks", retryEventSinks],
        ["release-digests", (d) => releaseDigests(d)],
        ["release-held-pushes", releaseHeldPushes],
        ["retry-deferred-webhooks", retryDeferredWebhooks],
        ["reconcile-subscription-claims", (d) => reconcileSubscriptionClaims(d)],
        ["reconcile-payments", reconcilePayments],
        ["cancel-lapsed-subscriptions", (d) => cancelLapsedSubscriptions(d)],
        ["expire-connect-tickets", expireConnectTickets],
        ["sweep-ticket-attachments", sweepTicketAttachments],
      ];
  for (const [name, job] of jobs) {
    try {
      const result = await job(deps);
      deps.logger.info("housekeeping done", { job: name, result });
    } catch (err) {
      deps.logger.error("housekeeping failed", { job: name, err });
    }
  }
}
