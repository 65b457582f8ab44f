// npm run push:redrive -- [--kinds dead_lettered,third_party_auth] [--notification <id>] [--user <id>]
//                         [--platform android|ios|web] [--since <ISO time>] [--limit 500] [--once]
// npm run push:redrive -- --events [--sink <name>] [--event <id>] [--limit 500] [--once]
// Re-drives dead-lettered (and THIRD_PARTY_AUTH_ERROR-failed) pushes of the platform `npm start`
// runs, through POST /api/v1/notifications/admin/redrive with a dev admin token; with --events,
// dead domain-event sink deliveries through POST /api/v1/events/admin/redrive instead. Calls
// again while the answer says `more`, unless --once. PLATFORM_URL overrides http://127.0.0.1:8787.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { ensureDevVars, readDevVars } from "./lib/dev-vars.mjs";
import { signDevToken } from "./lib/token.mjs";

const { values } = parseArgs({
  options: {
    kinds: { type: "string" },
    notification: { type: "string" },
    user: { type: "string" },
    platform: { type: "string" },
    since: { type: "string" },
    limit: { type: "string", default: "500" },
    once: { type: "boolean", default: false },
    events: { type: "boolean", default: false },
    sink: { type: "string" },
    event: { type: "string" },
  },
});

const pushBody = {
  ...(values.kinds ? { kinds: values.kinds.split(",").map((k) => k.trim()) } : {}),
  ...(values.notification ? { notification_id: values.notification } : {}),
  ...(values.user ? { user_id: values.user } : {}),
  ...(values.platform ? { platform: values.platform } : {}),
  ...(values.since ? { since: values.since } : {}),
  limit: Number(values.limit),
};
const eventsBody = {
  ...(values.sink ? { sink: values.sink } : {}),
  ...(values.event ? { event_id: values.event } : {}),
  limit: Number(values.limit),
};
const body = values.events ? eventsBody : pushBody;
const path = values.events ? "/api/v1/events/admin/redrive" : "/api/v1/notifications/admin/redrive";

ensureDevVars();
const { JWT_SECRET } = readDevVars();
const token = await signDevToken(JWT_SECRET, { role: "admin", sub: randomUUID(), expiresIn: "5m" });
const base = process.env.PLATFORM_URL ?? "http://127.0.0.1:8787";

let total = 0;
// Bounded: each call moves at most `limit` rows, and a row moved is never matched again.
for (let call = 1; call <= 1000; call++) {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  }).catch((err) => {
    console.error(`cannot reach ${base} (is \`npm start\` running?): ${err.message}`);
    process.exit(1);
  });
  const answer = await res.json().catch(() => null);
  if (res.status !== 202) {
    console.error(`re-drive refused: ${res.status} ${JSON.stringify(answer)}`);
    process.exit(1);
  }
  total += answer.redriven;
  const deferred = answer.deferred ? ` (${answer.deferred} left to the cron)` : "";
  console.log(`call ${call}: re-drove ${answer.redriven}${deferred}`);
  if (!answer.more || values.once || answer.redriven === 0) break;
}
console.log(`re-drove ${total} deliveries in all`);
