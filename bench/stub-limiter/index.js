// Bench-only build of the platform (never deployed): the same Worker and Durable Objects with
// PAYMENT_RATE_LIMITER replaced by an in-memory "always allowed" stub, so the rest workload can
// show what the local rate-limit simulation costs the history endpoint (`npm run bench -- rest`).
//
// It also answers GET /bench/history-sql: the history page's own statement (historyStatement)
// on a read session of this server's D1 (its own copy of the same seed, bench/.state-stub, in
// its own workerd, like the stubbed history), rows returned as D1 gives them, and nothing else
// (no router, token, limiter or mapping). That is the floor any handler reading this page from
// the local D1 simulation pays, which the rest workload reports next to the endpoint.

import platform from "../../src/index";
import { historyStatement } from "../../src/payments/history.service";

export { IngestBudget, LiveChannel, TicketRoom } from "../../src/index";

const allow = { limit: async () => ({ success: true }) };
// One wrapped env per real env: config and clients are cached per env object (src/platform/config.ts).
const wrapped = new WeakMap();
const stubbed = (env) => {
  let w = wrapped.get(env);
  if (!w) {
    w = { ...env, PAYMENT_RATE_LIMITER: allow };
    wrapped.set(env, w);
  }
  return w;
};

async function historySql(url, env) {
  const q = url.searchParams;
  const st = historyStatement(
    q.get("user_id"),
    { status: q.get("status")?.split(","), from: Date.parse(q.get("from")), limit: Number(q.get("limit")) },
    null,
  );
  const session = env.DB.withSession("first-unconstrained");
  const { results } = await session
    .prepare(st.sql)
    .bind(...st.params)
    .all();
  return Response.json({ items: results });
}

export default {
  fetch: (req, env, ctx) => {
    const url = new URL(req.url);
    if (url.pathname === "/bench/history-sql") return historySql(url, env);
    return platform.fetch(req, stubbed(env), ctx);
  },
  queue: (batch, env, ctx) => platform.queue(batch, stubbed(env), ctx),
  scheduled: (event, env, ctx) => platform.scheduled(event, stubbed(env), ctx),
};
