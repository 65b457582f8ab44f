import { z } from "@hono/zod-openapi";
import { TICKET_STATUSES } from "../db/schema";
import { toIso } from "../platform/ids";
import { errorResponse } from "../platform/openapi";
import type { TicketRow } from "./access";
import { attachmentSchema } from "./protocol";

const err = errorResponse;
export const errors = {
  400: err("Validation failed"),
  401: err("Missing or invalid token"),
  403: err("Not allowed"),
  404: err("Not found (or not yours)"),
  409: err("Conflict"),
  429: err("Rate limited (Retry-After)"),
} as const;

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

export const chatMessageSchema = z
  .object({
    id: z.string(),
    ticket_id: z.string(),
    seq: z.number().int(),
    sender_id: z.string(),
    sender_role: z.string(),
    body: z.string(),
    attachments: z.array(attachmentSchema),
    client_id: z.string().nullable(),
    read_at: z.string().nullable().openapi({ description: "When someone other than the sender read it" }),
    created_at: z.string(),
  })
  .openapi("ChatMessage");

export const idParam = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });
