// Its own file, so its own isolate: the fallback it proves is remembered per isolate.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { handleAnalyticsBatch } from "../../src/analytics/consumer";
import { STAGE_CHUNK, STAGE_CHUNK_TEXT } from "../../src/analytics/store";
import { dbFor } from "../../src/db/client";
import type { D1Client } from "../../src/platform/types";
import { testDeps } from "../helpers/deps";

/**
 * ANALYTICS_DB as a runtime whose function allowlist refuses jsonb() (workerd#4784 reported
 * that for Durable Object SQLite): the JSONB staging form calls sqlite_version() beside it,
 * which the local D1 really refuses ("not authorized to use function"), so the refusal is the
 * runtime's own error, not a made-up one. Counts the statements of each form it was given.
 */
function refusingJsonb() {
  const real = env.ANALYTICS_DB;
  const seen = { jsonb: 0, text: 0 };
  const client: D1Client = {
    prepare: (q) => {
      if (q === STAGE_CHUNK) seen.jsonb++;
      if (q === STAGE_CHUNK_TEXT) seen.text++;
      return real.prepare(q.replace("jsonb(value)", "jsonb(value || sqlite_version())"));
    },
    batch: (statements) => real.batch(statements),
  };
  return { client: client as unknown as D1Database, seen };
}

const row = (id: string, at: number) => ({
  id,
  type: "page_view",
  user: null,
  session: `s-${id}`,
  page: "/fallback",
  element: null,
  source: "web",
  props: null,
  at,
  received: at,
  bot: 0,
});

function batchOf(rows: ReturnType<typeof row>[], calls: string[]): MessageBatch {
  const msg = {
    id: crypto.randomUUID(),
    timestamp: new Date(),
    attempts: 1,
    body: { v: 1, rows },
    ack: () => calls.push("ack"),
    retry: () => calls.push("retry"),
  };
  return {
    queue: "analytics-ingest",
    messages: [msg],
    ackAll: () => calls.push("ackAll"),
    retryAll: () => calls.push("retryAll"),
  } as unknown as MessageBatch;
}

describe("ingest staging on a database that refuses jsonb()", () => {
  it("stores the batch through the text form, acks it, and skips the JSONB form from then on", async () => {
    const { client, seen } = refusingJsonb();
    const deps = { ...testDeps(), analyticsDb: dbFor(client) };
    const at = Date.UTC(2042, 0, 3);
    const first = [row(`fb-${crypto.randomUUID()}`, at), row(`fb-${crypto.randomUUID()}`, at)];
    const calls: string[] = [];
    await handleAnalyticsBatch(batchOf(first, calls), deps);
    expect(calls).toEqual(["ack"]);
    expect(seen).toEqual({ jsonb: 1, text: 1 });

    const second = [row(`fb-${crypto.randomUUID()}`, at)];
    await handleAnalyticsBatch(batchOf(second, calls), deps);
    expect(calls).toEqual(["ack", "ack"]);
    expect(seen).toEqual({ jsonb: 1, text: 2 });

    const ids = [...first, ...second].map((r) => r.id);
    const { results } = await env.ANALYTICS_DB.prepare(
      `SELECT id, page, source FROM analytics_events WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id`,
    )
      .bind(JSON.stringify(ids))
      .all<{ id: string; page: string; source: string }>();
    expect(results).toEqual([...ids].sort().map((id) => ({ id, page: "/fallback", source: "web" })));
  });
});
