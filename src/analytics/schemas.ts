import { z } from "@hono/zod-openapi";
import { ANALYTICS_EVENT_TYPES, type AnalyticsEventType } from "../db/schema/analytics";
import { isoDateParam } from "../platform/pagination";
import { unicodeText } from "../platform/text";
import { ATTRIBUTION_MODELS } from "./reports/attribution";
import type { FunnelStep } from "./reports/funnel";
import { DAY_MS } from "./store";

// ---- Ingest: POST /analytics/events (docs/analytics.md, "Ingest")

export const MAX_BATCH = 100;
/** Serialised properties budget (UTF-8 bytes) and nesting depth (objects/arrays). */
export const MAX_PROPERTIES_BYTES = 4096;
export const MAX_PROPERTIES_DEPTH = 3;
/** Distinct session ids one batch may carry; events naming more are rejected (TOO_MANY_SESSIONS). */
export const MAX_SESSIONS_PER_BATCH = 5;

/** Stored as sent, so Unicode text only (platform/text.ts): the stored page equals the one sent. */
const shortText = (max: number) => unicodeText(z.string().min(1).max(max));

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

/**
 * One batch item. The service checks each item against AnalyticsEvent on its own, so a bad
 * event is itemised in the 202 rather than failing the batch: the request validator must
 * accept any item. zod returns the first option that passes, so with `z.unknown()` first the
 * event schema never runs here; it is listed so the document defines and references the
 * AnalyticsEvent component.
 */
const batchItemSchema = z.union([z.unknown(), clientEventSchema]);

export const ingestBodySchema = z
  .object({
    events: z
      .array(batchItemSchema)
      .min(1)
      .max(MAX_BATCH)
      .openapi({
        description: `1–${MAX_BATCH} AnalyticsEvent objects; each is validated on its own and rejected individually`,
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
  "TOO_MANY_SESSIONS",
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

// ---- Erasure: DELETE /analytics/users/{id}

export const userIdParamSchema = z.object({ id: z.string().min(1).max(128) });

export const erasureSchema = z
  .object({
    user_id: z.string(),
    deleted: z.number().int().openapi({ description: "Events erased, the user's and anonymous ones" }),
    anonymous_deleted: z
      .number()
      .int()
      .openapi({ description: "Of those, anonymous events in sessions the user appeared in" }),
    sessions: z.number().int().openapi({ description: "Session rollup rows erased (or rebuilt)" }),
  })
  .openapi("AnalyticsErasure");

// ---- Reports: GET /analytics/* (docs/analytics.md, "Reports")

/** `include_bots=true` adds the traffic classified as bots (docs/analytics.md, "Bot filtering"). */
const includeBotsParam = z
  .enum(["true", "false"])
  .default("false")
  .transform((v) => v === "true")
  .openapi({
    type: "string",
    enum: ["true", "false"],
    description: "Include events classified as bots (User-Agent or zero-duration burst); default false",
  });

const rangeQuery = {
  from: isoDateParam.optional().openapi({ description: "Start (inclusive); default: `to` minus 30 days" }),
  to: isoDateParam.optional().openapi({ description: "End (exclusive); default: now" }),
  include_bots: includeBotsParam,
};

/** An IANA zone name the runtime knows, e.g. "Europe/Paris"; "UTC" by default. */
const tzParam = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, "unknown time zone")
  .default("UTC")
  .openapi({ type: "string", example: "Europe/Paris" });

/** "7d", "24h", "30m": a duration of 1 minute to 90 days. */
const windowParam = z
  .string()
  .regex(/^\d{1,4}[mhd]$/, "use <number><m|h|d>, e.g. 7d or 24h")
  .default("7d")
  .transform((s, ctx) => {
    const n = Number(s.slice(0, -1));
    const unit = s.at(-1) === "d" ? DAY_MS : s.at(-1) === "h" ? 3_600_000 : 60_000;
    const ms = n * unit;
    if (ms < 60_000 || ms > 90 * DAY_MS) {
      ctx.addIssue({ code: "custom", message: "window must be between 1m and 90d" });
      return z.NEVER;
    }
    return ms;
  })
  .openapi({ type: "string", example: "7d" });

/**
 * `steps=page_view:/pricing,button_click,payment_completed`: 2–8 comma-separated specs,
 * each an event type, optionally `:<page>` to match that page exactly.
 */
const stepsParam = z
  .string()
  .max(1000)
  .transform((raw, ctx) => {
    const specs = raw.split(",").map((s) => s.trim());
    if (specs.length < 2 || specs.length > 8) {
      ctx.addIssue({ code: "custom", message: "give 2 to 8 comma-separated steps" });
      return z.NEVER;
    }
    const steps: FunnelStep[] = [];
    for (const spec of specs) {
      const sep = spec.indexOf(":");
      const type = sep < 0 ? spec : spec.slice(0, sep);
      const page = sep < 0 ? null : spec.slice(sep + 1);
      if (!(ANALYTICS_EVENT_TYPES as readonly string[]).includes(type) || page === "") {
        ctx.addIssue({ code: "custom", message: `unknown step "${spec}": use <event_type>[:<page>]` });
        return z.NEVER;
      }
      steps.push({ event_type: type as AnalyticsEventType, page });
    }
    return steps;
  })
  .openapi({ type: "string", example: "page_view:/pricing,button_click,payment_completed" });

export const behaviorQuerySchema = z.object({ ...rangeQuery, tz: tzParam });
export const funnelQuerySchema = z.object({ ...rangeQuery, steps: stepsParam, window: windowParam });
export const revenueQuerySchema = z.object({
  ...rangeQuery,
  interval: z.enum(["day", "week", "month"]).default("day"),
});
export const revenueBySourceQuerySchema = z.object({
  ...rangeQuery,
  model: z.enum(ATTRIBUTION_MODELS).default("last_touch").openapi({
    description: "Credit each payment to the user's first or last UTM touch before it",
  }),
});
export const retentionQuerySchema = z.object({
  ...rangeQuery,
  cohort: z.enum(["week", "month"]).default("week"),
  periods: z.coerce.number().int().min(1).max(24).default(8),
});
export type BehaviorQuery = z.infer<typeof behaviorQuerySchema>;
export type FunnelQuery = z.infer<typeof funnelQuerySchema>;
export type RevenueQuery = z.infer<typeof revenueQuerySchema>;
export type RetentionQuery = z.infer<typeof retentionQuerySchema>;
export type RevenueBySourceQuery = z.infer<typeof revenueBySourceQuerySchema>;

// Report bodies are documented in docs/analytics.md; the schema names the top-level shape.
const report = (name: string) => z.record(z.string(), z.unknown()).openapi(name);
export const userBehaviorReportSchema = report("UserBehaviorReport");
export const conversionFunnelReportSchema = report("ConversionFunnelReport");
export const revenueReportSchema = report("RevenueReport");
export const retentionReportSchema = report("RetentionReport");
export const revenueBySourceReportSchema = report("RevenueBySourceReport");

// ---- Export: GET /analytics/export (docs/analytics.md, "Export")

export const EXPORT_FORMATS = ["ndjson", "csv"] as const;
export const exportQuerySchema = z.object({
  from: isoDateParam.openapi({ description: "Start (inclusive), required" }),
  to: isoDateParam.openapi({ description: "End (exclusive), required; at most 31 days after from" }),
  format: z.enum(EXPORT_FORMATS).default("ndjson"),
});
export type ExportQuery = z.infer<typeof exportQuerySchema>;
export const exportBodySchema = z
  .string()
  .openapi({ description: "One event per line (NDJSON), or an RFC 4180 CSV with a header row" });
