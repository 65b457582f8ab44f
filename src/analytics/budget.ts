/**
 * Daily byte budgets for ingest (docs/analytics.md, "Abuse limits"), exact and global: keys
 * `s:<session>`, `ip:<client IP>` and `global`, counted per UTC day by the IngestBudget Durable
 * Object (ingest-budget.ts), which takes a request's keys all or none.
 * Sessions are client-chosen ids, so the session budget alone bounds nothing: one IP rotating
 * session ids is stopped by its own budget, and everyone together by the global one.
 */
export type BudgetTake = { key: string; bytes: number; cap: number };

/** What the budgets need of the object (its RPC methods), so callers and tests name no class. */
export type BudgetCounter = {
  take(takes: BudgetTake[], day: number): Promise<BudgetTake | null>;
  refund(takes: BudgetTake[], day: number): Promise<void>;
};

/** The one object holding every key: the `global` budget is one counter (docs/scaling.md). */
export const BUDGET_OBJECT = "ingest-budget";

export function budgetCounter(env: Pick<Env, "INGEST_BUDGET">): BudgetCounter {
  return env.INGEST_BUDGET.getByName(BUDGET_OBJECT);
}

/** Which key refused a take, and its cap, for the 429's details. */
export class BudgetExceeded extends Error {
  override name = "BudgetExceeded";
  constructor(readonly refused: BudgetTake) {
    super("daily byte budget exceeded");
  }
}

/** The object could not be reached, or failed: the request was not counted, nor accepted. */
export class BudgetUnavailable extends Error {
  override name = "BudgetUnavailable";
}

export async function takeBudgets(counter: BudgetCounter, takes: BudgetTake[], day: number): Promise<void> {
  let refused: BudgetTake | null;
  try {
    refused = await counter.take(takes, day);
  } catch (err) {
    // A take whose answer was lost may still have committed: over-counted, never under.
    throw new BudgetUnavailable("ingest budget unavailable", { cause: err });
  }
  if (refused) throw new BudgetExceeded(refused);
}

export async function refundBudgets(counter: BudgetCounter, takes: BudgetTake[], day: number): Promise<void> {
  await counter.refund(takes, day);
}
