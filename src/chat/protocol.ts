import { z } from "zod";
import { unicodeText } from "../platform/text";

/**
 * The chat wire protocol (docs/chat-protocol.md): JSON text frames.
 * Limits live here so the room, the docs and the tests agree on one set of numbers.
 */
export const LIMITS = {
  /** A raw frame bigger than this is not parsed at all: close 1009. */
  maxFrameBytes: 64 * 1024,
  maxBodyChars: 4000,
  maxAttachments: 5,
  maxAttachmentBytes: 25 * 1024 * 1024,
  /** Token bucket per connection: burst, then a steady rate. */
  bucketCapacity: 10,
  bucketRefillPerSec: 2,
  /** Rejected frames inside the window before the connection is closed with 1008. */
  maxStrikes: 10,
  strikeWindowMs: 30_000,
  typingThrottleMs: 2_000,
  /** Messages replayed on connect with ?since=; older history is the REST endpoint's job. */
  maxReplay: 1000,
} as const;

/** Close codes the server uses. 4000-range codes are ours (RFC 6455 §7.4.2). */
export const CLOSE = {
  policy: 1008,
  tooBig: 1009,
  ticketClosed: 4000,
} as const;

export const attachmentSchema = z.strictObject({
  url: z.url({ protocol: /^https$/, error: "must be an https URL" }).max(2048),
  name: unicodeText(z.string().min(1).max(255)),
  content_type: z
    .string()
    .max(127)
    .regex(/^[\w.+-]+\/[\w.+-]+$/, "must be a MIME type such as image/png"),
  size: z.number().int().min(0).max(LIMITS.maxAttachmentBytes),
});

const clientId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\w.:-]+$/, "letters, digits, _ . : - only");

export const clientFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("message"),
    client_id: clientId,
    // Stored in the room and the D1 mirror: what the history serves must be what was delivered.
    body: unicodeText(z.string().max(LIMITS.maxBodyChars)),
    attachments: z.array(attachmentSchema).max(LIMITS.maxAttachments).optional(),
    /** Files uploaded with POST /support/tickets/{id}/attachments (docs/chat-protocol.md, "Attachments"). */
    attachment_ids: z
      .array(z.uuid())
      .max(LIMITS.maxAttachments)
      .refine((ids) => new Set(ids).size === ids.length, "ids must be distinct")
      .optional(),
  }),
  z.strictObject({ type: z.literal("read"), up_to: z.number().int().min(0) }),
  z.strictObject({ type: z.literal("typing") }),
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;
export const CLIENT_FRAME_TYPES = ["message", "read", "typing"] as const;

/** A link (as a client sent it) or an uploaded file (`id`, and `url` is its download path). */
export type Attachment = z.infer<typeof attachmentSchema> & { id?: string };

export type ChatMessage = {
  id: string;
  seq: number;
  sender_id: string;
  sender_role: string;
  body: string;
  attachments: Attachment[];
  created_at: string;
  client_id: string;
};

export type Participant = { user_id: string; role: string };

export type ServerFrame =
  | { type: "welcome"; ticket_id: string; you: Participant; participants: Participant[]; last_seq: number }
  | ({ type: "message" } & ChatMessage)
  | { type: "ack"; client_id: string; id: string; seq: number; duplicate?: boolean }
  | { type: "read"; user_id: string; up_to: number; read_at: string }
  | { type: "typing"; user_id: string }
  | { type: "presence"; user_id: string; role: string; status: "online" | "offline" }
  | { type: "error"; code: FrameErrorCode; message: string; client_id?: string; details?: unknown };

export type FrameErrorCode =
  | "INVALID_JSON"
  | "UNKNOWN_TYPE"
  | "VALIDATION_FAILED"
  | "UNSUPPORTED_FRAME"
  | "RATE_LIMITED"
  | "UNAVAILABLE";

/**
 * Headers only the Worker sets; it strips any incoming copies before forwarding
 * (ARCHITECTURE.md, "Chat").
 */
export const INTERNAL = {
  userId: "x-chat-user-id",
  role: "x-chat-role",
  merchantId: "x-chat-merchant-id",
  ticketId: "x-chat-ticket-id",
  ticketOwner: "x-chat-ticket-owner",
  ticketMerchant: "x-chat-ticket-merchant",
  channel: "x-chat-channel",
} as const;
export const INTERNAL_PREFIX = "x-chat-";
