import { z } from "@hono/zod-openapi";
import { ApiError } from "../../platform/errors";
import { isoDateParam } from "../../platform/pagination";

export const DAY_MS = 86_400_000;
export const MAX_RANGE_DAYS = 400;
export const DEFAULT_RANGE_DAYS = 30;

export const rangeQuery = {
  from: isoDateParam.optional().openapi({ description: "Start (inclusive); default: `to` minus 30 days" }),
  to: isoDateParam.optional().openapi({ description: "End (exclusive); default: now" }),
};

export type Range = { from: number; to: number };

/** Fills defaults and rejects empty, inverted or over-long ranges with a 400. */
export function resolveRange(q: { from?: number | undefined; to?: number | undefined }, now: number): Range {
  const to = q.to ?? now;
  const from = q.from ?? to - DEFAULT_RANGE_DAYS * DAY_MS;
  if (from >= to) {
    throw new ApiError("VALIDATION_FAILED", "from must be before to", {
      details: [{ path: "from", message: "must be < to" }],
    });
  }
  if (to - from > MAX_RANGE_DAYS * DAY_MS) {
    throw new ApiError("VALIDATION_FAILED", `range must not exceed ${MAX_RANGE_DAYS} days`, {
      details: [{ path: "to", message: `at most ${MAX_RANGE_DAYS} days after from` }],
    });
  }
  return { from, to };
}

export const rangeSchema = z.object({ from: z.string(), to: z.string() }).openapi("AnalyticsRange");

export const isoRange = (r: Range) => ({
  from: new Date(r.from).toISOString(),
  to: new Date(r.to).toISOString(),
});

/** "7d", "24h", "30m": a duration of 1 minute to 90 days. */
export const windowParam = z
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

/** An IANA zone name the runtime knows, e.g. "Europe/Paris"; "UTC" by default. */
export const tzParam = z
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

/** Ratio as a percentage with one decimal, null when the base is zero. */
export const pct = (part: number, whole: number): number | null =>
  whole === 0 ? null : Math.round((part / whole) * 1000) / 10;
