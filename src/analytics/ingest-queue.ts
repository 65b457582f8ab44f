import { z } from "zod";
import { ANALYTICS_EVENT_TYPES } from "../db/schema/analytics";
import type { JsonRow } from "./store";

/*
 * The ingest queue's message format and packing (docs/analytics.md, "Ingest pipeline").
 * Cloudflare Queues limits: a message ≤ 128 KB (about 100 bytes of it internal metadata),
 * one sendBatch ≤ 100 messages and ≤ 256 KB in total. One request's events go in ONE sendBatch,
 * so the Queue accepts all of them or none: the 202 and the 503 never describe half a request.
 */
export const MAX_MESSAGE_BYTES = 120_000;
export const MAX_SEND_BATCH_BYTES = 240_000;
/** What each message costs a sendBatch besides its body (the Queue's metadata, rounded up). */
export const MESSAGE_OVERHEAD_BYTES = 128;
export const MAX_MESSAGES_PER_SEND = 100;

const text = z.string().nullable();
const jsonRowSchema = z.object({
  id: z.string().min(1).max(200),
  type: z.enum(ANALYTICS_EVENT_TYPES),
  user: text,
  session: z.string().min(1).max(200),
  page: text,
  element: text,
  source: text,
  props: text,
  at: z.number().int().nonnegative(),
  received: z.number().int().nonnegative(),
  // Bot classification at ingest (bots.ts). Absent in messages queued before bot filtering.
  bot: z.union([z.literal(0), z.literal(1)]).default(0),
}) satisfies z.ZodType<JsonRow>;

/** `v` lets a consumer of a newer build refuse (and dead-letter) a shape it does not know. */
export const ingestMessageSchema = z.object({ v: z.literal(1), rows: z.array(jsonRowSchema).min(1) });
export type IngestMessage = z.infer<typeof ingestMessageSchema>;

const encoder = new TextEncoder();
/** Reused by jsonBytes: encodeInto counts UTF-8 bytes without a new array per row. */
let scratch = new Uint8Array(16 * 1024);
export function jsonBytes(value: unknown): number {
  const text = JSON.stringify(value);
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  return encoder.encodeInto(text, scratch).written;
}

/**
 * Packs rows into messages of at most MAX_MESSAGE_BYTES each, in order. Returns null when they
 * do not fit one sendBatch (the caller answers 413: the client splits the batch). `sizes` are
 * the rows' jsonBytes when the caller already has them (ingest counts them for the budgets too).
 */
export function packMessages(rows: JsonRow[], sizes: number[] = rows.map(jsonBytes)): IngestMessage[] | null {
  const messages: IngestMessage[] = [];
  const envelope = jsonBytes({ v: 1, rows: [] });
  let current: JsonRow[] = [];
  let size = envelope;
  let total = 0;
  for (const [i, row] of rows.entries()) {
    const bytes = (sizes[i] ?? jsonBytes(row)) + 1; // the comma between rows
    if (envelope + bytes > MAX_MESSAGE_BYTES) return null;
    if (current.length > 0 && size + bytes > MAX_MESSAGE_BYTES) {
      messages.push({ v: 1, rows: current });
      total += size + MESSAGE_OVERHEAD_BYTES;
      current = [];
      size = envelope;
    }
    current.push(row);
    size += bytes;
  }
  if (current.length > 0) {
    messages.push({ v: 1, rows: current });
    total += size + MESSAGE_OVERHEAD_BYTES;
  }
  if (total > MAX_SEND_BATCH_BYTES || messages.length > MAX_MESSAGES_PER_SEND) return null;
  return messages;
}
