import { DurableObject } from "cloudflare:workers";
import type { BudgetTake } from "./budget";
import { DAY_MS } from "./store";

/**
 * The daily ingest byte budgets (budget.ts), in one Durable Object with its own SQLite.
 *
 * Why not ANALYTICS_DB, where they lived first: every accepted POST took its budgets in one D1
 * upsert, so ingest made one D1 write per request on the writer the queue consumer needs for
 * its batches, and the D1 round trip was a quarter of the queued path's cost in the bench
 * (BENCHMARKS.md). Here a take is one RPC and one local SQLite commit.
 *
 * Why exact still holds: a take runs inside `transactionSync`, which has no await, and the
 * object runs one event at a time, so no other take can interleave between the reads and the
 * writes; the CHECK (bytes <= cap) is the constraint behind that, and a throw anywhere rolls
 * every key of the take back (all or none). The output gate holds the RPC's answer until the
 * commit is durable, so a 202 never rests on a count that could be lost.
 *
 * One object holds every key (the `global` key needs one counter): about 1,000 requests/s per
 * object is its limit (docs/scaling.md, "The plan past each limit"). Rows older than yesterday are
 * deleted on the first take of a new day and by an alarm, so an idle object keeps client IPs
 * and session ids no longer than two days either (SECURITY.md, "Retention").
 */
export class IngestBudget extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The day whose purge already ran in this instance (memory only: running it again is cheap). */
  private purgedFor = -1;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS budget (
      budget_key TEXT NOT NULL, day INTEGER NOT NULL, bytes INTEGER NOT NULL, cap INTEGER NOT NULL,
      PRIMARY KEY (budget_key, day), CHECK (bytes <= cap)) WITHOUT ROWID`);
    this.sql.exec("CREATE INDEX IF NOT EXISTS budget_day ON budget (day)");
  }

  /** Takes every key's bytes for `day`, or none: returns null when taken, else the first refusal. */
  async take(takes: BudgetTake[], day: number): Promise<BudgetTake | null> {
    const merged = mergeKeys(takes, day);
    await this.newDay(day);
    return this.ctx.storage.transactionSync(() => {
      for (const t of merged) {
        const used = this.used(t.key, day);
        if (used + t.bytes > t.cap) return t;
      }
      for (const t of merged) {
        this.sql.exec(
          `INSERT INTO budget (budget_key, day, bytes, cap) VALUES (?, ?, ?, ?)
           ON CONFLICT (budget_key, day) DO UPDATE SET bytes = bytes + excluded.bytes, cap = excluded.cap`,
          t.key,
          day,
          t.bytes,
          t.cap,
        );
      }
      return null;
    });
  }

  /** Gives back what a take took when what it paid for never happened (the queue refused). */
  refund(takes: BudgetTake[], day: number): void {
    const merged = mergeKeys(takes, day);
    this.ctx.storage.transactionSync(() => {
      for (const t of merged) {
        this.sql.exec(
          "UPDATE budget SET bytes = MAX(0, bytes - ?) WHERE budget_key = ? AND day = ?",
          t.bytes,
          t.key,
          day,
        );
      }
    });
  }

  /** Bytes counted for one key on one day (0 when none): for tests and operators. */
  used(key: string, day: number): number {
    const row = this.sql.exec<{ bytes: number }>(
      "SELECT bytes FROM budget WHERE budget_key = ? AND day = ?",
      key,
      day,
    );
    return row.toArray()[0]?.bytes ?? 0;
  }

  override async alarm(): Promise<void> {
    this.purge(Math.floor(Date.now() / DAY_MS));
    // Rows left (today's, yesterday's): purge again when the newest of them expires.
    const newest = this.sql.exec<{ day: number | null }>("SELECT MAX(day) AS day FROM budget").one().day;
    if (newest !== null) await this.ctx.storage.setAlarm((newest + 2) * DAY_MS);
  }

  /** On the first take of a day: the purge, and an alarm for when today's rows expire. */
  private async newDay(day: number): Promise<void> {
    if (day <= this.purgedFor) return;
    this.purgedFor = day;
    this.purge(day);
    // Today's rows must go two days later even if no take ever comes again.
    await this.ctx.storage.setAlarm((day + 2) * DAY_MS);
  }

  /** Keeps today and yesterday: takes around midnight may still name yesterday. */
  private purge(today: number): void {
    this.sql.exec("DELETE FROM budget WHERE day < ?", today - 1);
  }
}

/** One entry per key (summed): a take naming a key twice must not check each half alone. */
function mergeKeys(takes: BudgetTake[], day: number): BudgetTake[] {
  if (!Number.isSafeInteger(day)) throw new TypeError("invalid budget day");
  const byKey = new Map<string, BudgetTake>();
  for (const t of takes) {
    if (!Number.isSafeInteger(t.bytes) || t.bytes < 0 || !Number.isSafeInteger(t.cap)) {
      throw new TypeError(`invalid budget take for ${t.key}`);
    }
    const seen = byKey.get(t.key);
    byKey.set(t.key, seen ? { ...t, bytes: seen.bytes + t.bytes, cap: Math.min(seen.cap, t.cap) } : { ...t });
  }
  return [...byKey.values()];
}
