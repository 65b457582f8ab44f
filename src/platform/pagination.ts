import { z } from "@hono/zod-openapi";
import { ApiError } from "./errors";

/**
 * Keyset pagination on (created_at DESC, id DESC). The cursor is opaque to clients:
 * base64url of "<created_at>:<id>" of the last row returned. Never OFFSET.
 */
export type Cursor = { t: number; id: string };

export const limitSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(100)
  .default(50)
  .openapi({ description: "Page size, 1–100", example: 50 });

export const cursorSchema = z
  .string()
  .max(200)
  .optional()
  .openapi({ description: "Opaque cursor from a previous page's next_cursor" });

export function encodeCursor(c: Cursor): string {
  return btoa(`${c.t}:${c.id}`).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(raw: string | undefined): Cursor | null {
  if (raw === undefined || raw === "") return null;
  try {
    const text = atob(raw.replaceAll("-", "+").replaceAll("_", "/"));
    const sep = text.indexOf(":");
    const t = Number(text.slice(0, sep));
    const id = text.slice(sep + 1);
    if (sep <= 0 || !Number.isSafeInteger(t) || id.length === 0 || id.length > 100) throw new Error("shape");
    return { t, id };
  } catch {
    throw new ApiError("VALIDATION_FAILED", "cursor is invalid", {
      details: [{ path: "cursor", message: "invalid" }],
    });
  }
}

/** Given limit+1 fetched rows, returns the page and the cursor for the next one. */
export function pageOf<T>(
  rows: T[],
  limit: number,
  key: (row: T) => Cursor,
): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next_cursor: rows.length > limit && last ? encodeCursor(key(last)) : null };
}

/** ISO-8601 date-time query parameter, answered as epoch ms. */
export const isoDateParam = z.iso
  .datetime({ offset: true })
  .transform((s) => Date.parse(s))
  .openapi({ type: "string", format: "date-time", example: "2026-01-01T00:00:00Z" });

/** Rejects from > to with a 400 on the `from` path. */
export function assertRange(from: number | undefined, to: number | undefined): void {
  if (from !== undefined && to !== undefined && from > to) {
    throw new ApiError("VALIDATION_FAILED", "from must not be after to", {
      details: [{ path: "from", message: "must be ≤ to" }],
    });
  }
}
