import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { historyStatement } from "../../src/payments/history.service";

async function planOf(st: { sql: string; params: (string | number)[] }): Promise<string> {
  const res = await env.DB.prepare(`EXPLAIN QUERY PLAN ${st.sql}`)
    .bind(...st.params)
    .all<{ detail: string }>();
  return res.results.map((r) => r.detail).join("\n");
}

describe("payment history query plan", () => {
  it("walks (user_id, created_at, id) with the filters and needs no sort", async () => {
    const user = crypto.randomUUID();
    const filters = {
      status: ["succeeded" as const, "refunded" as const],
      from: 1_700_000_000_000,
      limit: 50,
    };
    for (const cursor of [null, { t: 1_750_000_000_000, id: crypto.randomUUID() }]) {
      for (const q of [filters, { ...filters, to: 1_760_000_000_000 }, { limit: 50 }]) {
        const plan = await planOf(historyStatement(user, q, cursor));
        expect(plan).toMatch(/SEARCH payments USING INDEX payments_user_created_idx \(user_id=\?/);
        expect(plan).not.toMatch(/TEMP B-TREE/);
      }
    }
  });
});
