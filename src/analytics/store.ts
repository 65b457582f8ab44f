import { analyticsEvents } from "../db/schema/analytics";
import type { Db } from "../platform/types";
import type { AePoint } from "./engine";

export type EventRow = typeof analyticsEvents.$inferInsert;

/** D1 binds at most 100 parameters per statement. */
export const MAX_BOUND_PARAMS = 100;
const COLUMNS = 10; // id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at
export const ROWS_PER_STATEMENT = Math.floor(MAX_BOUND_PARAMS / COLUMNS);

/**
 * Appends rows with multi-row INSERTs of ROWS_PER_STATEMENT rows each, sent as one
 * db.batch (one round trip, all or nothing). Ids are unique, so a replay is a no-op.
 */
export async function insertEvents(db: Db, rows: EventRow[]): Promise<void> {
  if (rows.length === 0) return;
  const statements = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT).map(fillColumns);
    statements.push(db.insert(analyticsEvents).values(chunk).onConflictDoNothing());
  }
  const [first, ...rest] = statements;
  if (!first) return;
  await db.batch([first, ...rest]);
}

// Every row must name every column, or drizzle emits DEFAULT placeholders of different
// widths and the parameter count per statement would no longer be predictable.
function fillColumns(r: EventRow): EventRow {
  return {
    id: r.id,
    eventType: r.eventType,
    userId: r.userId ?? null,
    sessionId: r.sessionId,
    page: r.page ?? null,
    element: r.element ?? null,
    source: r.source ?? null,
    properties: r.properties ?? null,
    occurredAt: r.occurredAt,
    receivedAt: r.receivedAt,
  };
}

export function toAePoint(r: EventRow): AePoint {
  const props = r.properties ?? {};
  return {
    eventType: r.eventType,
    userId: r.userId ?? null,
    sessionId: r.sessionId,
    page: r.page ?? null,
    element: r.element ?? null,
    source: r.source ?? null,
    currency: typeof props.currency === "string" ? props.currency : null,
    amount: typeof props.amount === "number" ? props.amount : null,
    occurredAt: r.occurredAt,
  };
}
