import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, json, updatedAt, uuidPk } from "./columns";

export const TICKET_STATUSES = ["open", "pending", "resolved", "closed"] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

export const supportTickets = sqliteTable(
  "support_tickets",
  {
    id: uuidPk(),
    userId: text("user_id").notNull(),
    merchantId: text("merchant_id"),
    subject: text("subject").notNull(),
    status: text("status", { enum: TICKET_STATUSES }).notNull(),
    lastMessageAt: integer("last_message_at"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("tickets_user_created_idx").on(t.userId, t.createdAt, t.id),
    index("tickets_status_created_idx").on(t.status, t.createdAt, t.id),
    index("tickets_created_idx").on(t.createdAt, t.id),
  ],
);

/** A link, or an uploaded file (`id`; `url` is then its download path). */
export type Attachment = { id?: string; url: string; name: string; content_type: string; size: number };

/** D1 mirror of each TicketRoom's SQLite log; the id makes the mirror write idempotent. */
export const chatMessages = sqliteTable(
  "chat_messages",
  {
    id: uuidPk(),
    ticketId: text("ticket_id").notNull(),
    seq: integer("seq").notNull(),
    senderId: text("sender_id").notNull(),
    senderRole: text("sender_role").notNull(),
    body: text("body").notNull(),
    attachments: json("attachments").$type<Attachment[]>(),
    clientId: text("client_id"),
    readAt: integer("read_at"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("chat_messages_ticket_seq_idx").on(t.ticketId, t.seq)],
);

/** Short-lived, single-use WebSocket connect tickets (browsers cannot send headers on upgrade). */
export const connectTickets = sqliteTable(
  "connect_tickets",
  {
    /** SHA-256 of the secret handed to the client; the secret itself is never stored. */
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    role: text("role").notNull(),
    merchantId: text("merchant_id"),
    /** The socket path this ticket may open, e.g. /ws/support/<id>. */
    path: text("path").notNull(),
    expiresAt: integer("expires_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("connect_tickets_expires_idx").on(t.expiresAt)],
);

export const ATTACHMENT_STATUSES = ["pending", "ready", "deleting"] as const;
export type AttachmentStatus = (typeof ATTACHMENT_STATUSES)[number];

/** Uploaded files (migration 0018); the bytes are in R2 at `tickets/<ticket_id>/<id>`. */
export const chatAttachments = sqliteTable(
  "chat_attachments",
  {
    id: uuidPk(),
    ticketId: text("ticket_id").notNull(),
    uploaderId: text("uploader_id").notNull(),
    name: text("name").notNull(),
    /** Sniffed from the bytes, never the client's header. */
    contentType: text("content_type").notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    status: text("status", { enum: ATTACHMENT_STATUSES }).notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index("chat_attachments_ticket_idx").on(t.ticketId, t.status),
    index("chat_attachments_sweep_idx").on(t.status, t.updatedAt).where(sql`${t.status} <> 'ready'`),
  ],
);
