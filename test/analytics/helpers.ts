import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { BUDGET_OBJECT, type BudgetScope, budgetKey } from "../../src/analytics/budget";
import { type EventRow, insertEvents } from "../../src/analytics/store";
import { dbFor } from "../../src/db/client";
import type { AnalyticsEventType } from "../../src/db/schema/analytics";
import worker from "../../src/index";
import { clientNetwork } from "../../src/platform/client-ip";
import { bodyOf } from "../helpers/body";
import { api } from "../helpers/http";

// Analytics lives in its own database (ANALYTICS_DB, issue 16); payments stay in DB.
export const db = dbFor(env.ANALYTICS_DB);
export const paymentsDb = dbFor(env.DB);
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

// Each report test works in its own slice of the past, so aggregate queries only see
// the rows that test wrote, whatever else shares the database.
let nextWeek = Math.floor(Math.random() * 500) * 20;
/** A Monday 00:00 UTC between 1990 and 2009, 20 weeks apart per call. */
export function freshMonday(): number {
  const firstMonday1990 = Date.UTC(1990, 0, 1); // 1990-01-01 was a Monday
  nextWeek += 20;
  return firstMonday1990 + (nextWeek % 1000) * 7 * DAY;
}

export type Ev = {
  type: AnalyticsEventType;
  at: number;
  user?: string | null;
  session?: string;
  page?: string;
  element?: string;
  properties?: Record<string, unknown>;
};

export async function seedEvents(events: Ev[]): Promise<void> {
  const rows: EventRow[] = events.map((e) => ({
    id: crypto.randomUUID(),
    eventType: e.type,
    userId: e.user ?? null,
    sessionId: e.session ?? e.user ?? crypto.randomUUID(),
    page: e.page ?? null,
    element: e.element ?? null,
    source: null,
    properties: e.properties ?? null,
    occurredAt: e.at,
    receivedAt: e.at,
  }));
  await insertEvents(db, rows);
}

export const iso = (ms: number) => new Date(ms).toISOString();

type Report = "user-behavior" | "conversion-funnel" | "revenue" | "revenue/by-source" | "retention";

/**
 * A report as an admin reads it. The report routes document their bodies only as JSON objects
 * (src/analytics/routes.ts), so `T` is the test's own reading of docs/analytics.md; bodyOf still
 * checks the status and that documented shape.
 */
export async function getReport<T extends Record<string, unknown>>(
  path: Report,
  token: string,
  query: Record<string, string>,
): Promise<T> {
  const res = await api(`/api/v1/analytics/${path}?${new URLSearchParams(query)}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return (await bodyOf(res, `GET /analytics/${path}`, 200)) as T;
}

/** Delivers `bodies` as one batch of `queue` to the real worker's queue handler (fresh message ids). */
export async function consumeQueue(queue: string, bodies: unknown[]) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body, i) => ({
      id: `m-${i}-${crypto.randomUUID()}`,
      timestamp: new Date(),
      attempts: 1,
      body,
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return { batch, result: await getQueueResult(batch, ctx) };
}

/** Bytes the IngestBudget object counts for a session, a client IP or everyone today: 0 when none. */
export function budgetUsed(scope: BudgetScope, value?: string): Promise<number> {
  // The IP budget is per network (an IPv6 /64), as ingest keys it.
  const keyed = scope === "ip" && value !== undefined ? clientNetwork(value) : value;
  return env.INGEST_BUDGET.getByName(BUDGET_OBJECT).used(
    budgetKey(scope, keyed),
    Math.floor(Date.now() / DAY),
  );
}
