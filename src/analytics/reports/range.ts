import { ApiError } from "../../platform/errors";
import { DAY_MS } from "../store";

const MAX_RANGE_DAYS = 400;
const DEFAULT_RANGE_DAYS = 30;

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

export const isoRange = (r: Range) => ({
  from: new Date(r.from).toISOString(),
  to: new Date(r.to).toISOString(),
});

/** Ratio as a percentage with one decimal, null when the base is zero. */
export const pct = (part: number, whole: number): number | null =>
  whole === 0 ? null : Math.round((part / whole) * 1000) / 10;
