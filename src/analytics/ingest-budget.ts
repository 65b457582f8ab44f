import { DurableObject } from "cloudflare:workers";
import type { BudgetRefusal, BudgetTake } from "./budget";
import { DAY_MS } from "./store";

/**
 * The daily ingest byte budgets (budget.ts), in one Durable Object with its own SQLite.
 *
 * Why not ANALYTICS_DB, where they lived first: every accepted POST took its budgets in one D1
 * upsert, one write per request on the writer the queue consumer needs for its batches.
 *
 * Why exact: a take is ONE upsert statement over all its keys, and the table's
 * CHECK (bytes <= cap) fails that statement when any key would pass its cap; SQLite backs a
 * failed statement out whole, so a take writes every key or none, and no other take runs
 * inside it (the object runs one event at a time). The output gate holds the RPC's answer
 * until the commit is durable, so a 202 never rests on a count that could be lost. Counts
 * only grow within a day (nothing is given back), which is what lets Workers cache refusals
 * (budget.ts).
 *
 * Size: rows are keyed (day, hashed key), about 45–65 bytes each; a day's worst case is the
 * global budget spent in the smallest events (docs/scaling.md). Old days are deleted by the
 * alarm in chunks, never inside a take, so a purge of millions of rows never stalls ingest.
 * About 1,000 requests/s per object is its limit (docs/scaling.md, "The plan past each limit").
 * Its RPC signature is shared by Worker and object versions during a gradual deployment (an
 * object runs one version at a time): change it only compatibly.
 */
const TAKE = `INSERT INTO day_budget (day, budget_key, bytes, cap)
  SELECT ?2, value->>'key', value->>'bytes', value->>'cap' FROM json_each(?1) WHERE true
  ON CONFLICT (day, budget_key) DO UPDATE SET bytes = bytes + excluded.bytes, cap = excluded.cap`;

/** Rows deleted per alarm run (a 100k-row delete took 0.3–0.5 s locally; this is ~25 ms). */
export const PURGE_CHUNK = 5_000;

export class IngestBudget extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The newest day for which this instance made sure a purge alarm is armed (memory only). */
  private armedFor = -1;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // (day, key) first: the purge deletes a range of the primary key, with no second index.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS day_budget (
      day INTEGER NOT NULL, budget_key TEXT NOT NULL, bytes INTEGER NOT NULL, cap INTEGER NOT NULL,
      PRIMARY KEY (day, budget_key), CHECK (bytes <= cap)) WITHOUT ROWID`);
  }

  /**
   * Takes every key's bytes for today, by this object's clock (one clock for every Worker, so
   * no caller can name a day the purge would not reach), or none: null when taken, else the
   * first refusal.
   */
  async take(takes: BudgetTake[]): Promise<BudgetRefusal | null> {
    const merged = mergeKeys(takes);
    const day = Math.floor(Date.now() / DAY_MS);
    try {
      this.sql.exec(TAKE, JSON.stringify(merged), day);
    } catch (err) {
      if (!String(err).includes("CHECK constraint failed")) throw err;
      for (const t of merged) {
        const used = this.used(t.key, day);
        if (used + t.bytes > t.cap) return { key: t.key, cap: t.cap, used, day };
      }
      throw err;
    }
    // After the write, so a take that wrote nothing never marks the day armed.
    await this.armPurge(day);
    return null;
  }

  /** Bytes counted for one key on one day (0 when none): for tests and operators. */
  used(key: string, day: number): number {
    const row = this.sql.exec<{ bytes: number }>(
      "SELECT bytes FROM day_budget WHERE day = ? AND budget_key = ?",
      day,
      key,
    );
    return row.toArray()[0]?.bytes ?? 0;
  }

  /**
   * Deletes days before yesterday (today and yesterday are kept: SECURITY.md, "Retention"), at most
   * PURGE_CHUNK rows a run: while more are left it runs again at once, as a new event, so
   * takes are served between chunks. Then it waits for the oldest day left to expire.
   */
  override async alarm(): Promise<void> {
    // Whatever was armed has fired: the next take checks again.
    this.armedFor = -1;
    const before = Math.floor(Date.now() / DAY_MS) - 1;
    this.sql.exec(
      `DELETE FROM day_budget WHERE (day, budget_key) IN
        (SELECT day, budget_key FROM day_budget WHERE day < ? ORDER BY day LIMIT ?)`,
      before,
      PURGE_CHUNK,
    );
    const oldest = this.sql.exec<{ day: number | null }>("SELECT MIN(day) AS day FROM day_budget").one().day;
    if (oldest === null) return;
    await this.ctx.storage.setAlarm(oldest < before ? Date.now() : (oldest + 2) * DAY_MS);
  }

  /**
   * On the first take of a day: today's rows must go two days later, even with no take after;
   * rows already past that (an alarm that failed all its retries) go at once.
   */
  private async armPurge(day: number): Promise<void> {
    if (day <= this.armedFor) return;
    const stale =
      this.sql.exec("SELECT 1 FROM day_budget WHERE day < ? LIMIT 1", day - 1).toArray().length > 0;
    const due = stale ? Date.now() : (day + 2) * DAY_MS;
    const at = await this.ctx.storage.getAlarm();
    if (at === null || at > due) await this.ctx.storage.setAlarm(due);
    // Only once the alarm is set: a failure here is retried by the next take.
    this.armedFor = day;
  }
}

/** One entry per key (summed: a take naming a key twice must not check each half alone). */
function mergeKeys(takes: BudgetTake[]): BudgetTake[] {
  const byKey = new Map<string, BudgetTake>();
  for (const t of takes) {
    // At least a byte and a byte of cap: an empty take would write a row that costs nothing.
    if (
      typeof t.key !== "string" ||
      !Number.isSafeInteger(t.bytes) ||
      t.bytes < 1 ||
      !Number.isSafeInteger(t.cap) ||
      t.cap < 1
    ) {
      throw new TypeError(`invalid budget take for ${String(t.key)}`);
    }
    const seen = byKey.get(t.key);
    byKey.set(t.key, seen ? { ...t, bytes: seen.bytes + t.bytes, cap: Math.min(seen.cap, t.cap) } : { ...t });
  }
  return [...byKey.values()];
}
