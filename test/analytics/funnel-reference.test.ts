import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { conversionFunnel, type FunnelStep, funnelQuery } from "../../src/analytics/reports/funnel";
import type { AnalyticsEventType } from "../../src/db/schema/analytics";
import { DAY, db, type Ev, freshMonday, HOUR, MIN, seedEvents } from "./helpers";

/** Deterministic PRNG (mulberry32): each dataset is the same on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES: AnalyticsEventType[] = ["page_view", "button_click", "feature_used", "payment_completed"];
const PAGES = ["/a", "/b", "/pricing"];

/** The funnel rules of docs/analytics.md, written the slow, obvious way. */
function reference(events: Ev[], from: number, to: number, steps: FunnelStep[], windowMs: number) {
  const matches = (e: Ev, s: FunnelStep) => e.type === s.event_type && (s.page === null || e.page === s.page);
  const byActor = new Map<string, Ev[]>();
  for (const e of events) {
    if (e.at < from || e.at >= to) continue;
    const actor = e.user ?? `s:${e.session}`;
    byActor.set(actor, [...(byActor.get(actor) ?? []), e]);
  }
  const times: number[][] = steps.map(() => []);
  const deltas: number[][] = steps.map(() => []);
  for (const evs of byActor.values()) {
    const [first, ...rest] = steps;
    if (!first) continue;
    const starts = evs.filter((e) => matches(e, first)).map((e) => e.at);
    if (starts.length === 0) continue;
    const t1 = Math.min(...starts);
    let prev = t1;
    times[0]?.push(t1);
    for (const [i, step] of rest.entries()) {
      const next = evs
        .filter((e) => matches(e, step) && e.at > prev && e.at <= t1 + windowMs)
        .map((e) => e.at);
      if (next.length === 0) break;
      const t = Math.min(...next);
      times[i + 1]?.push(t);
      deltas[i + 1]?.push(t - prev);
      prev = t;
    }
  }
  const median = (xs: number[]) => {
    if (xs.length === 0) return null;
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor((s.length - 1) / 2);
    return Math.round(s.length % 2 ? (s[mid] ?? 0) : ((s[mid] ?? 0) + (s[mid + 1] ?? 0)) / 2);
  };
  return steps.map((_, i) => ({
    entered: times[i]?.length ?? 0,
    median_time_to_convert_ms: i === 0 ? null : median(deltas[i] ?? []),
  }));
}

function dataset(seed: number, base: number): Ev[] {
  const r = rng(seed);
  const users = Array.from({ length: 12 }, () => crypto.randomUUID());
  const sessions = Array.from({ length: 6 }, () => crypto.randomUUID());
  return Array.from({ length: 400 }, () => {
    const anonymous = r() < 0.3;
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)] as T;
    // Minute resolution over 10 days: ties and events just outside the range both occur.
    return {
      type: pick(TYPES),
      page: pick(PAGES),
      at: base - DAY + Math.floor(r() * 10 * 24 * 60) * MIN,
      user: anonymous ? null : pick(users),
      session: pick(sessions),
    };
  });
}

describe("conversion funnel against a reference implementation", () => {
  const cases: Array<{ seed: number; steps: FunnelStep[]; windowMs: number }> = [
    {
      seed: 1,
      steps: [
        { event_type: "page_view", page: "/pricing" },
        { event_type: "button_click", page: null },
        { event_type: "payment_completed", page: null },
      ],
      windowMs: 2 * DAY,
    },
    {
      seed: 2,
      steps: [
        { event_type: "page_view", page: null },
        { event_type: "button_click", page: "/b" },
        { event_type: "page_view", page: null },
        { event_type: "feature_used", page: null },
      ],
      windowMs: 3 * DAY,
    },
    {
      seed: 3,
      steps: [
        { event_type: "button_click", page: null },
        { event_type: "button_click", page: null },
      ],
      windowMs: 3 * DAY,
    },
  ];

  for (const c of cases) {
    it(`matches on dataset ${c.seed} (${c.steps.length} steps)`, async () => {
      const base = freshMonday();
      const events = dataset(c.seed, base);
      await seedEvents(events);
      const range = { from: base, to: base + 7 * DAY };
      const got = await conversionFunnel(db, range, c.steps, c.windowMs);
      const want = reference(events, range.from, range.to, c.steps, c.windowMs);
      // Every step is reached by someone, so each step's rule is exercised.
      expect(want.every((s) => s.entered > 0)).toBe(true);
      expect(
        got.map((s) => ({ entered: s.entered, median_time_to_convert_ms: s.median_time_to_convert_ms })),
      ).toEqual(want);
    });
  }

  it("reads each later step from the per-actor covering indexes", async () => {
    const steps: FunnelStep[] = [
      { event_type: "page_view", page: "/pricing" },
      { event_type: "button_click", page: null },
    ];
    const plan = await db.all<{ detail: string }>(
      sql`EXPLAIN QUERY PLAN ${funnelQuery({ from: 0, to: DAY }, steps, HOUR)}`,
    );
    const detail = plan.map((p) => p.detail).join("\n");
    expect(detail).toMatch(
      /SEARCH analytics_events USING COVERING INDEX analytics_user_time_idx \(user_id=\?/,
    );
    expect(detail).toMatch(
      /SEARCH analytics_events USING COVERING INDEX analytics_session_time_idx \(session_id=\?/,
    );
  });
});
