import { eq } from "drizzle-orm";
import { adminFanoutGrants } from "../db/schema";
import type { DomainEvent, EventSink } from "../events/types";
import { paymentMerchantId, recentAdminIds } from "../platform/directory";
import { returnToBudget, takeFromBudget } from "../platform/limits";
import type { BaseDeps } from "../platform/types";

/**
 * Bounds on the admin fan-out, which runs inside the request that published the event (a ticket
 * creation, a webhook). Each admin channel is a Durable Object call, a subrequest of that
 * request: unbounded, a directory of every admin ever seen made each event cost one call per
 * admin, all at once. Only the most recently seen admins get the live event (one who has not
 * called the API for that long has no dashboard open; the REST API has everything), and at most
 * PUSH_CONCURRENCY calls are in flight.
 */
export const MAX_ADMIN_CHANNELS = 100;
export const PUSH_CONCURRENCY = 8;
/**
 * Budgets of admin fan-outs per minute for events any user can cause (a new ticket), so the
 * admin feeds cost at most ADMIN_FANOUTS_PER_MINUTE × MAX_ADMIN_CHANNELS channel calls a
 * minute however many users open tickets. Each source (the ticket's merchant, or its user when
 * it names none) has its own budget below the platform-wide ceiling, so one noisy merchant
 * spends its own share and cannot starve everyone else's tickets. An event past either budget
 * is not dropped: it still reaches the merchant's feed, and the delivery stays pending, so the
 * retry job brings it to the admin feeds once a budget has room. Disputes and security
 * alerts, which users cannot mass-produce, always fan out.
 */
export const ADMIN_FANOUTS_PER_MINUTE = 30;
export const ADMIN_FANOUTS_PER_SOURCE_PER_MINUTE = 5;
const BUDGETED = new Set<string>(["ticket.created"]);

/** Runs `fn` over `items` with at most `limit` in flight; settles every one. */
async function settleLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<unknown>,
): Promise<PromiseSettledResult<unknown>[]> {
  const results: PromiseSettledResult<unknown>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: "fulfilled", value: await fn(items[i] as T) };
      } catch (reason) {
        results[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Events every admin's feed shows (docs/chat-protocol.md, "Live channels"). */
const FOR_ADMINS = new Set<string>([
  "dispute.created",
  "dispute.updated",
  "dispute.closed",
  "security.alert",
  "ticket.created",
]);

async function merchantOf(event: DomainEvent, deps: BaseDeps): Promise<string | null> {
  const data = event.data as { merchant_id?: string | null; payment_id?: string | null };
  if (data.merchant_id) return data.merchant_id;
  // Disputes name the payment, not the merchant: look it up so the merchant sees its disputes.
  if (event.type.startsWith("dispute.") && data.payment_id)
    return paymentMerchantId(deps.db, data.payment_id);
  return null;
}

/** Whose budget a budgeted event is charged to. */
function sourceOf(event: DomainEvent): string {
  const data = event.data as { merchant_id?: string | null; user_id?: string };
  return data.merchant_id ? `merchant:${data.merchant_id}` : `user:${data.user_id ?? "unknown"}`;
}

/**
 * Whether this event may fan out to the admin feeds now. An event takes one unit of its
 * source's budget and one of the global ceiling, once: the grant is recorded
 * (admin_fanout_grants), so a retried delivery (one admin channel failed) fans out again
 * without paying again. The source budget is taken first and given back if the ceiling
 * refuses, so a refused event costs nothing, and a noisy source that is over its own budget
 * never touches the global one. Concurrent attempts of one event are already kept apart by the
 * sink delivery's claim (events/deliveries.ts).
 */
async function adminFanoutAllowed(event: DomainEvent, deps: BaseDeps, at: number): Promise<boolean> {
  if (!BUDGETED.has(event.type)) return true;
  const { db } = deps;
  const grant = await db
    .select({ id: adminFanoutGrants.eventId })
    .from(adminFanoutGrants)
    .where(eq(adminFanoutGrants.eventId, event.id))
    .get();
  if (grant) return true;
  const source = sourceOf(event);
  const own = `admin-fanout:source:${source}`;
  let ok = await takeFromBudget(db, own, ADMIN_FANOUTS_PER_SOURCE_PER_MINUTE, at);
  if (ok && !(await takeFromBudget(db, "admin-fanout:global", ADMIN_FANOUTS_PER_MINUTE, at))) {
    await returnToBudget(db, own, at);
    ok = false;
  }
  if (!ok) {
    deps.logger.warn("admin fan-out budget spent; admin feeds retried later", { event_id: event.id, source });
    return false;
  }
  await db
    .insert(adminFanoutGrants)
    .values({ eventId: event.id, source, grantedAt: Date.now() })
    .onConflictDoNothing();
  return true;
}

/**
 * Which LiveChannel objects an event goes to: `merchant:<id>` and/or `admin:<id>`, and whether
 * the admin feeds were skipped for budget (`adminsDeferred`). `at` is the clock the fan-out
 * budget is judged by (now, except in tests).
 */
export async function channelsFor(
  event: DomainEvent,
  deps: BaseDeps,
  at = Date.now(),
): Promise<{ channels: string[]; adminsDeferred: boolean }> {
  const channels: string[] = [];
  const merchantId = await merchantOf(event, deps);
  if (merchantId) channels.push(`merchant:${merchantId}`);
  if (!FOR_ADMINS.has(event.type)) return { channels, adminsDeferred: false };
  if (!(await adminFanoutAllowed(event, deps, at))) return { channels, adminsDeferred: true };
  for (const id of await recentAdminIds(deps.db, MAX_ADMIN_CHANNELS)) channels.push(`admin:${id}`);
  return { channels, adminsDeferred: false };
}

/**
 * Live feeds are views over durable data (a dashboard that misses one reloads from the API).
 * One unreachable channel does not stop the others; the sink then fails, so the delivery is
 * retried (src/events/redeliver.ts) and every channel is pushed again: a LiveChannel ignores
 * an event id it already holds, so channels that had it do not show it twice. An event whose
 * admin fan-out was deferred for budget fails the same way after its merchant push, so it is
 * never recorded as delivered to feeds it did not reach.
 */
export const liveChannelSink: EventSink = {
  name: "live-channels",
  async handle(event, deps) {
    const { channels, adminsDeferred } = await channelsFor(event, deps);
    const live = { id: event.id, type: event.type, occurred_at: event.occurred_at, data: event.data };
    const results = await settleLimited(channels, PUSH_CONCURRENCY, (name) =>
      deps.env.LIVE_CHANNEL.getByName(name).push(live),
    );
    const failed = channels.filter((_, i) => results[i]?.status === "rejected");
    results.forEach((r, i) => {
      if (r.status === "rejected") {
        deps.logger.warn("live channel push failed", {
          channel: channels[i],
          event_id: event.id,
          err: r.reason,
        });
      }
    });
    if (failed.length > 0)
      throw new Error(`live push failed for ${failed.length} of ${channels.length} channels`);
    if (adminsDeferred) throw new Error("admin fan-out budget spent; admin feeds deferred");
  },
};
