import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { archiveDay, archivedEvents, archiveKey } from "../../src/analytics/archive";
import { MIN_PART_BYTES } from "../../src/analytics/archive-upload";
import { EVENT_PAGE_ROWS, type ExportedEvent } from "../../src/analytics/event-pages";
import { type EventRow, insertEvents } from "../../src/analytics/store";
import { newCaller } from "../helpers/auth";
import { api, expectEnvelope } from "../helpers/http";
import { DAY, db, freshMonday } from "./helpers";

const bucket = env.ANALYTICS_ARCHIVE;

function rowsOn(day: number, n: number, extra: Partial<EventRow> = {}): EventRow[] {
  return Array.from({ length: n }, (_, i) => ({
    id: crypto.randomUUID(),
    eventType: "page_view",
    userId: i % 2 ? crypto.randomUUID() : null,
    sessionId: `s-${i % 7}`,
    page: `/p/${i}`,
    element: null,
    source: null,
    properties: { i },
    occurredAt: day * DAY + i * 1000,
    receivedAt: day * DAY + i * 1000,
    ...extra,
  }));
}

const inD1 = async (day: number) =>
  (
    await env.ANALYTICS_DB.prepare(
      "SELECT COUNT(*) AS n FROM analytics_events WHERE occurred_at >= ? AND occurred_at < ?",
    )
      .bind(day * DAY, (day + 1) * DAY)
      .first<{ n: number }>()
  )?.n ?? 0;

async function archived(day: number): Promise<ExportedEvent[]> {
  const out: ExportedEvent[] = [];
  for await (const page of archivedEvents(bucket, day)) out.push(...page);
  return out;
}

describe("raw-event archive (R2, gzip NDJSON, one object per day)", () => {
  it("round trip: the purge writes the day to R2, then deletes exactly those rows", async () => {
    const day = Math.floor(freshMonday() / DAY) + 1;
    const rows = rowsOn(day, EVENT_PAGE_ROWS + 500);
    await insertEvents(db, rows);
    expect(await archiveDay(db, bucket, day, (day + 1) * DAY)).toBe(rows.length);
    expect(await inD1(day)).toBe(0);
    const head = await bucket.head(archiveKey(day));
    expect(head?.customMetadata).toMatchObject({ format: "ndjson" });
    const back = await archived(day);
    expect(back.map((e) => e.id).sort()).toEqual(rows.map((r) => r.id).sort());
    const first = back.find((e) => e.id === rows[3]?.id);
    expect(first).toEqual({
      id: rows[3]?.id,
      event_type: "page_view",
      user_id: rows[3]?.userId,
      session_id: "s-3",
      page: "/p/3",
      element: null,
      source: null,
      properties: { i: 3 },
      occurred_at: day * DAY + 3000,
      received_at: day * DAY + 3000,
      bot: 0,
    });
  });

  it("a re-run after a crash between the write and the delete loses nothing and duplicates nothing", async () => {
    const day = Math.floor(freshMonday() / DAY) + 2;
    const rows = rowsOn(day, 40);
    await insertEvents(db, rows);
    await archiveDay(db, bucket, day, (day + 1) * DAY);
    // The state a crash leaves: the object written, the rows still in D1 (put back here), and a
    // late row of the same day that arrived meanwhile.
    const late = rowsOn(day, 1, { page: "/late" });
    await db.$client
      .prepare(
        `INSERT INTO analytics_events (id, event_type, user_id, session_id, page, element, source, properties, occurred_at, received_at)
         SELECT value->>'id', 'page_view', NULL, 's', NULL, NULL, NULL, NULL, value->>'at', value->>'at' FROM json_each(?1) WHERE true`,
      )
      .bind(JSON.stringify(rows.slice(0, 25).map((r) => ({ id: r.id, at: r.occurredAt }))))
      .run();
    await insertEvents(db, late);
    expect(await inD1(day)).toBe(26);
    expect(await archiveDay(db, bucket, day, (day + 1) * DAY)).toBe(26);
    expect(await inD1(day)).toBe(0);
    const ids = (await archived(day)).map((e) => e.id);
    expect(ids).toHaveLength(41);
    expect(new Set(ids).size).toBe(41);
    expect(ids).toContain(late[0]?.id);
    // Running it yet again changes nothing.
    expect(await archiveDay(db, bucket, day, (day + 1) * DAY)).toBe(0);
    expect(await archived(day)).toHaveLength(41);
  });
});

/** RFC 4180 reader, for checking the export's escaping (quoted commas, quotes, newlines). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  return rows;
}

describe("two archive runs of one day at once", () => {
  it("in parallel, exactly one claims the day: the object holds every row once and D1 none", async () => {
    const day = Math.floor(freshMonday() / DAY) + 3;
    const rows = rowsOn(day, 40);
    await insertEvents(db, rows);
    const results = await Promise.all([
      archiveDay(db, bucket, day, (day + 1) * DAY),
      archiveDay(db, bucket, day, (day + 1) * DAY),
    ]);
    expect(results.sort((a, b) => a - b)).toEqual([0, 40]);
    const ids = (await archived(day)).map((e) => e.id).sort();
    expect(ids).toEqual(rows.map((r) => r.id).sort());
    expect(await inD1(day)).toBe(0);
  });

  it("a run that finds the day claimed writes and deletes nothing; the holder takes rows that arrived meanwhile", async () => {
    const day = Math.floor(freshMonday() / DAY) + 3;
    const first = rowsOn(day, 40);
    await insertEvents(db, first);
    // Run B claims the day, then waits while reading the (absent) object.
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reading = () => {};
    const claimed = new Promise<void>((resolve) => {
      reading = resolve;
    });
    const slow: Parameters<typeof archiveDay>[1] = {
      get: async (key) => {
        reading();
        await gate;
        return bucket.get(key);
      },
      createMultipartUpload: (key, options) => bucket.createMultipartUpload(key, options),
    };
    const runB = archiveDay(db, slow, day, (day + 1) * DAY);
    await claimed;
    expect(await archiveDay(db, bucket, day, (day + 1) * DAY)).toBe(0);
    expect(await bucket.head(archiveKey(day))).toBeNull();
    const late = rowsOn(day, 1, { occurredAt: day * DAY + 500_000 });
    await insertEvents(db, late);
    release();
    expect(await runB).toBe(41);
    expect((await archived(day)).map((e) => e.id).sort()).toEqual(
      [...first, ...late].map((r) => r.id).sort(),
    );
    expect(await inD1(day)).toBe(0);
    // The lease is gone with the run: the next one may claim the day again.
    const lease = await env.ANALYTICS_DB.prepare("SELECT 1 FROM analytics_archive_leases WHERE day = ?")
      .bind(day)
      .first();
    expect(lease).toBeNull();
  });
});

describe("a day larger than one multipart part", () => {
  // Random (incompressible) properties, so the gzip of the day passes R2's 5 MiB minimum part.
  const bulky = (day: number, n: number) =>
    rowsOn(day, n).map((r) => {
      const noise = crypto.getRandomValues(new Uint8Array(3000));
      return { ...r, properties: { noise: btoa(String.fromCharCode(...noise)) } };
    });

  it("is uploaded in parts, one part held at a time, and round-trips", async () => {
    const day = Math.floor(freshMonday() / DAY) + 6;
    const rows = bulky(day, 2400);
    await insertEvents(db, rows);
    const uploaded: number[] = [];
    const counting: Parameters<typeof archiveDay>[1] = {
      get: (key) => bucket.get(key),
      createMultipartUpload: async (key, options) => {
        const upload = await bucket.createMultipartUpload(key, options);
        return Object.assign(Object.create(upload) as R2MultipartUpload, {
          uploadPart: (n: number, value: Uint8Array) => {
            uploaded.push(value.byteLength);
            return upload.uploadPart(n, value);
          },
          complete: (parts: R2UploadedPart[]) => upload.complete(parts),
          abort: () => upload.abort(),
        });
      },
    };
    expect(await archiveDay(db, counting, day, (day + 1) * DAY, { partBytes: MIN_PART_BYTES })).toBe(
      rows.length,
    );
    expect(uploaded.length).toBeGreaterThan(1);
    expect(uploaded.slice(0, -1).every((b) => b === MIN_PART_BYTES)).toBe(true);
    expect(uploaded.at(-1)).toBeLessThanOrEqual(MIN_PART_BYTES);
    expect(await inD1(day)).toBe(0);
    const back = await archived(day);
    expect(back.map((e) => e.id).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(back.find((e) => e.id === rows[7]?.id)?.properties).toEqual(rows[7]?.properties);
  });

  it("a failure mid-upload aborts the upload, writes no object and leaves every D1 row", async () => {
    const day = Math.floor(freshMonday() / DAY) + 7;
    const rows = bulky(day, 2400);
    await insertEvents(db, rows);
    let aborted = false;
    const failing: Parameters<typeof archiveDay>[1] = {
      get: (key) => bucket.get(key),
      createMultipartUpload: async (key, options) => {
        const upload = await bucket.createMultipartUpload(key, options);
        return Object.assign(Object.create(upload) as R2MultipartUpload, {
          uploadPart: (n: number, value: Uint8Array) =>
            n === 2 ? Promise.reject(new Error("R2 unavailable")) : upload.uploadPart(n, value),
          complete: (parts: R2UploadedPart[]) => upload.complete(parts),
          abort: async () => {
            aborted = true;
            await upload.abort();
          },
        });
      },
    };
    await expect(
      archiveDay(db, failing, day, (day + 1) * DAY, { partBytes: MIN_PART_BYTES }),
    ).rejects.toThrow("R2 unavailable");
    expect(aborted).toBe(true);
    expect(await bucket.head(archiveKey(day))).toBeNull();
    expect(await inD1(day)).toBe(rows.length);
    // The next run (the lease was released) archives the day whole.
    expect(await archiveDay(db, bucket, day, (day + 1) * DAY, { partBytes: MIN_PART_BYTES })).toBe(
      rows.length,
    );
    expect(await inD1(day)).toBe(0);
  });

  it("refuses a part size below R2's minimum before touching anything", async () => {
    const day = Math.floor(freshMonday() / DAY) + 8;
    await insertEvents(db, rowsOn(day, 3));
    await expect(archiveDay(db, bucket, day, (day + 1) * DAY, { partBytes: 1024 })).rejects.toThrow(
      RangeError,
    );
    expect(await inD1(day)).toBe(3);
    expect(await bucket.head(archiveKey(day))).toBeNull();
  });
});

describe("GET /analytics/export", () => {
  const get = async (query: string, token: string) =>
    api(`/api/v1/analytics/export?${query}`, { headers: { authorization: `Bearer ${token}` } });
  const iso = (ms: number) => new Date(ms).toISOString();

  it("streams the archive and D1, more than one D1 page, as NDJSON", async () => {
    const admin = await newCaller("admin");
    const day = Math.floor(freshMonday() / DAY) + 3;
    const old = rowsOn(day, 300);
    const recent = rowsOn(day + 1, EVENT_PAGE_ROWS + 200);
    await insertEvents(db, old);
    await archiveDay(db, bucket, day, (day + 1) * DAY);
    await insertEvents(db, recent);
    const res = await get(`from=${iso(day * DAY)}&to=${iso((day + 2) * DAY)}&format=ndjson`, admin.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = (await res.text()).split("\n").filter((l) => l !== "");
    const ids = lines.map((l) => (JSON.parse(l) as ExportedEvent).id);
    expect(ids).toHaveLength(old.length + recent.length);
    expect(new Set(ids)).toEqual(new Set([...old, ...recent].map((r) => r.id)));
  });

  it("writes CSV with a header and RFC 4180 escaping, and honours the range inside a day", async () => {
    const admin = await newCaller("admin");
    const day = Math.floor(freshMonday() / DAY) + 4;
    const tricky = 'a,b "quoted"\r\nnext line';
    const rows = [
      ...rowsOn(day, 3, { page: tricky, properties: { note: 'say "hi", ok' } }),
      ...rowsOn(day, 1, { page: "=HYPERLINK(1)", occurredAt: day * DAY + 10 * 3_600_000 }),
    ];
    await insertEvents(db, rows);
    const res = await get(`from=${iso(day * DAY)}&to=${iso(day * DAY + 3_600_000)}&format=csv`, admin.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    const table = parseCsv(await res.text());
    expect(table[0]).toEqual([
      "id",
      "event_type",
      "user_id",
      "session_id",
      "page",
      "element",
      "source",
      "properties",
      "occurred_at",
      "received_at",
      "bot",
    ]);
    // The 10:00 row is outside [00:00, 01:00).
    expect(table.slice(1)).toHaveLength(3);
    for (const r of table.slice(1)) {
      expect(r[4]).toBe(tricky);
      expect(JSON.parse(r[7] ?? "")).toEqual({ note: 'say "hi", ok' });
    }
    const formula = parseCsv(
      await (await get(`from=${iso(day * DAY)}&to=${iso((day + 1) * DAY)}&format=csv`, admin.token)).text(),
    );
    expect(formula.slice(1).map((r) => r[4])).toContain("'=HYPERLINK(1)");
  });

  it("neutralises spreadsheet formulas in text fields (OWASP CSV injection), and numbers stay numbers", async () => {
    const admin = await newCaller("admin");
    const day = Math.floor(freshMonday() / DAY) + 9;
    const hostile = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1", '="x",y'];
    const rows = hostile.map((page, i) => ({
      ...rowsOn(day, 1)[0],
      id: crypto.randomUUID(),
      page,
      element: i === 0 ? "-" : "plain",
      occurredAt: day * DAY + i * 1000,
      receivedAt: day * DAY + i * 1000,
    })) as EventRow[];
    await insertEvents(db, rows);
    const res = await get(`from=${iso(day * DAY)}&to=${iso((day + 1) * DAY)}&format=csv`, admin.token);
    const text = await res.text();
    const table = parseCsv(text).slice(1);
    expect(table.map((r) => r[4])).toEqual(hostile.map((p) => `'${p}`));
    expect(table.map((r) => r[5])).toEqual(["'-", ...hostile.slice(1).map(() => "plain")]);
    // Every neutralised field is quoted, so no cell starts with a formula character unquoted.
    for (const line of text.split("\r\n").slice(1, -1)) expect(line.split(",")[4]).toMatch(/^"'/);
    // Timestamps are bare integers, never prefixed or quoted.
    expect(table.map((r) => r[8])).toEqual(rows.map((r) => String(r.occurredAt)));
    expect(text).toContain(`,${rows[0]?.occurredAt},`);
  });

  it("neutralises a formula behind leading whitespace too (a spreadsheet that trims spaces on import runs it)", async () => {
    const admin = await newCaller("admin");
    const day = Math.floor(freshMonday() / DAY) + 11;
    const hostile = [" =cmd|' /C calc'!A0", "   +1+1", " \t-2+3", "\n@SUM(A1:A9)", " \r\n=HYPERLINK(1)"];
    const harmless = [" plain", "a=b", "1-2", "\nline"];
    const pages = [...hostile, ...harmless];
    const rows = pages.map((page, i) => ({
      ...rowsOn(day, 1)[0],
      id: crypto.randomUUID(),
      page,
      occurredAt: day * DAY + i * 1000,
      receivedAt: day * DAY + i * 1000,
    })) as EventRow[];
    await insertEvents(db, rows);
    const res = await get(`from=${iso(day * DAY)}&to=${iso((day + 1) * DAY)}&format=csv`, admin.token);
    const table = parseCsv(await res.text()).slice(1);
    expect(table.map((r) => r[4])).toEqual([...hostile.map((p) => `'${p}`), ...harmless]);
  });

  it("refuses bad ranges and formats with 400, and non-admins with 403", async () => {
    const admin = await newCaller("admin");
    const t0 = Date.UTC(2001, 0, 1);
    for (const q of [
      `from=${iso(t0)}&to=${iso(t0)}`,
      `from=${iso(t0 + DAY)}&to=${iso(t0)}`,
      `from=${iso(t0)}&to=${iso(t0 + 32 * DAY)}`,
      `to=${iso(t0)}`,
      `from=yesterday&to=${iso(t0)}`,
      `from=${iso(t0)}&to=${iso(t0 + DAY)}&format=xlsx`,
    ]) {
      await expectEnvelope(await get(q, admin.token), 400, "VALIDATION_FAILED");
    }
    const user = await newCaller("user");
    await expectEnvelope(await get(`from=${iso(t0)}&to=${iso(t0 + DAY)}`, user.token), 403, "FORBIDDEN");
  });
});

describe("erasure reaches the archive", () => {
  const admin = { userId: "admin", role: "admin" as const, merchantId: null };

  it("an erased user's archived events leave the export, and the tombstone outlives the retention purge", async () => {
    const { eraseUserEvents } = await import("../../src/analytics/events.service");
    const { purgeExpiredAnalytics } = await import("../../src/analytics/housekeeping");
    const { exportEvents } = await import("../../src/analytics/export.service");
    const { testDeps } = await import("../helpers/deps");
    const deps = testDeps();
    const day = Math.floor(freshMonday() / DAY) + 5;
    const gone = crypto.randomUUID();
    const kept = rowsOn(day, 5);
    const erased = rowsOn(day, 4, { userId: gone, sessionId: `s-${gone}` });
    await insertEvents(db, [...kept, ...erased]);
    await archiveDay(db, bucket, day, (day + 1) * DAY);
    const erasedAt = (day + 2) * DAY;
    await eraseUserEvents(deps, admin, gone, erasedAt);
    const exported = async () => {
      const text = await new Response(
        exportEvents(deps, { from: day * DAY, to: (day + 1) * DAY, format: "ndjson" }),
      ).text();
      return text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => (JSON.parse(l) as ExportedEvent).user_id);
    };
    expect(await exported()).toHaveLength(kept.length);
    expect(await exported()).not.toContain(gone);
    // Long after: the purge's cutoff passes the erasure, but the archive keeps the events' day.
    await purgeExpiredAnalytics(deps, erasedAt + (deps.config.ANALYTICS_RETENTION_DAYS + 1) * DAY);
    const tomb = await env.ANALYTICS_DB.prepare("SELECT 1 AS n FROM analytics_erasures WHERE subject = ?")
      .bind(`u:${gone}`)
      .first();
    expect(tomb).not.toBeNull();
    expect(await exported()).not.toContain(gone);
    // A re-run of the day's archive drops them from the object itself.
    await insertEvents(db, rowsOn(day, 1, { page: "/late" }));
    await archiveDay(db, bucket, day, (day + 1) * DAY);
    expect((await archived(day)).map((e) => e.user_id)).not.toContain(gone);
  });

  it("an anonymous session only in the archive is erased with the user who used it: tombstone, export, re-merge", async () => {
    const { eraseUserEvents } = await import("../../src/analytics/events.service");
    const { exportEvents } = await import("../../src/analytics/export.service");
    const { testDeps } = await import("../helpers/deps");
    const deps = testDeps();
    const day = Math.floor(freshMonday() / DAY) + 10;
    const user = crypto.randomUUID();
    const session = `s-${crypto.randomUUID()}`;
    // The pre-login part of the visit (anonymous), then the signed-in part, same session.
    const before = rowsOn(day, 3, { userId: null, sessionId: session });
    const after = rowsOn(day, 2, { userId: user, sessionId: session, occurredAt: day * DAY + 60_000 });
    const others = rowsOn(day, 4, { userId: null, sessionId: `s-${crypto.randomUUID()}` });
    await insertEvents(db, [...before, ...after, ...others]);
    await archiveDay(db, bucket, day, (day + 1) * DAY);
    expect(await inD1(day)).toBe(0);
    const indexed = await env.ANALYTICS_DB.prepare(
      "SELECT session_id FROM analytics_archived_sessions WHERE user_id = ?",
    )
      .bind(user)
      .all<{ session_id: string }>();
    expect(indexed.results).toEqual([{ session_id: session }]);

    await eraseUserEvents(deps, admin, user, (day + 2) * DAY);
    const tomb = await env.ANALYTICS_DB.prepare("SELECT 1 AS n FROM analytics_erasures WHERE subject = ?")
      .bind(`s:${session}`)
      .first();
    expect(tomb).not.toBeNull();
    // The index row that linked them goes with the erasure; the tombstone keeps covering.
    const left = await env.ANALYTICS_DB.prepare(
      "SELECT COUNT(*) AS n FROM analytics_archived_sessions WHERE user_id = ?",
    )
      .bind(user)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
    const text = await new Response(
      exportEvents(deps, { from: day * DAY, to: (day + 1) * DAY, format: "ndjson" }),
    ).text();
    const exported = text
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as ExportedEvent);
    expect(exported.map((e) => e.id).sort()).toEqual(others.map((r) => r.id).sort());
    // A rewrite of the day (a late row) drops the session's events from the object itself.
    await insertEvents(db, rowsOn(day, 1, { page: "/late", sessionId: "s-late", userId: null }));
    expect(await archiveDay(db, bucket, day, (day + 1) * DAY)).toBe(1);
    const objectSessions = (await archived(day)).map((e) => e.session_id);
    expect(objectSessions).not.toContain(session);
    expect(objectSessions).toHaveLength(others.length + 1);
  });
});
