/**
 * The emulator's state, in the Durable Object's SQLite. Stripe objects are stored whole as
 * JSON (they are always read and written whole); events, deliveries, idempotency records,
 * faults and the request log get their own tables because they are queried.
 */
export type StripeObject = { id: string; object: string; [key: string]: unknown };

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS objects (id TEXT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, body TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL, type TEXT NOT NULL,
     payload TEXT NOT NULL, timestamp INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER,
     delivered_at INTEGER, last_status INTEGER, last_error TEXT)`,
  `CREATE TABLE IF NOT EXISTS idempotency (api_key TEXT NOT NULL, key TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
     params TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, request_id TEXT NOT NULL, created_at INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (api_key, key))`,
  `CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY AUTOINCREMENT, path_prefix TEXT NOT NULL, method TEXT,
     status INTEGER, remaining INTEGER NOT NULL, delay_ms INTEGER, retry_after INTEGER, body_contains TEXT, code TEXT)`,
  `CREATE TABLE IF NOT EXISTS requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, method TEXT NOT NULL,
     path TEXT NOT NULL, idempotency_key TEXT, params TEXT NOT NULL, status INTEGER NOT NULL, replayed INTEGER NOT NULL,
     fault INTEGER NOT NULL, at INTEGER NOT NULL)`,
];

export class Store {
  /** Idempotency keys whose first request is still running (in memory: the DO serialises them). */
  readonly inFlight = new Set<string>();

  constructor(readonly sql: SqlStorage) {
    for (const stmt of SCHEMA) sql.exec(stmt);
    // State persisted by an older emulator (npm start keeps it) lacks the fault error code.
    const cols = sql.exec<{ name: string }>("PRAGMA table_info(faults)").toArray();
    if (!cols.some((c) => c.name === "code")) sql.exec("ALTER TABLE faults ADD COLUMN code TEXT");
    // …and idempotency keys without their creation time (they count as created now).
    const idem = sql.exec<{ name: string }>("PRAGMA table_info(idempotency)").toArray();
    if (!idem.some((c) => c.name === "created_at")) {
      sql.exec("ALTER TABLE idempotency ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0");
      sql.exec("UPDATE idempotency SET created_at = ?", Date.now());
    }
  }

  get<T extends StripeObject = StripeObject>(id: string): T | null {
    const row = this.sql.exec<{ body: string }>("SELECT body FROM objects WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.body) as T) : null;
  }

  /** Every stored object of one type, oldest first (lists and lookups by field scan these). */
  all<T extends StripeObject = StripeObject>(type: string): T[] {
    return this.sql
      .exec<{ body: string }>("SELECT body FROM objects WHERE type = ? ORDER BY rowid", type)
      .toArray()
      .map((r) => JSON.parse(r.body) as T);
  }

  put<T extends StripeObject>(obj: T): T {
    this.sql.exec(
      "INSERT INTO objects (id, type, body) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET body = excluded.body",
      obj.id,
      obj.object,
      JSON.stringify(obj),
    );
    return obj;
  }
}
