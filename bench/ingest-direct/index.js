// Bench-only build of the platform (never deployed; `npm run bench -- ingest`). The same Worker,
// Durable Objects, queue consumer and ingest validation, with changes so the bench measures the
// pipeline and not the abuse limits of one loopback client:
// - the ingest rate limiters always allow and the daily byte budgets are effectively unlimited
//   (the take from the IngestBudget object still runs: it is part of the production path);
// - `x-bench-ingest: direct` gets an ANALYTICS_QUEUE whose sendBatch writes the messages' rows
//   straight to ANALYTICS_DB inside the request (insertJsonRows, the consumer's own statements):
//   the direct path as it was before the queue, side by side with the queued path.
// And three decomposition sides (`npm run bench -- ingest --only queued,no-budget,ack-only,post-only`),
// each removing one more part of the queued path, so its parts' costs are measured, not guessed:
// - `no-budget`: the budget take (src/analytics/budget.ts) answers at once, without the object;
// - `ack-only`: no budget, and the consumer acks the request's messages without writing them
//   (it knows them by their sessions' prefix, `bench-ingest-ack-only-`);
// - `post-only`: no budget and no queue: sendBatch resolves at once;
// and `ack-only-budget`, ack-only with the real budget, which isolates the budget's cost.
import { touchStatements } from "../../src/analytics/attribution";
import { insertJsonRows } from "../../src/analytics/store";
import { dbFor } from "../../src/db/client";
import platform from "../../src/index";

export { IngestBudget, LiveChannel, TicketRoom } from "../../src/index";

const allow = { limit: async () => ({ success: true }) };
const UNLIMITED = String(2 ** 50);
const ACK_ONLY_PREFIX = "bench-ingest-ack-only-";

/** An INGEST_BUDGET whose takes succeed without reaching the object. */
const noBudgetObject = {
  getByName: () => ({ take: async () => null }),
};

// One wrapped env per real env and mode: config and clients are cached per env object.
const wrapped = new WeakMap();
function benchEnv(env, mode) {
  let w = wrapped.get(env);
  if (!w) {
    const queued = {
      ...env,
      ANALYTICS_IP_RATE_LIMITER: allow,
      ANALYTICS_SESSION_RATE_LIMITER: allow,
      ANALYTICS_SESSION_DAILY_BYTES: UNLIMITED,
      ANALYTICS_IP_DAILY_BYTES: UNLIMITED,
      ANALYTICS_GLOBAL_DAILY_BYTES: UNLIMITED,
    };
    const db = dbFor(env.ANALYTICS_DB);
    const direct = {
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
    const noBudget = { ...queued, INGEST_BUDGET: noBudgetObject };
    const nowhere = { send: async () => {}, sendBatch: async () => {} };
    w = {
      queued,
      direct: { ...queued, ANALYTICS_QUEUE: direct },
      "no-budget": noBudget,
      "ack-only": noBudget,
      // The budget's cost alone: the real budget, the consumer acking without writing (its
      // sessions' prefix, bench-ingest-ack-only-budget-, starts with the ack-only one).
      "ack-only-budget": queued,
      "post-only": { ...noBudget, ANALYTICS_QUEUE: nowhere },
    };
    wrapped.set(env, w);
  }
  // Any other mode (or none) is the production path.
  return Object.hasOwn(w, mode) ? w[mode] : w.queued;
}

const modeOf = (req) => req.headers.get("x-bench-ingest") ?? "queued";
const ackOnly = (msg) => msg.body?.rows?.[0]?.session?.startsWith(ACK_ONLY_PREFIX) === true;

export default {
  fetch: (req, env, ctx) => platform.fetch(req, benchEnv(env, modeOf(req)), ctx),
  queue: async (batch, env, ctx) => {
    const rest = batch.messages.filter((m) => !ackOnly(m));
    for (const m of batch.messages) if (ackOnly(m)) m.ack();
    if (rest.length === 0) return;
    // The platform's consumer sees only the other messages (a batch can straddle two sides).
    const view =
      rest.length === batch.messages.length
        ? batch
        : {
            queue: batch.queue,
            metadata: batch.metadata,
            messages: rest,
            ackAll: () => {
              for (const m of rest) m.ack();
            },
            retryAll: (options) => {
              for (const m of rest) m.retry(options);
            },
          };
    await platform.queue(view, benchEnv(env, "queued"), ctx);
  },
  scheduled: (event, env, ctx) => platform.scheduled(event, benchEnv(env, "queued"), ctx),
};
