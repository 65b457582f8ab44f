import { publish } from "../events/publish";
import type { Deps } from "../platform/deps";
import { ApiError } from "../platform/errors";
import { truncateText } from "../platform/text";
import type { OutboxItem, RoomMeta, RoomStore, StoredMessage } from "./room-store";

/** Retry schedule for a failing mirror: 10 s, 20 s, 40 s … capped at 5 minutes. */
export function retryDelayMs(attempts: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempts - 1), 300_000);
}

/**
 * How long a room collects writes before mirroring them to D1 in one batch: the bound on how far
 * the REST history lags the live room while the instance stays up (the safety-net alarm,
 * retryDelayMs(1), bounds it after an eviction). A quiet room waits MIRROR_COALESCE_MS; a room
 * whose last window collected MIRROR_BUSY_WRITES or more and closed less than
 * MIRROR_BUSY_COALESCE_MS ago waits MIRROR_BUSY_COALESCE_MS, so a busy room costs D1 one batch
 * a second instead of five. Under 50 rooms × 10 msg/s the drains (a D1 batch and a cursor write
 * each) were as many commits as the messages (BENCHMARKS.md).
 */
export const MIRROR_COALESCE_MS = 200;
export const MIRROR_BUSY_COALESCE_MS = 1_000;
export const MIRROR_BUSY_WRITES = 2;

/**
 * The wait before the next drain, from how many writes the last window collected and how long
 * ago it closed: a room is busy only while its traffic goes on, so a window that closed
 * MIRROR_BUSY_COALESCE_MS or more before this write makes it quiet again (without this, one
 * burst, or a message and the read receipt it draws, kept every later message on the long window).
 */
export const mirrorWindowMs = (lastWindowWrites: number, sinceLastWindowMs: number) =>
  lastWindowWrites >= MIRROR_BUSY_WRITES && sinceLastWindowMs < MIRROR_BUSY_COALESCE_MS
    ? MIRROR_BUSY_COALESCE_MS
    : MIRROR_COALESCE_MS;

/** Outbox rows read (and mirrored in one D1 batch) per round. */
const BATCH_ROWS = 50;

// Plain D1 statements rather than drizzle: this runs for every message of every room, and
// building a query through drizzle cost more CPU than the D1 call itself (bench/notes/chat.md).
// Conflict target is the id only: a different message in the same (ticket, seq) slot is a real
// error and must fail loudly rather than be silently skipped.
const INSERT_MESSAGE = `INSERT INTO chat_messages
  (id, ticket_id, seq, sender_id, sender_role, body, attachments, client_id, read_at, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`;
const BUMP_LAST_MESSAGE = `UPDATE support_tickets
  SET last_message_at = max(coalesce(last_message_at, 0), ?) WHERE id = ?`;
const MARK_READ = `UPDATE chat_messages SET read_at = ?
  WHERE ticket_id = ? AND seq <= ? AND sender_id != ? AND read_at IS NULL`;

type ReadRef = { reader_id: string; up_to: number; read_at: number };

/** The D1 statements that mirror one message or read-receipt row (none for a vanished message). */
function statementsFor(item: OutboxItem, meta: RoomMeta, d1: D1Database): D1PreparedStatement[] {
  if (item.kind === "read") {
    const r = JSON.parse(item.ref) as ReadRef;
    return [d1.prepare(MARK_READ).bind(r.read_at, meta.ticketId, r.up_to, r.reader_id)];
  }
  const m = item.message;
  if (!m) return [];
  return [
    d1
      .prepare(INSERT_MESSAGE)
      .bind(
        m.id,
        meta.ticketId,
        m.seq,
        m.sender_id,
        m.sender_role,
        m.body,
        m.attachments,
        m.client_id,
        m.read_at,
        m.created_at,
      ),
  ];
}

/** One D1 batch (one transaction, statements in outbox order) for a run of message/read rows. */
async function mirrorRun(run: OutboxItem[], meta: RoomMeta, d1: D1Database): Promise<void> {
  const stmts = run.flatMap((item) => statementsFor(item, meta, d1));
  let latest: number | null = null;
  for (const item of run) {
    const created = item.kind === "message" ? item.message?.created_at : undefined;
    if (created !== undefined && (latest === null || created > latest)) latest = created;
  }
  if (latest !== null) stmts.push(d1.prepare(BUMP_LAST_MESSAGE).bind(latest, meta.ticketId));
  if (stmts.length > 0) await d1.batch(stmts);
}

async function publishReplied(m: StoredMessage, meta: RoomMeta, deps: Deps): Promise<void> {
  await publish(deps, {
    id: `ticket.replied:${m.id}`,
    type: "ticket.replied",
    source: "chat",
    occurred_at: m.created_at,
    data: {
      ticket_id: meta.ticketId,
      user_id: meta.ownerId,
      merchant_id: meta.merchantId,
      message_id: m.id,
      sender_id: m.sender_id,
      // Never half an emoji: the event schema refuses an unpaired surrogate (platform/text.ts).
      preview: truncateText(m.body, 200),
    },
  });
}

/**
 * Applies rows one at a time, stopping at the first failure (counted on that row). This is the
 * path for `replied` rows and the fallback when a batched run fails: it mirrors the good prefix
 * and pins the retry on the exact row D1 refuses. Returns the failing row's attempts, or null.
 */
async function applyEach(
  items: OutboxItem[],
  store: RoomStore,
  meta: RoomMeta,
  deps: Deps,
): Promise<number | null> {
  for (const item of items) {
    try {
      if (item.kind === "replied") {
        if (item.message) await publishReplied(item.message, meta, deps);
      } else {
        await mirrorRun([item], meta, deps.env.DB);
      }
      store.outboxDone(item.id);
    } catch (err) {
      if (err instanceof ApiError && err.status < 500) {
        // A row that can never succeed (e.g. event data the publisher rejects) must not block the rest.
        deps.logger.error("chat outbox: dropping invalid row", { kind: item.kind, ref: item.ref, err });
        store.outboxDone(item.id);
        continue;
      }
      const attempts = store.outboxFailed(item.id, err instanceof Error ? err.message : String(err));
      deps.logger.warn("chat outbox: mirror failed, will retry", {
        ticket_id: meta.ticketId,
        kind: item.kind,
        attempts,
        err,
      });
      return attempts;
    }
  }
  return null;
}

/** A message above the mirror cursor, in the shape the batch builder takes. */
const asItem = (m: StoredMessage): OutboxItem => ({
  id: 0,
  kind: "message",
  ref: m.id,
  attempts: 0,
  message: m,
});

/**
 * Mirrors the messages above the cursor in seq order, a batch of BATCH_ROWS per D1 transaction,
 * moving the cursor past each batch that landed. A failed batch is redone one message at a time
 * so the good prefix lands and the failure is counted on the exact message D1 refuses (the
 * cursor stops there: later messages wait, they never overtake). Returns that count, or null.
 */
async function mirrorMessages(store: RoomStore, meta: RoomMeta, deps: Deps): Promise<number | null> {
  for (;;) {
    const batch = store.unmirrored(BATCH_ROWS);
    const last = batch[batch.length - 1];
    if (!last) return null;
    try {
      await mirrorRun(batch.map(asItem), meta, deps.env.DB);
      store.setMirrored(last.seq);
      continue;
    } catch {
      // The batch is one transaction, so nothing of it landed.
    }
    for (const m of batch) {
      try {
        await mirrorRun([asItem(m)], meta, deps.env.DB);
        store.setMirrored(m.seq);
      } catch (err) {
        const attempts = store.mirrorFailed();
        deps.logger.warn("chat mirror: message failed, will retry", {
          ticket_id: meta.ticketId,
          seq: m.seq,
          attempts,
          err,
        });
        return attempts;
      }
    }
  }
}

/**
 * Whether an outbox row touches only messages at or below the mirror cursor (a read receipt up
 * to there, an event for a mirrored or vanished message): such a row owes nothing to a message
 * D1 is refusing, so that message must not hold it back.
 */
function settled(item: OutboxItem, cursor: number): boolean {
  if (item.kind === "read") return (JSON.parse(item.ref) as ReadRef).up_to <= cursor;
  return (item.message?.seq ?? 0) <= cursor;
}

/** Applies outbox rows in order: consecutive message/read rows as one D1 batch, `replied` rows one by one. */
async function applyItems(
  items: OutboxItem[],
  store: RoomStore,
  meta: RoomMeta,
  deps: Deps,
): Promise<number | null> {
  let i = 0;
  while (i < items.length) {
    let j = i;
    while (j < items.length && items[j]?.kind !== "replied") j++;
    if (j > i) {
      const run = items.slice(i, j);
      const last = run[run.length - 1];
      try {
        await mirrorRun(run, meta, deps.env.DB);
        if (last) store.outboxDoneThrough(last.id);
      } catch {
        // The batch is one transaction, so nothing of it landed: redo it row by row.
        const failed = await applyEach(run, store, meta, deps);
        if (failed !== null) return failed;
      }
      i = j;
      continue;
    }
    const failed = await applyEach([items[i] as OutboxItem], store, meta, deps);
    if (failed !== null) return failed;
    i++;
  }
  return null;
}

/**
 * Drains everything the room owes D1 and the event publisher: first the messages above the
 * mirror cursor, then the outbox (read receipts and `replied` events) in order, and round again
 * while either has work. Messages go first so a read receipt never reaches D1 before a message
 * it marks that was stored before it (a message stored later carries its own read_at in the
 * insert). When a message fails, the outbox prefix that touches only mirrored messages still goes
 * (a message D1 refuses for good must not stop the receipts and replies before it). Consecutive
 * read rows go to D1 as one batch; a `replied` row waits for the run before it, then publishes.
 * Every step is idempotent (insert by id ON CONFLICT(id) DO NOTHING, conditional updates, events
 * keyed by id), so a crash between a D1 write and the cursor or outbox update only repeats
 * harmless work. Returns the failing attempt count, or null once done.
 */
export async function drainOutbox(store: RoomStore, meta: RoomMeta, deps: Deps): Promise<number | null> {
  for (;;) {
    const failedMessage = await mirrorMessages(store, meta, deps);
    const items = store.outboxWithMessages(BATCH_ROWS);
    if (failedMessage !== null) {
      const cursor = store.mirroredSeq();
      const ready = items.findIndex((item) => !settled(item, cursor));
      const failed = await applyItems(ready < 0 ? items : items.slice(0, ready), store, meta, deps);
      return failed ?? failedMessage;
    }
    if (items.length === 0) {
      if (store.unmirrored(1).length === 0) return null;
      continue;
    }
    const failed = await applyItems(items, store, meta, deps);
    if (failed !== null) return failed;
  }
}
