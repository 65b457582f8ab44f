import { eq } from "drizzle-orm";
import { payments } from "../db/schema";
import type { EventDeps } from "../events/publish";
import type { EventSink } from "../events/sinks";
import type { DomainEvent } from "../events/types";
import { adminIds } from "../platform/directory";

/** Events every admin's feed shows (DESIGN §6: disputes, security alerts, new tickets). */
const FOR_ADMINS = new Set<string>([
  "dispute.created",
  "dispute.updated",
  "dispute.closed",
  "security.alert",
  "ticket.created",
]);

async function merchantOf(event: DomainEvent, deps: EventDeps): Promise<string | null> {
  const data = event.data as { merchant_id?: string | null; payment_id?: string | null };
  if (data.merchant_id) return data.merchant_id;
  // Disputes name the payment, not the merchant: look it up so the merchant sees its disputes.
  if (event.type.startsWith("dispute.") && data.payment_id) {
    const [row] = await deps.db
      .select({ merchantId: payments.merchantId })
      .from(payments)
      .where(eq(payments.id, data.payment_id))
      .limit(1);
    return row?.merchantId ?? null;
  }
  return null;
}

/** Which LiveChannel objects an event goes to: `merchant:<id>` and/or `admin:<id>`. */
export async function channelsFor(event: DomainEvent, deps: EventDeps): Promise<string[]> {
  const channels: string[] = [];
  const merchantId = await merchantOf(event, deps);
  if (merchantId) channels.push(`merchant:${merchantId}`);
  if (FOR_ADMINS.has(event.type)) {
    for (const id of await adminIds(deps.db)) channels.push(`admin:${id}`);
  }
  return channels;
}

/**
 * Live feeds are best-effort views over durable data (a dashboard that misses one reloads
 * from the API), so one unreachable channel is logged and does not fail the others.
 */
export const liveChannelSink: EventSink = {
  name: "live-channels",
  async handle(event, deps) {
    const channels = await channelsFor(event, deps);
    const results = await Promise.allSettled(
      channels.map((name) =>
        deps.env.LIVE_CHANNEL.getByName(name).push({
          id: event.id,
          type: event.type,
          occurred_at: event.occurred_at,
          data: event.data,
        }),
      ),
    );
    results.forEach((r, i) => {
      if (r.status === "rejected") {
        deps.logger.warn("live channel push failed", {
          channel: channels[i],
          event_id: event.id,
          err: r.reason,
        });
      }
    });
  },
};
