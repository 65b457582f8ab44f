import { z } from "@hono/zod-openapi";
import { ANALYTICS_EVENT_TYPES } from "../db/schema/analytics";

export const MAX_BATCH = 100;
/** Serialised properties budget (UTF-8 bytes) and nesting depth (objects/arrays). */
export const MAX_PROPERTIES_BYTES = 4096;
export const MAX_PROPERTIES_DEPTH = 3;
/** Client clocks drift; beyond these the timestamp is a bug or a replay, not a skew. */
export const MAX_FUTURE_MS = 5 * 60_000;
export const MAX_PAST_MS = 7 * 24 * 3_600_000;

/** Types only the server records (from domain events), never accepted from clients. */
export const SERVER_ONLY_TYPES = new Set<string>(["payment_completed"]);

const shortText = (max: number) => z.string().min(1).max(max);

export const clientEventSchema = z
  .object({
    event_type: z.enum(ANALYTICS_EVENT_TYPES),
    timestamp: z
      .union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()])
      .optional()
      .openapi({ description: "ISO-8601 or epoch ms; defaults to the time received" }),
    session_id: shortText(128),
    page: shortText(512).optional(),
    element: shortText(256).optional(),
    source: shortText(128).optional(),
    properties: z
      .record(z.string().max(64), z.unknown())
      .optional()
      .openapi({
        description: `Free-form, at most ${MAX_PROPERTIES_BYTES} bytes as JSON and ${MAX_PROPERTIES_DEPTH} levels deep`,
      }),
  })
  .strict()
  .openapi("AnalyticsEvent");
export type ClientEvent = z.infer<typeof clientEventSchema>;

export const ingestBodySchema = z
  .object({
    events: z
      .array(z.unknown())
      .min(1)
      .max(MAX_BATCH)
      .openapi({
        description: `1–${MAX_BATCH} AnalyticsEvent objects; each is validated on its own and rejected individually`,
        items: { $ref: "#/components/schemas/AnalyticsEvent" },
      }),
  })
  .strict()
  .openapi("AnalyticsEventBatch");

export const REJECTION_CODES = [
  "INVALID_EVENT",
  "EVENT_TYPE_NOT_ALLOWED",
  "TIMESTAMP_OUT_OF_RANGE",
  "PROPERTIES_TOO_LARGE",
  "PROPERTIES_TOO_DEEP",
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

export const ingestResultSchema = z
  .object({
    accepted: z.number().int(),
    rejected: z.number().int(),
    errors: z.array(
      z.object({
        index: z.number().int(),
        code: z.enum(REJECTION_CODES),
        message: z.string(),
        path: z.string(),
      }),
    ),
  })
  .openapi("AnalyticsIngestResult");
export type IngestResult = z.infer<typeof ingestResultSchema>;

/** Depth of nested objects/arrays: {} is 1, {a:{}} is 2. Scalars are 0. */
export function jsonDepth(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let max = 0;
  for (const child of children) max = Math.max(max, jsonDepth(child));
  return 1 + max;
}
