// A separate load-generator process: reads {url, method, headers, body?, bodies?, paths?,
// connections, duration, amount?} on stdin, runs autocannon, prints one JSON line of results.
// `paths` rotates request paths (e.g. different payment ids) so caches are not the only thing measured;
// `tokens` rotates bearer tokens so per-user rate limits (30/min on payments) are not what is measured.
import autocannon from "autocannon";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const cfg = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const url = new URL(cfg.url);
if (url.hostname !== "127.0.0.1") throw new Error("load generator targets loopback only");

const opts = {
  url: url.origin,
  connections: cfg.connections ?? 10,
  duration: cfg.duration ?? 5,
  timeout: 10,
  headers: cfg.headers ?? {},
  method: cfg.method ?? "GET",
};
if (cfg.amount) opts.amount = cfg.amount;
const bodies = cfg.bodies ?? (cfg.body !== undefined ? [cfg.body] : null);
const paths = cfg.paths ?? [url.pathname + url.search];
let i = 0;
opts.requests = [
  {
    setupRequest: (req) => {
      const n = i++;
      req.path = paths[n % paths.length];
      if (cfg.tokens)
        req.headers = { ...opts.headers, authorization: `Bearer ${cfg.tokens[n % cfg.tokens.length]}` };
      if (bodies)
        req.body =
          typeof bodies[n % bodies.length] === "string"
            ? bodies[n % bodies.length]
            : JSON.stringify(bodies[n % bodies.length]);
      return req;
    },
  },
];
const statuses = {};
const instance = autocannon(opts, (err, res) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(
    JSON.stringify({
      requests: res.requests.total,
      rps: res.requests.average,
      duration_s: res.duration,
      latency: { p50: res.latency.p50, p99: res.latency.p99, max: res.latency.max, mean: res.latency.mean },
      non2xx: res.non2xx,
      errors: res.errors,
      timeouts: res.timeouts,
      statuses,
    }),
  );
});
instance.on("response", (_client, statusCode) => {
  statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
});
