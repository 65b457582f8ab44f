import type { AnalyticsEventType } from "../db/schema/analytics";

/**
 * The one place that writes to Workers Analytics Engine (dataset `platform_events`).
 * AE is the fire-and-forget, sampled stream for dashboards at scale; D1 holds the rows
 * the reports here read. Positions are part of the dataset's schema: never reorder them,
 * add new fields at the end and bump AE_SCHEMA_VERSION.
 *
 *   index1  = event_type (also the sampling key)
 *   blob1   = schema version ("v1")
 *   blob2   = event_type
 *   blob3   = user_id ("" when anonymous)
 *   blob4   = session_id
 *   blob5   = page ("" when absent)
 *   blob6   = element ("" when absent)
 *   blob7   = source ("" when absent)
 *   blob8   = currency (payment_completed only, else "")
 *   blob9   = kind: "event" for one event, "rollup" for an overflow aggregate
 *   blob10  = bot: "1" when ingest classified the event as a bot (bots.ts), else "0" (v2)
 *   double1 = occurred_at, epoch ms
 *   double2 = amount in minor units (payment_completed only, else 0)
 *   double3 = count of events this point stands for (1, or N for a rollup)
 */
export const AE_SCHEMA_VERSION = "v2";

/** Workers allow at most 250 writeDataPoint calls per invocation (Analytics Engine limits). */
export const AE_MAX_POINTS_PER_INVOCATION = 250;

export type AePoint = {
  eventType: AnalyticsEventType;
  userId: string | null;
  sessionId: string;
  page?: string | null;
  element?: string | null;
  source?: string | null;
  currency?: string | null;
  amount?: number | null;
  occurredAt: number;
  /** Classified as a bot at ingest; the point is written anyway, flagged in blob10. */
  bot?: boolean;
};

/** Only the method we call, so a recording fake and env.ANALYTICS both fit. */
export type AeBinding = Pick<AnalyticsEngineDataset, "writeDataPoint">;

export type AeStats = { written: number; events: number; rolledUp: number; dropped: number };

function toDataPoint(p: AePoint, kind: "event" | "rollup", count: number): AnalyticsEngineDataPoint {
  return {
    indexes: [p.eventType],
    blobs: [
      AE_SCHEMA_VERSION,
      p.eventType,
      p.userId ?? "",
      p.sessionId,
      p.page ?? "",
      p.element ?? "",
      p.source ?? "",
      p.currency ?? "",
      kind,
      p.bot === true ? "1" : "0",
    ],
    doubles: [p.occurredAt, p.amount ?? 0, count],
  };
}

/**
 * Counts its writes against the per-invocation budget, so one writer used for a whole batch
 * never exceeds it: when the batch does not fit, the tail is folded into one "rollup" point
 * per event type (double3 = how many events it stands for), and only what still does not fit
 * is dropped. Both are counted in `stats` so callers can log it.
 * The budget is per writer, not per invocation: ingest makes one per request, but the
 * analytics sink (on-event.ts) makes one per domain event, because a sink keeps no state
 * between events (a Durable Object's deps outlive one invocation), so the points of several
 * payments published in one invocation are not counted together.
 * Writes never throw: analytics must not fail the request that produced them.
 */
export class AeWriter {
  readonly stats: AeStats = { written: 0, events: 0, rolledUp: 0, dropped: 0 };

  constructor(
    private readonly binding: AeBinding | undefined,
    private readonly budget = AE_MAX_POINTS_PER_INVOCATION,
  ) {}

  get remaining(): number {
    return Math.max(0, this.budget - this.stats.written);
  }

  writeAll(points: AePoint[]): AeStats {
    const room = this.remaining;
    if (points.length <= room) {
      for (const p of points) this.emit(toDataPoint(p, "event", 1), 1, false);
      return this.stats;
    }
    // Largest k such that k single points plus one rollup per distinct type of the tail fit.
    let k = Math.min(points.length, room);
    while (k > 0 && k + distinctTypes(points.slice(k)) > room) k--;
    for (const p of points.slice(0, k)) this.emit(toDataPoint(p, "event", 1), 1, false);
    for (const group of groupByType(points.slice(k))) {
      const first = group[0];
      if (!first) continue;
      if (this.remaining === 0) {
        this.stats.dropped += group.length;
        continue;
      }
      const rollup: AePoint = {
        eventType: first.eventType,
        userId: null,
        sessionId: "",
        occurredAt: Math.max(...group.map((g) => g.occurredAt)),
        amount: group.reduce((s, g) => s + (g.amount ?? 0), 0),
        bot: group.every((g) => g.bot === true),
      };
      this.emit(toDataPoint(rollup, "rollup", group.length), group.length, true);
    }
    return this.stats;
  }

  private emit(point: AnalyticsEngineDataPoint, events: number, rollup: boolean): void {
    if (!this.binding) {
      this.stats.dropped += events;
      return;
    }
    try {
      this.binding.writeDataPoint(point);
      this.stats.written += 1;
      this.stats.events += events;
      if (rollup) this.stats.rolledUp += events;
    } catch {
      this.stats.dropped += events;
    }
  }
}

function distinctTypes(points: AePoint[]): number {
  return new Set(points.map((p) => p.eventType)).size;
}

function groupByType(points: AePoint[]): AePoint[][] {
  const groups = new Map<string, AePoint[]>();
  for (const p of points) {
    const g = groups.get(p.eventType);
    if (g) g.push(p);
    else groups.set(p.eventType, [p]);
  }
  return [...groups.values()];
}
