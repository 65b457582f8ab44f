import type { Db } from "../platform/types";
import {
  ARCHIVE_PART_BYTES,
  claimDay,
  HOLDS_LEASE,
  releaseDay,
  renewDay,
  uploadInParts,
} from "./archive-upload";
import { type ExportedEvent, eventPages } from "./event-pages";
import { DAY_MS } from "./store";

/*
 * The raw-event archive (docs/analytics.md, "Archive"): ANALYTICS_ARCHIVE (R2), one gzip NDJSON
 * object per UTC day, `events/YYYY-MM-DD.ndjson.gz`, one ExportedEvent per line.
 */
export const archiveKey = (day: number) =>
  `events/${new Date(day * DAY_MS).toISOString().slice(0, 10)}.ndjson.gz`;

type Bucket = Pick<R2Bucket, "get" | "createMultipartUpload">;

const encoder = new TextEncoder();

/** Decompressed NDJSON lines of an archived day (none when the day has no object). */
export async function* archivedEvents(
  bucket: Pick<R2Bucket, "get">,
  day: number,
): AsyncGenerator<ExportedEvent[]> {
  const object = await bucket.get(archiveKey(day));
  if (!object) return;
  const text = object.body.pipeThrough(new DecompressionStream("gzip")).pipeThrough(new TextDecoderStream());
  let rest = "";
  for await (const chunk of text) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    const events = lines.filter((l) => l !== "").map(parseLine);
    if (events.length > 0) yield events;
  }
  if (rest !== "") yield [parseLine(rest)];
}

/** The tombstone that may cover an event (store.ts, NOT_ERASED): its user, or its session if anonymous. */
// Lines archived before bot filtering have no `bot`: they were counted as human.
const parseLine = (line: string): ExportedEvent => ({
  bot: 0,
  ...(JSON.parse(line) as Omit<ExportedEvent, "bot">),
});

const subjectOf = (e: ExportedEvent) => (e.user_id !== null ? `u:${e.user_id}` : `s:${e.session_id}`);

/**
 * Drops the events an erasure tombstone covers (erased at or after the event happened or was
 * received). An erasure deletes rows from D1 only; events already archived stay in their day's
 * object until it is rewritten, so every reader of the archive (the export, the archive's own
 * re-merge) filters through the tombstones, which are kept as long as the archive is.
 */
export async function withoutErased(db: Db, events: ExportedEvent[]): Promise<ExportedEvent[]> {
  if (events.length === 0) return events;
  const subjects = [...new Set(events.map(subjectOf))];
  const { results } = await db.$client
    .prepare(
      "SELECT subject, erased_at FROM analytics_erasures WHERE subject IN (SELECT value FROM json_each(?1))",
    )
    .bind(JSON.stringify(subjects))
    .all<{ subject: string; erased_at: number }>();
  if (results.length === 0) return events;
  const erasedAt = new Map(results.map((r) => [r.subject, r.erased_at]));
  return events.filter((e) => {
    const at = erasedAt.get(subjectOf(e));
    return at === undefined || at < Math.min(e.occurred_at, e.received_at);
  });
}

const DELETE_CHUNK = 5000;

export type ArchiveOptions = {
  /** Multipart part size (archive-upload.ts); tests lower it to R2's minimum. */
  partBytes?: number;
};

/**
 * Archives the raw events of one UTC day that are older than `before`, then deletes them from
 * D1: write, THEN delete, never the other way round. Re-running after a crash between the two
 * (or on the next night, for the rest of a day the cutoff split) is safe: the new object is the
 * union, by event id, of the object already there and the rows still in D1, so nothing archived
 * is lost and nothing is written twice; only then are exactly those ids deleted.
 * Streamed: D1 pages go through CompressionStream into an R2 multipart upload, one part at a
 * time, so only a part buffer and the day's id set are held. A multipart upload cannot be
 * conditional on the object it replaces, so the run first claims the day (a lease in D1): of two
 * runs of one day at once only one reads, writes and deletes; the other returns 0 and the next
 * run takes what is left. Any failure before the object is complete aborts the upload and
 * leaves every D1 row. Returns how many events it deleted from D1.
 */
export async function archiveDay(
  db: Db,
  bucket: Bucket,
  day: number,
  before: number,
  opts: ArchiveOptions = {},
): Promise<number> {
  const end = Math.min((day + 1) * DAY_MS, before);
  const any = await db.$client
    .prepare("SELECT 1 AS n FROM analytics_events WHERE occurred_at >= ?1 AND occurred_at < ?2 LIMIT 1")
    .bind(day * DAY_MS, end)
    .first();
  if (!any) return 0;
  const holder = crypto.randomUUID();
  if (!(await claimDay(db, day, holder))) return 0;
  try {
    return await archiveClaimed(db, bucket, day, end, holder, opts.partBytes ?? ARCHIVE_PART_BYTES);
  } finally {
    await releaseDay(db, day, holder);
  }
}

async function archiveClaimed(
  db: Db,
  bucket: Bucket,
  day: number,
  end: number,
  holder: string,
  partBytes: number,
): Promise<number> {
  const ids = new Set<string>();
  // Every D1 id of the day seen, also those the object already held (a crash after the put).
  const fromD1: string[] = [];
  // Who used which session, for erasures once these rows are gone from D1 (the object's
  // events too, so a day archived before the index existed is indexed on its next rewrite).
  const pairs = new Set<string>();
  const gzip = new CompressionStream("gzip");
  let upload: Promise<R2MultipartUpload> | undefined;
  const open = () => {
    upload ??= bucket.createMultipartUpload(archiveKey(day), {
      httpMetadata: { contentType: "application/gzip" },
      customMetadata: { format: "ndjson" },
    });
    return upload;
  };
  const uploading = uploadInParts(gzip.readable, partBytes, open, () => renewDay(db, day, holder));
  // Keeps an early upload failure from being unhandled while the writer still runs.
  uploading.catch(() => undefined);
  const writer = gzip.writable.getWriter();
  const write = async (events: ExportedEvent[], d1: boolean) => {
    const lines: string[] = [];
    for (const e of events) {
      if (d1) fromD1.push(e.id);
      if (ids.has(e.id)) continue;
      ids.add(e.id);
      if (e.user_id !== null) pairs.add(JSON.stringify([e.user_id, e.session_id]));
      lines.push(`${JSON.stringify(e)}\n`);
    }
    if (lines.length > 0) await writer.write(encoder.encode(lines.join("")));
  };
  const abort = async () => {
    if (upload) await (await upload).abort().catch(() => undefined);
  };
  try {
    // Erased since the object was written: the rewrite leaves them out.
    for await (const events of archivedEvents(bucket, day))
      await write(await withoutErased(db, events), false);
    for await (const events of eventPages(db, day * DAY_MS, end)) await write(events, true);
    await writer.close();
    const parts = await uploading;
    // The rows went between the first check and the read (an erasure): nothing to replace.
    if (fromD1.length === 0) {
      await abort();
      return 0;
    }
    await renewDay(db, day, holder);
    await (await open()).complete(parts);
  } catch (err) {
    await writer.abort(err).catch(() => undefined);
    await uploading.catch(() => undefined);
    await abort();
    throw err;
  }
  await db.$client.batch(afterArchive(db, day, holder, fromD1, [...pairs]));
  return fromD1.length;
}

/**
 * The object is durable: index the sessions, then delete exactly the ids it holds (a row that
 * arrived meanwhile waits for the next run). Fenced to the lease holder, in one batch.
 */
function afterArchive(db: Db, day: number, holder: string, fromD1: string[], pairs: string[]) {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < pairs.length; i += DELETE_CHUNK) {
    statements.push(
      db.$client
        .prepare(
          `INSERT INTO analytics_archived_sessions (user_id, session_id)
           SELECT value->>0, value->>1 FROM json_each(?1)
           WHERE ${HOLDS_LEASE} AND NOT EXISTS (SELECT 1 FROM analytics_erasures WHERE subject = 'u:' || (value->>0))
           ON CONFLICT DO NOTHING`,
        )
        .bind(`[${pairs.slice(i, i + DELETE_CHUNK).join(",")}]`, day, holder),
    );
  }
  for (let i = 0; i < fromD1.length; i += DELETE_CHUNK) {
    statements.push(
      db.$client
        .prepare(
          `DELETE FROM analytics_events WHERE id IN (SELECT value FROM json_each(?1)) AND ${HOLDS_LEASE}`,
        )
        .bind(JSON.stringify(fromD1.slice(i, i + DELETE_CHUNK)), day, holder),
    );
  }
  return statements;
}
