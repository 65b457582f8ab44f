// Push fan-out: one domain event to every seeded device (10,000 at scale 1), through the real
// pipeline (POST /events → notify → queue → consumer → OAuth → FCM emulator → deliveries in D1).
// The clock stops when every delivery row is terminal in D1 (read-only polling of the local file).
// Baseline: a bare fetch loop from a worker on the same runtime to the same FCM emulator.
import { randomUUID } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { importPKCS8, SignJWT } from "jose";
import { call } from "../lib/http-load.mjs";
import { d1File } from "../lib/seed.mjs";

const SEND_LATENCY_MS = 20;
const CONCURRENCY = 16; // what the consumer documents (docs/notifications.md), so the loop is like for like

async function accessToken(ctx) {
  const sa = ctx.serviceAccount;
  const tokenUrl = `${ctx.emulators.base}/google/token`;
  const key = await importPKCS8(sa.private_key, "RS256");
  const assertion = await new SignJWT({ scope: "https://www.googleapis.com/auth/firebase.messaging" })
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .setIssuer(sa.client_email)
    .setAudience(sa.token_uri)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(key);
  const res = await fetch(tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }),
  });
  if (!res.ok) throw new Error(`emulator token exchange answered ${res.status}: ${await res.text()}`);
  return (await res.json()).access_token;
}

const stats = async (ctx) => (await call(ctx.emulators.base, "GET", "/_emulator/google/stats")).json;

export async function run(ctx) {
  const { seed, runs, log } = ctx;
  const figures = [];
  const notes = [];
  const users = seed.pushUsers ?? [];
  const expected = seed.devices ?? 0;
  if (!users.length) return { figures: [{ label: "push", unavailable: "no devices seeded" }], notes };
  const service = await ctx.token("service", randomUUID());
  const db = new DatabaseSync(d1File(), { readOnly: true });
  const countStmt = db.prepare(
    `SELECT d.status AS status, count(*) AS n FROM notification_deliveries d
       JOIN notifications n ON n.id = d.notification_id WHERE n.event_id = ? GROUP BY d.status`,
  );

  const R = { seconds: [], sendsPerS: [], exchanges: [], peak: [], firstSend: [], bare: [] };
  for (let r = 0; r < runs; r++) {
    log(`push: run ${r + 1}/${runs} (${expected} devices)`);
    await call(ctx.emulators.base, "POST", "/_emulator/google/reset", { body: {} });
    // A little network time per send, as a real FCM has, so the concurrency actually used shows.
    await call(ctx.emulators.base, "POST", "/_emulator/google/config", {
      body: { send_latency_ms: SEND_LATENCY_MS },
    });
    const before = await stats(ctx);
    const eventId = randomUUID();
    const t0 = Date.now();
    const res = await call(ctx.platform.base, "POST", "/api/v1/events", {
      token: service,
      body: {
        id: eventId,
        // Not campaign.status_changed: its data carries `from`, a key FCM reserves, so every send
        // of it is rejected (INVALID_ARGUMENT; reported to the lead).
        type: "feature_flag.enabled",
        data: {
          flag: `bench_flag_${r}_${eventId.slice(0, 8)}`,
          user_ids: users.slice(0, 1000),
          description: "bench",
        },
      },
    });
    if (res.status !== 202) {
      figures.push({
        label: "push fan-out",
        unavailable: `POST /events answered ${res.status} ${res.text.slice(0, 120)}`,
      });
      db.close();
      return { figures, notes };
    }
    const accepted = Date.now() - t0;
    // Notifications reference the stored domain event id (`ext:<service>:<id>`), not ours.
    const storedId = res.json?.event_id ?? eventId;
    // Bounded wait: 3 minutes at most for every delivery to be terminal.
    let done = null;
    let last = {};
    while (Date.now() - t0 < 180_000) {
      const rows = countStmt.all(storedId);
      last = Object.fromEntries(rows.map((x) => [x.status, x.n]));
      const total = rows.reduce((n, x) => n + x.n, 0);
      const pending = (last.queued ?? 0) + (last.held ?? 0);
      if (total >= expected && pending === 0) {
        done = Date.now() - t0;
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    const after = await stats(ctx);
    log(`push: run ${r + 1}: ${done === null ? "not finished" : `${done} ms`} ${JSON.stringify(last)}`);
    if (done === null)
      notes.push(`run ${r + 1}: not all deliveries terminal within 180 s: ${JSON.stringify(last)}`);
    if ((last.sent ?? 0) < expected) notes.push(`run ${r + 1}: delivery statuses ${JSON.stringify(last)}`);
    R.seconds.push((done ?? Number.NaN) / 1000);
    R.sendsPerS.push((last.sent ?? 0) / ((done ?? Number.NaN) / 1000));
    R.exchanges.push(after.token_exchanges - (before.token_exchanges ?? 0));
    R.peak.push(after.max_concurrency);
    R.firstSend.push(accepted);

    // The bare loop, same number of sends, same emulator, same runtime.
    const token = await accessToken(ctx);
    const loop = await call(ctx.baseline.base, "POST", "/fcm-loop", {
      body: {
        sendUrl: `${ctx.emulators.base}/fcm/v1/projects/${ctx.projectId}/messages:send`,
        accessToken: token,
        n: expected,
        concurrency: CONCURRENCY,
      },
      // 10,000 sends at 16 in flight take longer than call()'s default 30 s on this machine.
      timeoutMs: 180_000,
    });
    if (loop.status !== 200 || loop.json.failed) notes.push(`bare loop: ${loop.text.slice(0, 200)}`);
    R.bare.push(loop.json.ms / 1000);
  }
  db.close();

  figures.push(
    {
      label: `one event → ${expected} devices: time until every delivery is recorded`,
      unit: "s",
      values: R.seconds,
      baseline: R.bare,
    },
    {
      label: "sends/s (end to end, sent deliveries / elapsed)",
      unit: "sends/s",
      values: R.sendsPerS,
      baseline: R.bare.map((s) => expected / s),
    },
    {
      label: "OAuth exchanges per fan-out (emulator stats)",
      unit: "",
      values: R.exchanges,
      target: { metric: "value", op: "<=", value: 1, text: "1 (0 once cached)" },
    },
    { label: "peak concurrent FCM sends (emulator stats)", unit: "", values: R.peak },
    { label: "POST /events answered (202) after", unit: "ms", values: R.firstSend },
  );
  return {
    figures,
    notes,
    setup: [
      `${expected} seeded devices over ${users.length} users (10 each, android/ios/web); event feature_flag.enabled to ${Math.min(1000, users.length)} user_ids; emulator send latency ${SEND_LATENCY_MS} ms`,
      `baseline: bench/baseline /fcm-loop, ${CONCURRENCY} in flight, one pre-fetched access token, no D1/queue; its time is the "baseline" column`,
    ],
  };
}
