// Bench-only build of the platform (never deployed; `npm run bench -- ingest`). The same Worker,
// Durable Objects, queue consumer and ingest validation, with two changes so the bench measures
// the pipeline and not the abuse limits of one loopback client:
// - the ingest rate limiters always allow and the daily byte budgets are effectively unlimited;
// - a request with `x-bench-ingest: direct` gets an ANALYTICS_QUEUE whose sendBatch writes the
//   messages' rows straight to ANALYTICS_DB inside the request (insertJsonRows, the consumer's
//   own statements): the direct path as it was before the queue, side by side with the queued
//   path (any other request), in one process on one database.
import { touchStatements } from "../../src/analytics/attribution";
import { insertJsonRows } from "../../src/analytics/store";
import { dbFor } from "../../src/db/client";
import platform from "../../src/index";

export { LiveChannel, TicketRoom } from "../../src/index";

const allow = { limit: async () => ({ success: true }) };
const UNLIMITED = String(2 ** 50);
// One wrapped env per real env and mode: config and clients are cached per env object.
const wrapped = new WeakMap();
function benchEnv(env, direct) {
  let w = wrapped.get(env);
  if (!w) {
    const common = {
      ...env,
      ANALYTICS_IP_RATE_LIMITER: allow,
      ANALYTICS_SESSION_RATE_LIMITER: allow,
      ANALYTICS_SESSION_DAILY_BYTES: UNLIMITED,
      ANALYTICS_IP_DAILY_BYTES: UNLIMITED,
      ANALYTICS_GLOBAL_DAILY_BYTES: UNLIMITED,
    };
    const db = dbFor(env.ANALYTICS_DB);
    const writer = {
      send: async (body) => {
        await insertJsonRows(db, body.rows, { more: touchStatements });
      },
      sendBatch: async (messages) => {
        await insertJsonRows(
          db,
          messages.flatMap((m) => m.body.rows),
          { more: touchStatements },
        );
      },
    };
    w = { queued: common, direct: { ...common, ANALYTICS_QUEUE: writer } };
    wrapped.set(env, w);
  }
  return direct ? w.direct : w.queued;
}

export default {
  fetch: (req, env, ctx) =>
    platform.fetch(req, benchEnv(env, req.headers.get("x-bench-ingest") === "direct"), ctx),
  queue: (batch, env, ctx) => platform.queue(batch, benchEnv(env, false), ctx),
  scheduled: (event, env, ctx) => platform.scheduled(event, benchEnv(env, false), ctx),
};
