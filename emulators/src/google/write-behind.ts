/**
 * Write-behind storage for the send hot path. Every Durable Object turn that writes SQLite
 * pays a durable commit, which made each send cost a few milliseconds under load; counters
 * and delivered-message rows are kept in memory and committed together every FLUSH_MS
 * (or as soon as they are read). At worst a crash loses the last few milliseconds of records.
 */

const FLUSH_MS = 25;
const FLUSH_ROWS = 500;

export const COUNTER_NAMES = [
  "token_exchanges",
  "token_exchanges_failed",
  "sends_ok",
  "sends_failed",
  "sends_validated",
  "max_concurrency",
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

export type MessageRow = {
  name: string;
  target_kind: string;
  target: string;
  message: string;
  access_token_suffix: string;
  received_at: number;
};

export class WriteBehind {
  readonly counts: Record<CounterName, number>;
  private dirty = new Set<CounterName>();
  private rows: MessageRow[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly sql: SqlStorage) {
    for (const name of COUNTER_NAMES) {
      sql.exec("INSERT OR IGNORE INTO counters (name, value) VALUES (?, 0)", name);
    }
    const stored = sql
      .exec<{ name: CounterName; value: number }>("SELECT name, value FROM counters")
      .toArray();
    this.counts = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Record<CounterName, number>;
    for (const { name, value } of stored) this.counts[name] = value;
  }

  bump(name: CounterName): void {
    this.set(name, this.counts[name] + 1);
  }

  set(name: CounterName, value: number): void {
    this.counts[name] = value;
    this.dirty.add(name);
    this.schedule();
  }

  append(row: MessageRow): void {
    this.rows.push(row);
    if (this.rows.length >= FLUSH_ROWS) this.flush();
    else this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  /** Commits everything pending in this turn: one transaction, one durable write. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const name of this.dirty) {
      this.sql.exec("UPDATE counters SET value = ? WHERE name = ?", this.counts[name], name);
    }
    this.dirty.clear();
    for (const r of this.rows) {
      this.sql.exec(
        "INSERT INTO messages (name, target_kind, target, message, access_token_suffix, received_at) VALUES (?, ?, ?, ?, ?, ?)",
        r.name,
        r.target_kind,
        r.target,
        r.message,
        r.access_token_suffix,
        r.received_at,
      );
    }
    this.rows = [];
  }

  /** Forgets pending rows and zeroes every counter (max_concurrency restarts from `inFlight`). */
  reset(inFlight: number): void {
    this.rows = [];
    for (const name of COUNTER_NAMES) this.set(name, name === "max_concurrency" ? inFlight : 0);
    this.flush();
  }
}
