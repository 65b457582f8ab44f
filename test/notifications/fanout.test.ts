import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually";
import { googleStats, revokeGoogleTokens, sentMessages } from "../helpers/google";
import { adminTestSend, newCaller, registerDevice, uid } from "./helpers";

/** Seeds `n` devices for one user straight into D1 (registering 1,000 over HTTP only adds time). */
async function seedDevices(userId: string, n: number, prefix: string): Promise<void> {
  const t = Date.now();
  const statements = Array.from({ length: n }, (_, i) =>
    env.DB.prepare(
      "insert into devices (id, user_id, token, platform, created_at, updated_at) values (?, ?, ?, ?, ?, ?)",
    ).bind(
      crypto.randomUUID(),
      userId,
      `${prefix}-${i}`,
      i % 3 === 0 ? "ios" : i % 3 === 1 ? "android" : "web",
      t,
      t,
    ),
  );
  await env.DB.batch(statements);
}

async function statusCounts(notificationId: string) {
  const { results } = await env.DB.prepare(
    "select status, count(*) as n from notification_deliveries where notification_id = ? group by status",
  )
    .bind(notificationId)
    .all<{ status: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.status, r.n]));
}

describe("fan-out and the OAuth token cache", () => {
  it("1,000 devices fan out with every delivery recorded once (Done 9)", async () => {
    const user = await newCaller("user");
    const prefix = `ok-${uid()}-fan`;
    await seedDevices(user.sub, 1000, prefix);
    const res = await adminTestSend({ user_id: user.sub, type: "feature_flag_enabled" });
    expect(res).toMatchObject({ queued: 1000, held: 0 });
    const id = res.notification_ids[0] ?? "";

    const counts = await eventually(
      async () => {
        const c = await statusCounts(id);
        return c.sent === 1000 ? c : undefined;
      },
      "1,000 sent deliveries",
      { tries: 600 },
    );
    expect(counts).toEqual({ sent: 1000 });
    const unique = await env.DB.prepare(
      `select count(*) as rows_, count(distinct device_id) as devices, count(distinct fcm_message_name) as names,
              max(attempts) as max_attempts
         from notification_deliveries where notification_id = ?`,
    )
      .bind(id)
      .first();
    expect(unique).toEqual({ rows_: 1000, devices: 1000, names: 1000, max_attempts: 1 });
    // Spot-check the emulator side: each token got exactly one message.
    for (const i of [0, 499, 999]) expect(await sentMessages(`${prefix}-${i}`)).toHaveLength(1);
  }, 120_000);

  it("one OAuth token exchange serves many sends; a revoked token is refreshed once (Done 7)", async () => {
    const user = await newCaller("user");
    const tokens = Array.from({ length: 25 }, (_, i) => `ok-${uid()}-cache-${i}`);
    for (const t of tokens) await registerDevice(user, t);
    // Invalidate whatever this isolate has cached: the first send gets a 401 and refreshes.
    await revokeGoogleTokens();
    const before = await googleStats();

    const sendAll = async () => {
      const res = await adminTestSend({ user_id: user.sub, type: "payment_received" });
      const id = res.notification_ids[0] ?? "";
      await eventually(
        async () => ((await statusCounts(id)).sent === tokens.length ? true : undefined),
        "all sent",
      );
    };
    await sendAll();
    await sendAll();
    const after = await googleStats();

    const suffixes = new Set<string>();
    for (const t of tokens) for (const m of await sentMessages(t)) suffixes.add(m.access_token_suffix);
    // 50 sends, all with the same access token: one exchange served them all.
    expect(suffixes.size).toBe(1);
    expect(after.sends_ok - before.sends_ok).toBeGreaterThanOrEqual(50);
    // Other test files share the emulator, so exchanges are bounded rather than exact.
    expect(after.token_exchanges - before.token_exchanges).toBeGreaterThanOrEqual(1);
    expect(after.token_exchanges - before.token_exchanges).toBeLessThan(5);
  }, 60_000);
});
