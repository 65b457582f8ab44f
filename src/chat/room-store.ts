import type { Attachment, ChatMessage } from "./protocol";

/** A message as the room stores it (epoch ms; the wire shape is built by `toWire`). */
export type StoredMessage = {
  seq: number;
  id: string;
  client_id: string;
  sender_id: string;
  sender_role: string;
  body: string;
  attachments: string;
  created_at: number;
  read_at: number | null;
};

export type RoomMeta = { ticketId: string; ownerId: string; merchantId: string | null };
/** "message" only in rooms stored before the mirror cursor (converted on first read). */
export type OutboxKind = "message" | "read" | "replied";
export type OutboxRow = { id: number; kind: OutboxKind; ref: string; attempts: number };
/** An outbox row with the message it refers to (null for read receipts, or a message gone). */
export type OutboxItem = OutboxRow & { message: StoredMessage | null };

const SCHEMA = [
  "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
  `CREATE TABLE IF NOT EXISTS messages (
     seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, client_id TEXT NOT NULL,
     sender_id TEXT NOT NULL, sender_role TEXT NOT NULL, body TEXT NOT NULL,
     attachments TEXT NOT NULL, created_at INTEGER NOT NULL, read_at INTEGER,
     UNIQUE (sender_id, client_id))`,
  // Read receipts and `replied` events that must reach D1 (or the event publisher) exactly once in
  // effect; drained in id order. Messages need no row here: `mirrored_seq` in meta is the cursor.
  `CREATE TABLE IF NOT EXISTS outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, ref TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)`,
];

/**
 * The room's SQLite (the live source of truth). Every method is synchronous: the storage API
 * is, and that is what lets a message get its seq before the handler awaits anything.
 */
export class RoomStore {
  /**
   * In-memory copies of what only this object writes. They live as long as the instance, so
   * after hibernation or eviction they are rebuilt from SQLite on first use (undefined = not
   * loaded yet). The meta never changes once the first connect wrote it; the seq only moves
   * through `append`.
   */
  private metaCache: RoomMeta | null | undefined;
  private seqCache: number | undefined;
  private mirroredCache: number | undefined;

  /**
   * `transact` runs one frame's statements as a unit (the room passes storage.transactionSync,
   * a savepoint inside the turn's implicit transaction): a frame is a message row plus its outbox
   * rows, or a read mark plus its outbox row, and a failure half-way must not keep the first half
   * (an "unavailable, resend" answer would then meet a stored duplicate with no broadcast, no
   * `replied`, no mirror).
   */
  constructor(
    private readonly sql: SqlStorage,
    private readonly transact: <T>(fn: () => T) => T,
  ) {
    for (const stmt of SCHEMA) sql.exec(stmt);
    // Before any handler can append: a room stored before the cursor is converted here, so a
    // message this code appends is never mistaken for one the old outbox had already mirrored.
    this.mirroredSeq();
  }

  /** Written on connect; a no-op (no write) when it matches what the room already holds. */
  saveMeta(m: RoomMeta): void {
    const cur = this.meta();
    if (cur && cur.ticketId === m.ticketId && cur.ownerId === m.ownerId && cur.merchantId === m.merchantId)
      return;
    const upsert =
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
    this.sql.exec(upsert, "ticket_id", m.ticketId);
    this.sql.exec(upsert, "owner_id", m.ownerId);
    this.sql.exec(upsert, "merchant_id", m.merchantId);
    this.metaCache = { ...m };
  }

  meta(): RoomMeta | null {
    if (this.metaCache !== undefined) return this.metaCache;
    const rows = this.sql
      .exec<{ key: string; value: string | null }>("SELECT key, value FROM meta")
      .toArray();
    const get = (k: string) => rows.find((r) => r.key === k)?.value ?? null;
    const ticketId = get("ticket_id");
    const ownerId = get("owner_id");
    const meta = ticketId && ownerId ? { ticketId, ownerId, merchantId: get("merchant_id") } : null;
    // A room with no meta yet is not cached: the first connect is about to write it.
    if (meta) this.metaCache = meta;
    return meta;
  }

  lastSeq(): number {
    this.seqCache ??= this.sql.exec<{ s: number }>("SELECT COALESCE(MAX(seq), 0) AS s FROM messages").one().s;
    return this.seqCache;
  }

  byClientId(senderId: string, clientId: string): StoredMessage | null {
    const rows = this.sql
      .exec<StoredMessage>("SELECT * FROM messages WHERE sender_id = ? AND client_id = ?", senderId, clientId)
      .toArray();
    return rows[0] ?? null;
  }

  byId(id: string): StoredMessage | null {
    return this.sql.exec<StoredMessage>("SELECT * FROM messages WHERE id = ?", id).toArray()[0] ?? null;
  }

  /**
   * The last seq the D1 mirror holds: every message above it is still to be mirrored. One cursor
   * instead of an outbox row per message halves the room's SQLite writes per message (the outbox
   * insert and its delete were a fifth of the room's CPU under 50 rooms, BENCHMARKS.md). A room
   * stored before the cursor existed has one `message` outbox row per unmirrored message; the
   * constructor's first read converts them, in one synchronous step.
   */
  mirroredSeq(): number {
    if (this.mirroredCache !== undefined) return this.mirroredCache;
    const stored = this.sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'mirrored_seq'")
      .toArray()[0];
    if (stored) {
      this.mirroredCache = Number(stored.value);
      return this.mirroredCache;
    }
    const legacy = this.sql
      .exec<{ s: number | null }>(
        "SELECT MIN(m.seq) AS s FROM outbox o JOIN messages m ON m.id = o.ref WHERE o.kind = 'message'",
      )
      .one().s;
    this.sql.exec("DELETE FROM outbox WHERE kind = 'message'");
    // Not lastSeq(): its cache must not be filled before a handler needs it.
    const top = this.sql.exec<{ s: number }>("SELECT COALESCE(MAX(seq), 0) AS s FROM messages").one().s;
    const seq = legacy === null ? top : legacy - 1;
    this.setMirrored(seq);
    return seq;
  }

  /** Messages above the mirror cursor, in seq order. */
  unmirrored(limit: number): StoredMessage[] {
    return this.since(this.mirroredSeq(), limit);
  }

  /** Moves the cursor (never backwards) and clears the failure count of the message it passed. */
  setMirrored(seq: number): void {
    if (this.mirroredCache !== undefined && seq <= this.mirroredCache) return;
    const upsert =
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value";
    this.sql.exec(upsert, "mirrored_seq", String(seq));
    this.sql.exec("DELETE FROM meta WHERE key = 'mirror_attempts'");
    this.mirroredCache = seq;
  }

  /** Counts a failed attempt at mirroring the message above the cursor; returns the count. */
  mirrorFailed(): number {
    const row = this.sql
      .exec<{ value: string }>(
        `INSERT INTO meta (key, value) VALUES ('mirror_attempts', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value`,
      )
      .one();
    return Number(row.value);
  }

  /**
   * Assigns the next seq in one synchronous step; the message is then above the mirror cursor,
   * which is what queues it for D1. A (sender, client_id) already stored is not inserted again:
   * the stored message comes back instead, with `duplicate`, and nothing is queued.
   */
  append(
    m: Omit<StoredMessage, "seq" | "read_at">,
    alsoQueue: OutboxKind[] = [],
  ): { stored: StoredMessage; duplicate: boolean } {
    const seq = this.lastSeq() + 1;
    const result = this.transact(() => this.insert(seq, m, alsoQueue));
    // Only once the whole frame is written: a rolled-back frame must not leave a seq gap.
    if (!result.duplicate) this.seqCache = seq;
    return result;
  }

  private insert(
    seq: number,
    m: Omit<StoredMessage, "seq" | "read_at">,
    alsoQueue: OutboxKind[],
  ): { stored: StoredMessage; duplicate: boolean } {
    const inserted = this.sql.exec(
      `INSERT INTO messages (seq, id, client_id, sender_id, sender_role, body, attachments, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING seq`,
      seq,
      m.id,
      m.client_id,
      m.sender_id,
      m.sender_role,
      m.body,
      m.attachments,
      m.created_at,
    );
    if (inserted.toArray().length === 0) {
      const existing = this.byClientId(m.sender_id, m.client_id);
      if (!existing) throw new Error("message insert skipped without a stored duplicate");
      return { stored: existing, duplicate: true };
    }
    for (const kind of alsoQueue) this.enqueue(kind, m.id);
    return { stored: { ...m, seq, read_at: null }, duplicate: false };
  }

  /**
   * After a failed write: whether SQLite rolled back the whole transaction (a full disk or an I/O
   * error does, not only the statement), taking messages this instance appended earlier in the
   * turn with it. Their seqs are then above what the log holds; the caches start over from SQLite.
   */
  lostWrites(): boolean {
    if (this.seqCache === undefined) return false;
    const onDisk = this.sql.exec<{ s: number }>("SELECT COALESCE(MAX(seq), 0) AS s FROM messages").one().s;
    if (onDisk >= this.seqCache) return false;
    this.seqCache = undefined;
    this.mirroredCache = undefined;
    return true;
  }

  since(seq: number, limit: number): StoredMessage[] {
    return this.sql
      .exec<StoredMessage>("SELECT * FROM messages WHERE seq > ? ORDER BY seq LIMIT ?", seq, limit)
      .toArray();
  }

  /** Marks others' messages up to `upTo` as read; returns how many changed. */
  markRead(readerId: string, upTo: number, at: number): number {
    return this.transact(() => this.mark(readerId, upTo, at));
  }

  private mark(readerId: string, upTo: number, at: number): number {
    const changed = this.sql
      .exec(
        "UPDATE messages SET read_at = ? WHERE seq <= ? AND sender_id != ? AND read_at IS NULL RETURNING seq",
        at,
        upTo,
        readerId,
      )
      .toArray().length;
    if (changed > 0) this.enqueue("read", JSON.stringify({ reader_id: readerId, up_to: upTo, read_at: at }));
    return changed;
  }

  /** A ticket erase: the log, the outbox and the meta go; the room is as if never opened. */
  erase(): void {
    this.sql.exec("DELETE FROM outbox");
    this.sql.exec("DELETE FROM messages");
    this.sql.exec("DELETE FROM meta");
    this.metaCache = undefined;
    this.seqCache = undefined;
    // The cursor went with the meta: an empty log is fully mirrored (seq restarts at 1).
    this.mirroredCache = undefined;
    this.setMirrored(0);
  }

  enqueue(kind: OutboxKind, ref: string): void {
    this.sql.exec("INSERT INTO outbox (kind, ref) VALUES (?, ?)", kind, ref);
  }

  outbox(limit = 50): OutboxRow[] {
    return this.sql
      .exec<OutboxRow>("SELECT id, kind, ref, attempts FROM outbox ORDER BY id LIMIT ?", limit)
      .toArray();
  }

  /** The next rows to mirror, in order, each joined with its message in the same read. */
  outboxWithMessages(limit = 50): OutboxItem[] {
    return this.sql
      .exec<OutboxJoinRow>(
        `SELECT o.id AS o_id, o.kind AS o_kind, o.ref AS o_ref, o.attempts AS o_attempts, m.*
         FROM outbox o LEFT JOIN messages m ON o.kind != 'read' AND m.id = o.ref
         ORDER BY o.id LIMIT ?`,
        limit,
      )
      .toArray()
      .map((r) => ({
        id: r.o_id,
        kind: r.o_kind,
        ref: r.o_ref,
        attempts: r.o_attempts,
        message:
          r.id === null
            ? null
            : {
                seq: r.seq as number,
                id: r.id,
                client_id: r.client_id as string,
                sender_id: r.sender_id as string,
                sender_role: r.sender_role as string,
                body: r.body as string,
                attachments: r.attachments as string,
                created_at: r.created_at as number,
                read_at: r.read_at,
              },
      }));
  }

  outboxDone(id: number): void {
    this.sql.exec("DELETE FROM outbox WHERE id = ?", id);
  }

  /** Removes a mirrored prefix of the outbox (ids only grow: AUTOINCREMENT). */
  outboxDoneThrough(id: number): void {
    this.sql.exec("DELETE FROM outbox WHERE id <= ?", id);
  }

  outboxFailed(id: number, error: string): number {
    return this.sql
      .exec<{ attempts: number }>(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ? RETURNING attempts",
        error.slice(0, 500),
        id,
      )
      .one().attempts;
  }
}

type OutboxJoinRow = {
  o_id: number;
  o_kind: OutboxKind;
  o_ref: string;
  o_attempts: number;
} & { [K in keyof StoredMessage]: StoredMessage[K] | null };

/** `attachments` skips re-parsing the stored JSON when the caller still holds the array. */
export function toWire(m: StoredMessage, attachments?: Attachment[]): ChatMessage {
  return {
    id: m.id,
    seq: m.seq,
    sender_id: m.sender_id,
    sender_role: m.sender_role,
    body: m.body,
    attachments: attachments ?? (JSON.parse(m.attachments) as Attachment[]),
    created_at: new Date(m.created_at).toISOString(),
    client_id: m.client_id,
  };
}
