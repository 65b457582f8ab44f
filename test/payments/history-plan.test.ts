import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { historyPageQuery } from "../../src/payments/history.service";
import { db } from "./helpers";

async function planOf(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<string> {
  const { sql, params } = query.toSQL();
  const res = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...params)
    .all<{ detail: string }>();
  return res.results.map((r) => r.detail).join("\n");
}

describe("payment history query plan", () => {
  const user = crypto.randomUUID();
  const filters = {
    status: ["succeeded", "refunded"] as const,
    from: 1_700_000_000_000,
    to: undefined,
    limit: 50,
  };

  it("walks (user_id, created_at, id) with the filters and needs no sort", async () => {
    for (const cursor of [null, { t: 1_750_000_000_000, id: crypto.randomUUID() }]) {
      const plan = await planOf(
        historyPageQuery(db(), user, { ...filters, status: [...filters.status] }, cursor),
      );
      expect(plan).toMatch(
        /SEARCH payments USING INDEX payments_user_created_idx \(user_id=\? AND created_at>\?/,
      );
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
  });
});
