import type { Db } from "../platform/types";
import { type ExportedEvent, eventPages } from "./event-pages";
import { DAY_MS } from "./store";

/*
 * The raw-event archive (docs/analytics.md, "Archive"): ANALYTICS_ARCHIVE (R2), one gzip NDJSON
 * object per UTC day, `events/YYYY-MM-DD.ndjson.gz`, one ExportedEvent per line.
 */
export const archiveKey = (day: number) =>
  `events/${new Date(day * DAY_MS).toISOString().slice(0, 10)}.ndjson.gz`;

type Bucket = Pick<R2Bucket, "get" | "put">;

const encoder = new TextEncoder();

/**
 * Decompressed NDJSON lines of an archived day (none when the day has no object). `seen`, when
 * given, gets the etag of the object read (undefined: there was none), for a conditional rewrite.
 */
export async function* archivedEvents(
  bucket: Bucket,
  day: number,
  seen?: { etag?: string },
): AsyncGenerator<ExportedEvent[]> {
  const object = await bucket.get(archiveKey(day));
  if (seen && object) seen.etag = object.etag;
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

/**
 * Archives the raw events of one UTC day that are older than `before`, then deletes them from
 * D1: write, THEN delete, never the other way round. Re-running after a crash between the two
 * (or on the next night, for the rest of a day the cutoff split) is safe: the new object is the
 * union, by event id, of the object already there and the rows still in D1, so nothing archived
 * is lost and nothing is written twice; only then are exactly those ids deleted. The write is
 * conditional on the object read, so of two concurrent runs only one writes and deletes.
 * Streams D1 pages through CompressionStream; only the compressed day and its id set are held.
 * Returns how many events it deleted from D1.
 */
export async function archiveDay(db: Db, bucket: Bucket, day: number, before: number): Promise<number> {
  const ids = new Set<string>();
  // Every D1 id of the day seen, also those the object already held (a crash after the put).
  const fromD1: string[] = [];
  const gzip = new CompressionStream("gzip");
  const compressed = new Response(gzip.readable).arrayBuffer();
  const writer = gzip.writable.getWriter();
  const write = async (events: ExportedEvent[], d1: boolean) => {
    const lines: string[] = [];
    for (const e of events) {
      if (d1) fromD1.push(e.id);
      if (ids.has(e.id)) continue;
      ids.add(e.id);
      lines.push(`${JSON.stringify(e)}\n`);
    }
    if (lines.length > 0) await writer.write(encoder.encode(lines.join("")));
  };
  // Erased since the object was written: the rewrite leaves them out.
  const seen: { etag?: string } = {};
  for await (const events of archivedEvents(bucket, day, seen)) {
    await write(await withoutErased(db, events), false);
  }
  const end = Math.min((day + 1) * DAY_MS, before);
  for await (const events of eventPages(db, day * DAY_MS, end)) await write(events, true);
  await writer.close();
  const body = await compressed;
  if (fromD1.length === 0) return 0;
  // Only over the object this run read (or onto none): two runs of one day at once would
  // otherwise race, and the later put, built from a stale read, would drop the rows the other
  // archived and deleted. The loser writes and deletes nothing; the next run takes its rows.
  const put = await bucket.put(archiveKey(day), body, {
    httpMetadata: { contentType: "application/gzip" },
    customMetadata: { format: "ndjson", events: String(ids.size) },
    onlyIf: seen.etag !== undefined ? { etagMatches: seen.etag } : { etagDoesNotMatch: "*" },
  });
  if (put === null) return 0;
  // Only ids the object now holds; a row that arrived meanwhile waits for the next run.
  const statements = [];
  for (let i = 0; i < fromD1.length; i += DELETE_CHUNK) {
    statements.push(
      db.$client
        .prepare("DELETE FROM analytics_events WHERE id IN (SELECT value FROM json_each(?1))")
        .bind(JSON.stringify(fromD1.slice(i, i + DELETE_CHUNK))),
    );
  }
  await db.$client.batch(statements);
  return fromD1.length;
}
