import type { Db } from "../platform/types";

/**
 * Daily byte budgets for ingest (docs/analytics.md, "Abuse limits"), exact and global: rows of
 * ANALYTICS_DB.analytics_ingest_budget keyed `s:<session>`, `ip:<client IP>` and `global`.
 * Sessions are client-chosen ids, so the session budget alone bounds nothing: one IP rotating
 * session ids is stopped by its own budget, and everyone together by the global one.
 */
export type BudgetTake = { key: string; bytes: number; cap: number };

/**
 * Every key of a request in ONE upsert statement: the table's CHECK (bytes <= cap) fails the
 * statement when any key would pass its cap, and SQLite rolls the whole statement back, so a
 * request takes all its budgets or none, and parallel requests serialise on D1's single writer
 * (no check-then-act). The cap is stored per row so a config change applies from the next take.
 */
const TAKE = `INSERT INTO analytics_ingest_budget (budget_key, day, bytes, cap)
  SELECT value->>'key', ?2, value->>'bytes', value->>'cap' FROM json_each(?1) WHERE true
  ON CONFLICT (budget_key, day) DO UPDATE SET
    bytes = analytics_ingest_budget.bytes + excluded.bytes, cap = excluded.cap`;

/** Gives back what a take took, when what it paid for never happened (the queue refused). */
const REFUND = `UPDATE analytics_ingest_budget SET bytes = MAX(0, bytes -
    (SELECT SUM(value->>'bytes') FROM json_each(?1) WHERE value->>'key' = budget_key))
  WHERE day = ?2 AND budget_key IN (SELECT value->>'key' FROM json_each(?1))`;

const CAP_CONSTRAINT = "analytics_budget_cap";

/** Which key refused a take, and its cap, for the 429's details. */
export class BudgetExceeded extends Error {
  override name = "BudgetExceeded";
  constructor(readonly refused: BudgetTake | undefined) {
    super("daily byte budget exceeded");
  }
}

export async function takeBudgets(db: Db, takes: BudgetTake[], day: number): Promise<void> {
  try {
    await db.$client.prepare(TAKE).bind(JSON.stringify(takes), day).run();
  } catch (err) {
    if (!(err instanceof Error) || !String(err.message).includes(CAP_CONSTRAINT)) throw err;
    throw new BudgetExceeded(await whichRefused(db, takes, day));
  }
}

export async function refundBudgets(db: Db, takes: BudgetTake[], day: number): Promise<void> {
  await db.$client.prepare(REFUND).bind(JSON.stringify(takes), day).run();
}

/** After a refusal (read only, for the message): the first key that cannot take its share. */
async function whichRefused(db: Db, takes: BudgetTake[], day: number): Promise<BudgetTake | undefined> {
  const { results } = await db.$client
    .prepare(
      `SELECT budget_key AS key, bytes FROM analytics_ingest_budget
       WHERE day = ?2 AND budget_key IN (SELECT value->>'key' FROM json_each(?1))`,
    )
    .bind(JSON.stringify(takes), day)
    .all<{ key: string; bytes: number }>();
  const used = new Map(results.map((r) => [r.key, r.bytes]));
  return takes.find((t) => (used.get(t.key) ?? 0) + t.bytes > t.cap);
}
