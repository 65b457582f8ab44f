import { and, eq, inArray } from "drizzle-orm";
import { chatAttachments, supportTickets } from "../db/schema";
import type { Deps } from "../platform/deps";
import { ApiError, notFound } from "../platform/errors";
import { newId, now } from "../platform/ids";
import type { Db, Principal } from "../platform/types";
import { loadVisibleTicket } from "./access";
import type { Attachment } from "./protocol";
import { ATTACHMENT_TYPES, checkFilename, declaredType, isAllowedType, sniff } from "./sniff";

/** docs/chat-protocol.md, "Attachments": one set of numbers for the code, the docs and the tests. */
export const ATTACHMENT_LIMITS = {
  maxBytes: 10 * 1024 * 1024,
  perTicketFiles: 50,
  perTicketBytes: 100 * 1024 * 1024,
  /** An upload still `pending` this long crashed between its row and its R2 write: swept. */
  pendingStaleMs: 15 * 60_000,
} as const;

export type AttachmentRow = typeof chatAttachments.$inferSelect;

export const objectKey = (ticketId: string, id: string) => `tickets/${ticketId}/${id}`;
export const downloadPath = (ticketId: string, id: string) =>
  `/api/v1/support/tickets/${ticketId}/attachments/${id}`;

/** How a ready attachment appears in a message: the link metadata plus its id. */
export const toMessageAttachment = (r: AttachmentRow): Attachment => ({
  id: r.id,
  url: downloadPath(r.ticketId, r.id),
  name: r.name,
  content_type: r.contentType,
  size: r.size,
});

type Upload = {
  filename: string;
  contentType: string | undefined;
  contentLength: string | undefined;
  body: ReadableStream<Uint8Array> | null;
};

const tooLarge = () =>
  new ApiError("PAYLOAD_TOO_LARGE", `An attachment may be at most ${ATTACHMENT_LIMITS.maxBytes} bytes`);

/**
 * Stores one file (docs/chat-protocol.md, "Attachments"). Refusals that need no bytes come first
 * (ticket, declared length and type); the body is then read with a running count, so a missing
 * or lying Content-Length cannot push past the limit. Writes: the row as `pending` (inside the
 * ticket's budget, in one conditional INSERT), the object, then `ready`. A crash leaves a pending
 * row, which the sweep deletes with any object: never an object without a row.
 */
export async function uploadAttachment(
  deps: Deps,
  p: Principal,
  ticketId: string,
  up: Upload,
): Promise<AttachmentRow> {
  const ticket = await loadVisibleTicket(deps.db, p, ticketId);
  if (ticket.status === "closed") throw new ApiError("CONFLICT", "Ticket is closed");
  const declared = declaredType(up.contentType);
  if (declared !== null && !isAllowedType(declared)) throw unsupported(declared);
  const length = up.contentLength === undefined ? null : Number(up.contentLength);
  if (length !== null && length > ATTACHMENT_LIMITS.maxBytes) throw tooLarge();

  const bytes = await readCapped(up.body, ATTACHMENT_LIMITS.maxBytes);
  if (bytes.byteLength === 0) throw new ApiError("UNPROCESSABLE", "The file is empty");
  const type = sniff(bytes);
  if (type === null) throw unsupported("these bytes");
  if (declared !== null && declared !== type) {
    throw new ApiError("UNPROCESSABLE", `Declared ${declared} but the bytes are ${type}`, {
      details: [{ path: "content-type", message: `the bytes are ${type}` }],
    });
  }
  const name = checkFilename(up.filename, type);
  const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));

  const t = now();
  const row: AttachmentRow = {
    id: newId(),
    ticketId,
    uploaderId: p.userId,
    name,
    contentType: type,
    size: bytes.byteLength,
    sha256,
    status: "pending",
    createdAt: t,
    updatedAt: t,
  };
  await insertWithinBudget(deps.db, row);
  try {
    await deps.env.ATTACHMENTS.put(objectKey(ticketId, row.id), bytes, {
      sha256,
      httpMetadata: { contentType: type },
    });
  } catch (err) {
    // The pending row stays for the sweep (the put may have landed before it failed).
    deps.logger.error("attachment put failed", { ticket_id: ticketId, attachment_id: row.id, err });
    throw new ApiError("UPSTREAM_UNAVAILABLE", "Storage is unavailable; retry the upload", { cause: err });
  }
  const [ready] = await deps.db
    .update(chatAttachments)
    .set({ status: "ready", updatedAt: now() })
    .where(and(eq(chatAttachments.id, row.id), eq(chatAttachments.status, "pending")))
    .returning();
  if (!ready) {
    // The ticket was erased (or the sweep took the row as stale) while we wrote: the row is now
    // `deleting`, and the sweep that may already have run did not see this object yet.
    try {
      await deps.env.ATTACHMENTS.delete(objectKey(ticketId, row.id));
    } catch (err) {
      // Not an orphan: the sweep keeps a row until it is older than pendingStaleMs, and deletes
      // its object on every run until then.
      deps.logger.warn("attachment of an erased ticket left to the sweep", {
        key: objectKey(ticketId, row.id),
        err,
      });
    }
    throw notFound("Ticket");
  }
  return ready;
}

const unsupported = (what: string) =>
  new ApiError(
    "UNSUPPORTED_MEDIA_TYPE",
    `Attachments may be ${Object.keys(ATTACHMENT_TYPES).join(", ")}; not ${what}`,
  );

async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const hex = (buf: ArrayBuffer) =>
  Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * The budget check and the insert are one statement, so parallel uploads cannot both pass a
 * check made before either wrote (D1 runs one statement at a time). Pending rows count: an
 * upload in flight holds its share. The ticket must still exist and be open, checked here again
 * because the body was read after the first check: an erase that committed first leaves nothing
 * to sweep, and a close is not followed by a new file.
 */
async function insertWithinBudget(db: Db, r: AttachmentRow): Promise<void> {
  const inserted = await db.$client
    .prepare(
      `INSERT INTO chat_attachments
         (id, ticket_id, uploader_id, name, content_type, size, sha256, status, created_at, updated_at)
       SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8
       WHERE EXISTS (SELECT 1 FROM support_tickets WHERE id = ?2 AND status <> 'closed')
         AND (SELECT count(*) FROM chat_attachments WHERE ticket_id = ?2) < ?9
         AND (SELECT coalesce(sum(size), 0) FROM chat_attachments WHERE ticket_id = ?2) + ?6 <= ?10
       RETURNING id`,
    )
    .bind(
      r.id,
      r.ticketId,
      r.uploaderId,
      r.name,
      r.contentType,
      r.size,
      r.sha256,
      r.createdAt,
      ATTACHMENT_LIMITS.perTicketFiles,
      ATTACHMENT_LIMITS.perTicketBytes,
    )
    .first<{ id: string }>();
  if (inserted) return;
  // Why not: the ticket may have been erased or closed while the body was read.
  const [ticket] = await db
    .select({ status: supportTickets.status })
    .from(supportTickets)
    .where(eq(supportTickets.id, r.ticketId))
    .limit(1);
  if (!ticket) throw notFound("Ticket");
  if (ticket.status === "closed") throw new ApiError("CONFLICT", "Ticket is closed");
  throw new ApiError(
    "CONFLICT",
    `This ticket's attachment budget (${ATTACHMENT_LIMITS.perTicketFiles} files, ` +
      `${ATTACHMENT_LIMITS.perTicketBytes} bytes) is spent`,
  );
}

/** A ready attachment of a ticket the caller may see, and its object; 404 for anything else. */
export async function openAttachment(
  deps: Deps,
  p: Principal,
  ticketId: string,
  id: string,
): Promise<AttachmentRow> {
  await loadVisibleTicket(deps.db, p, ticketId);
  const [row] = await deps.db
    .select()
    .from(chatAttachments)
    .where(
      and(
        eq(chatAttachments.id, id),
        eq(chatAttachments.ticketId, ticketId),
        eq(chatAttachments.status, "ready"),
      ),
    )
    .limit(1);
  if (!row) throw notFound("Attachment");
  return row;
}

/** The object's bytes; a ready row without its object is a bug worth a log line, and a 404. */
export async function attachmentBody(deps: Deps, row: AttachmentRow): Promise<R2ObjectBody> {
  const object = await deps.env.ATTACHMENTS.get(objectKey(row.ticketId, row.id));
  if (!object) {
    deps.logger.error("ready attachment has no object", { attachment_id: row.id, ticket_id: row.ticketId });
    throw notFound("Attachment");
  }
  return object;
}

/** The ready attachments of `ticketId` among `ids` (for the room's message check). */
export async function readyAttachments(db: Db, ticketId: string, ids: string[]): Promise<AttachmentRow[]> {
  if (ids.length === 0) return [];
  return db
    .select()
    .from(chatAttachments)
    .where(
      and(
        eq(chatAttachments.ticketId, ticketId),
        eq(chatAttachments.status, "ready"),
        inArray(chatAttachments.id, ids),
      ),
    );
}

/** Part of a ticket erase's batch: every file of the ticket becomes the sweep's work. */
export function markTicketAttachmentsDeleting(d1: D1Database, ticketId: string, at: number) {
  return d1
    .prepare("UPDATE chat_attachments SET status = 'deleting', updated_at = ?1 WHERE ticket_id = ?2")
    .bind(at, ticketId);
}

const SWEEP_BATCH = 100;
const SWEEP_MAX_ROUNDS = 20;

/**
 * The cron's sweep (src/chat/housekeeping.ts): objects of `deleting` rows, and of `pending` rows
 * older than pendingStaleMs, are deleted from R2, then their rows. At least once and idempotent:
 * deleting a missing key succeeds, so a sweep that died between the two steps redoes the first
 * and finishes the second; a failing R2 delete leaves the rows for the next run.
 * A row younger than pendingStaleMs may belong to an upload still writing its object (the ticket
 * was erased mid-upload): its object is deleted now, but its row is kept until it is stale, so a
 * put that lands after this run is deleted by a later one instead of being left without a row.
 */
export async function sweepAttachments(deps: Deps, at = now()): Promise<{ deleted: number }> {
  const d1 = deps.env.DB;
  const cutoff = at - ATTACHMENT_LIMITS.pendingStaleMs;
  // Stale uploads first become `deleting`, so a very late mark-ready cannot flip them back.
  await d1
    .prepare(
      "UPDATE chat_attachments SET status = 'deleting', updated_at = ?1 WHERE status = 'pending' AND updated_at < ?2",
    )
    .bind(at, cutoff)
    .run();
  let deleted = 0;
  let after = "";
  for (let round = 0; round < SWEEP_MAX_ROUNDS; round++) {
    const { results } = await d1
      .prepare(
        "SELECT id, ticket_id, created_at FROM chat_attachments WHERE status = 'deleting' AND id > ?1 ORDER BY id LIMIT ?2",
      )
      .bind(after, SWEEP_BATCH)
      .all<{ id: string; ticket_id: string; created_at: number }>();
    if (results.length === 0) break;
    after = results[results.length - 1]?.id ?? after;
    await deps.env.ATTACHMENTS.delete(results.map((r) => objectKey(r.ticket_id, r.id)));
    const ids = results.filter((r) => r.created_at < cutoff).map((r) => r.id);
    if (ids.length > 0) {
      const gone = await d1
        .prepare(
          `DELETE FROM chat_attachments WHERE status = 'deleting' AND id IN (${ids.map((_, i) => `?${i + 1}`).join(", ")})`,
        )
        .bind(...ids)
        .run();
      deleted += gone.meta.changes ?? 0;
    }
    if (results.length < SWEEP_BATCH) break;
  }
  return { deleted };
}
