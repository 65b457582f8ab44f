import { z } from "@hono/zod-openapi";
import { type chatAttachments, type chatMessages, TICKET_STATUSES } from "../db/schema";
import { toIso } from "../platform/ids";
import { cursorSchema, limitSchema } from "../platform/pagination";
import { unicodeText } from "../platform/text";
import type { TicketRow } from "./access";
import { downloadPath } from "./attachments.service";
import { attachmentSchema as linkSchema } from "./protocol";
import { ATTACHMENT_TYPES } from "./sniff";

export const ticketSchema = z
  .object({
    id: z.uuid(),
    user_id: z.string(),
    merchant_id: z.string().nullable(),
    subject: z.string(),
    status: z.enum(TICKET_STATUSES),
    last_message_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("SupportTicket");

export const toTicket = (r: TicketRow): z.infer<typeof ticketSchema> => ({
  id: r.id,
  user_id: r.userId,
  merchant_id: r.merchantId,
  subject: r.subject,
  status: r.status,
  last_message_at: toIso(r.lastMessageAt),
  created_at: toIso(r.createdAt) ?? "",
  updated_at: toIso(r.updatedAt) ?? "",
});

/** A message's attachment: an https link a client named, or an uploaded file (with its `id`). */
export const messageAttachmentSchema = linkSchema
  .extend({
    id: z.uuid().optional().openapi({ description: "Uploaded files only" }),
    url: z.string().openapi({ description: "https link, or the download path of an uploaded file" }),
  })
  .openapi("MessageAttachment");

export const chatMessageSchema = z
  .object({
    id: z.string(),
    ticket_id: z.string(),
    seq: z.number().int(),
    sender_id: z.string(),
    sender_role: z.string(),
    body: z.string(),
    attachments: z.array(messageAttachmentSchema),
    client_id: z.string().nullable(),
    read_at: z.string().nullable().openapi({ description: "When someone other than the sender read it" }),
    created_at: z.string(),
  })
  .openapi("ChatMessage");

export const toChatMessage = (m: typeof chatMessages.$inferSelect): z.infer<typeof chatMessageSchema> => ({
  id: m.id,
  ticket_id: m.ticketId,
  seq: m.seq,
  sender_id: m.senderId,
  sender_role: m.senderRole,
  body: m.body,
  attachments: m.attachments ?? [],
  client_id: m.clientId,
  read_at: toIso(m.readAt),
  created_at: toIso(m.createdAt) ?? "",
});

export const idParam = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });

export const createTicketBody = z.strictObject({
  subject: unicodeText(z.string().trim().min(1).max(200)),
  merchant_id: unicodeText(z.string().min(1).max(128)).optional(),
});

export const listTicketsQuery = z.object({
  status: z.enum(TICKET_STATUSES).optional(),
  limit: limitSchema,
  cursor: cursorSchema,
});

export const ticketPageSchema = z.object({
  items: z.array(ticketSchema),
  next_cursor: z.string().nullable(),
});

export const patchTicketBody = z.strictObject({ status: z.enum(TICKET_STATUSES) });

export const messagesQuery = z.object({
  limit: limitSchema,
  cursor: cursorSchema,
  order: z.enum(["asc", "desc"]).default("desc").openapi({ description: "desc: newest first" }),
});

export const messagePageSchema = z.object({
  items: z.array(chatMessageSchema),
  next_cursor: z.string().nullable(),
});

export const connectTicketBody = z.strictObject({
  path: z.string().max(200).openapi({ example: "/ws/support/7d0c6f1e-2f7b-4c1e-9a55-0f3c7a1d2b9e" }),
});

export const connectTicketSchema = z.object({
  ticket: z.string(),
  expires_at: z.string(),
  url: z.string().openapi({ description: "ws(s) URL with ?ticket= ready to open" }),
});

export const binarySchema = z.string().openapi({ type: "string", format: "binary" });

export const uploadQuery = z.object({
  filename: z.string().min(1).max(255).openapi({
    description: "Shown and used when saving; its extension must match the content",
    example: "screenshot.png",
  }),
});

export const attachmentParams = idParam.extend({
  attachment_id: z.uuid().openapi({ param: { name: "attachment_id", in: "path" } }),
});

export const attachmentSchema = z
  .object({
    id: z.uuid(),
    ticket_id: z.uuid(),
    uploader_id: z.string(),
    name: z.string(),
    content_type: z.enum(Object.keys(ATTACHMENT_TYPES) as [string, ...string[]]),
    size: z.number().int(),
    sha256: z.string(),
    download_path: z.string(),
    created_at: z.string(),
  })
  .openapi("TicketAttachment");

export const toAttachment = (r: typeof chatAttachments.$inferSelect): z.infer<typeof attachmentSchema> => ({
  id: r.id,
  ticket_id: r.ticketId,
  uploader_id: r.uploaderId,
  name: r.name,
  content_type: r.contentType,
  size: r.size,
  sha256: r.sha256,
  download_path: downloadPath(r.ticketId, r.id),
  created_at: toIso(r.createdAt) ?? "",
});
