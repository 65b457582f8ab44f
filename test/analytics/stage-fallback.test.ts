// The fallback is remembered per database client, so these stand-ins never change the form the
// real binding uses in other tests.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { handleAnalyticsBatch } from "../../src/analytics/consumer";
import { STAGE_CHUNK, STAGE_CHUNK_TEXT } from "../../src/analytics/store";
import { dbFor } from "../../src/db/client";
import type { D1Client } from "../../src/platform/types";
import { testDeps } from "../helpers/deps";

/** The error workerd#4784 reports for a function its allowlist refuses. */
const REFUSAL = "D1_ERROR: not authorized to use function: jsonb: SQLITE_AUTH";

/**
 * ANALYTICS_DB as a runtime whose function allowlist refuses jsonb(): a batch holding the JSONB
 * staging statement fails with that runtime's error before anything runs (as a refused function
 * fails at prepare time); every other batch reaches the local D1. `failWith` swaps the error, to
 * show an unrelated failure is not taken for a refusal. Counts the statements of each form.
 */
function refusingJsonb(failWith = REFUSAL) {
  const real = env.ANALYTICS_DB;
  const seen = { jsonb: 0, text: 0, batches: 0 };
  const jsonbStatements = new WeakSet<D1PreparedStatement>();
  const client: D1Client = {
    prepare: (q) => {
      const statement = real.prepare(q);
      if (q === STAGE_CHUNK_TEXT) seen.text++;
      if (q !== STAGE_CHUNK) return statement;
      seen.jsonb++;
      // bind() returns a new statement: that one is what the batch carries.
      const bind = statement.bind.bind(statement);
      return Object.assign(statement, {
        bind: (...values: unknown[]) => {
          const bound = bind(...values);
          jsonbStatements.add(bound);
          return bound;
        },
      });
    },
    batch: async (statements) => {
      seen.batches++;
      if (statements.some((st) => jsonbStatements.has(st))) throw new Error(failWith);
      return real.batch(statements);
    },
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
    expect(seen).toEqual({ jsonb: 1, text: 1, batches: 2 });

    const second = [row(`fb-${crypto.randomUUID()}`, at)];
    await handleAnalyticsBatch(batchOf(second, calls), deps);
    expect(calls).toEqual(["ack", "ack"]);
    expect(seen).toEqual({ jsonb: 1, text: 2, batches: 3 });

    const ids = [...first, ...second].map((r) => r.id);
    const { results } = await env.ANALYTICS_DB.prepare(
      `SELECT id, page, source FROM analytics_events WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id`,
    )
      .bind(JSON.stringify(ids))
      .all<{ id: string; page: string; source: string }>();
    expect(results).toEqual([...ids].sort().map((id) => ({ id, page: "/fallback", source: "web" })));
  });

  it("does not take another failure for a refusal: the batch fails once and is retried", async () => {
    const { client, seen } = refusingJsonb("D1_ERROR: no such function: not_jsonb: SQLITE_ERROR");
    const calls: string[] = [];
    const id = `fb-${crypto.randomUUID()}`;
    await handleAnalyticsBatch(batchOf([row(id, Date.UTC(2042, 0, 4))], calls), {
      ...testDeps(),
      analyticsDb: dbFor(client),
    });
    // The whole batch, then the message on its own: both JSONB, neither re-run as text.
    expect(calls).toEqual(["retry"]);
    expect(seen).toEqual({ jsonb: 2, text: 0, batches: 2 });
    const stored = await env.ANALYTICS_DB.prepare("SELECT COUNT(*) AS n FROM analytics_events WHERE id = ?")
      .bind(id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });
});
