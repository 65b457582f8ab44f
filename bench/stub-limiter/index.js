// Bench-only build of the platform (never deployed): the same Worker and Durable Objects with
// PAYMENT_RATE_LIMITER replaced by an in-memory "always allowed" stub, so the rest workload can
// show what the local rate-limit simulation costs the history endpoint (`npm run bench -- rest`).
import platform from "../../src/index";

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

export default {
  fetch: (req, env, ctx) => platform.fetch(req, stubbed(env), ctx),
  queue: (batch, env, ctx) => platform.queue(batch, stubbed(env), ctx),
  scheduled: (event, env, ctx) => platform.scheduled(event, stubbed(env), ctx),
};
