import type { Db } from "../platform/types";

/*
 * The two pieces the archive (archive.ts) needs to write a day without holding it in memory:
 * an R2 multipart upload fed from a byte stream, and a per-day lease in ANALYTICS_DB that stands
 * in for the conditional put a multipart upload cannot have.
 */

/**
 * R2's rules for multipart parts (developers.cloudflare.com/r2/objects/multipart-objects): at
 * least 5 MiB, all but the last of the same size, the last no larger. Local R2 (miniflare)
 * refuses the same, so tests cannot go below the minimum either.
 */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** What the cron uses: one part buffer of this size is the archive's memory, whatever the day holds. */
export const ARCHIVE_PART_BYTES = 8 * 1024 * 1024;

/**
 * Cuts `stream` into parts of exactly `partBytes` (the last shorter) and uploads each as it
 * fills, so one part is held at a time. `upload` is called for the first part only, so an empty
 * stream never opens an upload it would have to abort; `beforePart` runs before every part (the
 * lease renewal). On failure the stream is cancelled, which errors its writer: the producer
 * stops instead of waiting on a reader that went away.
 */
export async function uploadInParts(
  stream: ReadableStream<Uint8Array>,
  partBytes: number,
  upload: () => Promise<R2MultipartUpload>,
  beforePart: () => Promise<void>,
): Promise<R2UploadedPart[]> {
  if (partBytes < MIN_PART_BYTES) throw new RangeError(`R2 parts are at least ${MIN_PART_BYTES} bytes`);
  const parts: R2UploadedPart[] = [];
  let buf = new Uint8Array(partBytes);
  let fill = 0;
  const flush = async () => {
    await beforePart();
    const part = await (await upload()).uploadPart(parts.length + 1, buf.subarray(0, fill));
    parts.push(part);
    buf = new Uint8Array(partBytes);
    fill = 0;
  };
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let off = 0; off < value.length; ) {
        const n = Math.min(partBytes - fill, value.length - off);
        buf.set(value.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === partBytes) await flush();
      }
    }
    if (fill > 0 || parts.length === 0) await flush();
    return parts;
  } catch (err) {
    await reader.cancel(err).catch(() => undefined);
    throw err;
  }
}

/**
 * Longer than any one archive run can take (a cron invocation is bounded; a run renews before
 * every part and before completing), so a live holder never loses it; a crashed one frees the
 * day for the next night's run.
 */
export const LEASE_MS = 60 * 60_000;

/**
 * Claims the day for `holder` (a conditional upsert: only a free or expired lease is taken).
 * Two runs racing for one day both reach this statement; D1 runs them one after the other and
 * exactly one gets a row back.
 */
export async function claimDay(db: Db, day: number, holder: string, now = Date.now()): Promise<boolean> {
  const row = await db.$client
    .prepare(
      `INSERT INTO analytics_archive_leases (day, holder, expires_at) VALUES (?1, ?2, ?3)
       ON CONFLICT (day) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
       WHERE analytics_archive_leases.expires_at <= ?4
       RETURNING holder`,
    )
    .bind(day, holder, now + LEASE_MS, now)
    .first<{ holder: string }>();
  return row?.holder === holder;
}

/** Extends the lease; throws if it is no longer ours, so the run aborts before writing more. */
export async function renewDay(db: Db, day: number, holder: string, now = Date.now()): Promise<void> {
  const row = await db.$client
    .prepare(
      "UPDATE analytics_archive_leases SET expires_at = ?3 WHERE day = ?1 AND holder = ?2 RETURNING 1 AS ok",
    )
    .bind(day, holder, now + LEASE_MS)
    .first();
  if (!row) throw new Error(`archive lease of day ${day} lost`);
}

/** Frees the day; best effort, since an unreleased lease only expires. */
export async function releaseDay(db: Db, day: number, holder: string): Promise<void> {
  await db.$client
    .prepare("DELETE FROM analytics_archive_leases WHERE day = ?1 AND holder = ?2")
    .bind(day, holder)
    .run()
    .catch(() => undefined);
}

/** The SQL condition that fences a statement of the final batch to the lease holder. */
export const HOLDS_LEASE = "EXISTS (SELECT 1 FROM analytics_archive_leases WHERE day = ?2 AND holder = ?3)";
