import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { BURST_MIN_EVENTS } from "../../src/analytics/bots";
import { type AeBinding, AeWriter } from "../../src/analytics/engine";
import type { IngestMessage } from "../../src/analytics/ingest-queue";
import {
  insertEvents,
  insertJsonRows,
  type JsonRow,
  ROWS_PER_STATEMENT,
  statementsFor,
  toJsonRow,
} from "../../src/analytics/store";
import type { D1Client, Db } from "../../src/platform/types";
import { newCaller, tokenFor } from "../helpers/auth";
import { eventually } from "../helpers/eventually";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { db as analyticsDrizzle, consumeQueue, DAY, freshMonday, getReport, iso, MIN } from "./helpers";

const adb = env.ANALYTICS_DB;
const all = async <T>(q: string, ...args: unknown[]) =>
  (
    await adb
      .prepare(q)
      .bind(...args)
      .all<T>()
  ).results;

const BROWSER =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
const CURL = "curl/8.5.0";

let admin: Awaited<ReturnType<typeof newCaller>>;
beforeAll(async () => {
  admin = await newCaller("admin");
});

/** A minute 2–5 days ago that no other test of this file uses (ingest accepts 7 days back). */
const recentMinute = () =>
  Math.floor((Date.now() - 2 * DAY - Math.floor(Math.random() * 3 * 24 * 60) * MIN) / MIN) * MIN;

async function ingest(ua: string, events: unknown[], token?: string) {
  const headers: Record<string, string> = { "user-agent": ua };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await postJson("/api/v1/analytics/events", { events }, headers);
  expect(res.status).toBe(202);
  expect(((await res.json()) as { accepted: number }).accepted).toBe(events.length);
}

/** session → bot flags of its stored events, once `n` of them are stored. */
async function storedFlags(sessions: string[], n: number) {
  const marks = sessions.map(() => "?").join(",");
  const q = `SELECT session_id, bot FROM analytics_events WHERE session_id IN (${marks}) ORDER BY session_id`;
  const rows = await eventually(async () => {
    const r = await all<{ session_id: string; bot: number }>(q, ...sessions);
    return r.length >= n && r;
  }, `${n} stored events`);
  const by = new Map<string, number[]>();
  for (const r of rows) by.set(r.session_id, [...(by.get(r.session_id) ?? []), r.bot]);
  return by;
}

type Behavior = {
  sessions: { count: number };
  top_pages: Array<{ page: string; views: number }>;
  activity_heatmap: { cells: Array<{ count: number }> };
  bot_traffic: {
    included: boolean;
    sessions: number;
    bot_sessions: number;
    events: number;
    bot_events: number;
    bot_share: number | null;
  };
};
type Funnel = { include_bots: boolean; steps: Array<{ entered: number }> };
type Retention = { include_bots: boolean; cohorts: Array<{ size: number }> };

describe("bot filtering at ingest", () => {
  it("stores Googlebot and curl batches flagged, keeps a browser's unflagged, and every report leaves the bots out unless include_bots=true", async () => {
    const base = recentMinute();
    const page = `/bots-${crypto.randomUUID()}`;
    const [googleUser, browserUser] = [crypto.randomUUID(), crypto.randomUUID()];
    const visit = (session: string) => [
      { event_type: "page_view", session_id: session, page, timestamp: base + MIN },
      { event_type: "button_click", session_id: session, page, element: "buy", timestamp: base + 2 * MIN },
    ];
    const [google, curl, human] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await ingest(GOOGLEBOT, visit(google), await tokenFor({ role: "user", sub: googleUser }));
    await ingest(CURL, visit(curl));
    await ingest(BROWSER, visit(human), await tokenFor({ role: "user", sub: browserUser }));

    const flags = await storedFlags([google, curl, human], 6);
    expect(flags.get(google)).toEqual([1, 1]);
    expect(flags.get(curl)).toEqual([1, 1]);
    expect(flags.get(human)).toEqual([0, 0]);

    const range = { from: iso(base), to: iso(base + 10 * MIN) };
    const token = admin.token;
    const behavior = await getReport<Behavior>("user-behavior", token, range);
    expect(behavior.sessions.count).toBe(1);
    expect(behavior.top_pages).toEqual([{ page, views: 1 }]);
    expect(behavior.activity_heatmap.cells.reduce((s, c) => s + c.count, 0)).toBe(2);
    expect(behavior.bot_traffic).toEqual({
      included: false,
      sessions: 3,
      bot_sessions: 2,
      events: 6,
      bot_events: 4,
      bot_share: 66.7,
    });
    const withBots = await getReport<Behavior>("user-behavior", token, { ...range, include_bots: "true" });
    expect(withBots.sessions.count).toBe(3);
    expect(withBots.top_pages).toEqual([{ page, views: 3 }]);
    expect(withBots.activity_heatmap.cells.reduce((s, c) => s + c.count, 0)).toBe(6);
    expect(withBots.bot_traffic.included).toBe(true);

    const steps = `page_view:${page},button_click:${page}`;
    const funnel = await getReport<Funnel>("conversion-funnel", token, { ...range, steps });
    expect(funnel.steps.map((s) => s.entered)).toEqual([1, 1]);
    const funnelAll = await getReport<Funnel>("conversion-funnel", token, {
      ...range,
      steps,
      include_bots: "true",
    });
    expect(funnelAll.steps.map((s) => s.entered)).toEqual([3, 3]);

    // Retention is per signed-in user: the Googlebot caller's user is a bot cohort member.
    const retention = await getReport<Retention>("retention", token, { ...range, periods: "1" });
    expect(retention.cohorts.map((c) => c.size)).toEqual([1]);
    const retentionAll = await getReport<Retention>("retention", token, {
      ...range,
      periods: "1",
      include_bots: "true",
    });
    expect(retentionAll.cohorts.map((c) => c.size)).toEqual([2]);

    // Revenue reads payments (DB), not events: the parameter is accepted and echoed.
    const revenue = await getReport<{ include_bots: boolean }>("revenue", token, {
      ...range,
      include_bots: "true",
    });
    expect(revenue.include_bots).toBe(true);
  });

  it("flags a session that sends a zero-duration burst, not one whose events the server stamped", async () => {
    const at = recentMinute();
    const [burst, stamped, spread] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const many = (session: string, n: number, timestamp?: (i: number) => number) =>
      Array.from({ length: n }, (_, i) => ({
        event_type: "page_view",
        session_id: session,
        page: "/burst",
        ...(timestamp ? { timestamp: timestamp(i) } : {}),
      }));
    // BURST_MIN_EVENTS events in one millisecond, from a browser User-Agent.
    await ingest(
      BROWSER,
      many(burst, BURST_MIN_EVENTS, () => at),
    );
    // One fewer in that millisecond, and many more without a timestamp (server time for all).
    await ingest(BROWSER, [...many(spread, BURST_MIN_EVENTS - 1, () => at), ...many(stamped, 20)]);
    const flags = await storedFlags([burst, stamped, spread], 2 * BURST_MIN_EVENTS - 1 + 20);
    expect(flags.get(burst)).toEqual(new Array(BURST_MIN_EVENTS).fill(1));
    expect(flags.get(spread)).toEqual(new Array(BURST_MIN_EVENTS - 1).fill(0));
    expect(flags.get(stamped)).toEqual(new Array(20).fill(0));
  });

  it("refuses an include_bots value other than true or false on every report, with a 400", async () => {
    for (const report of ["user-behavior", "conversion-funnel", "revenue", "retention"]) {
      const q = new URLSearchParams({ include_bots: "yes" });
      if (report === "conversion-funnel") q.set("steps", "page_view,button_click");
      const res = await api(`/api/v1/analytics/${report}?${q}`, {
        headers: { authorization: `Bearer ${admin.token}` },
      });
      const body = await expectEnvelope(res, 400, "VALIDATION_FAILED");
      expect(JSON.stringify(body.error)).toContain("include_bots");
    }
  });

  it("writes bot events to Analytics Engine flagged in blob10", () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const ae: AeBinding = { writeDataPoint: (p) => p && points.push(p) };
    const base = { eventType: "page_view" as const, userId: null, sessionId: "s", occurredAt: 1 };
    new AeWriter(ae).writeAll([{ ...base, bot: true }, base]);
    expect(points.map((p) => p.blobs?.[9])).toEqual(["1", "0"]);
  });
});

// ---- The consumer side: a session flagged later, redelivery, races (store.ts RECLASSIFY).

async function consume(bodies: IngestMessage[]) {
  const { result } = await consumeQueue("analytics-ingest", bodies);
  expect(result.explicitAcks).toHaveLength(bodies.length);
}

function row(session: string, at: number, bot: 0 | 1, user: string | null, page: string): JsonRow {
  return toJsonRow({
    id: crypto.randomUUID(),
    eventType: "page_view",
    userId: user,
    sessionId: session,
    page,
    element: null,
    source: null,
    properties: null,
    occurredAt: at,
    receivedAt: at,
    bot,
  });
}

/** The day's rollups, and the same figures rebuilt from the raw rows (scripts/lib/rollups.mjs rules). */
async function rollupsOf(day: number, users: string[]) {
  const [from, to] = [day * DAY, (day + 1) * DAY];
  const marks = users.map(() => "?").join(",");
  return {
    daily: await all(`SELECT page, bot, events FROM analytics_daily WHERE day = ? ORDER BY page, bot`, day),
    dailyRebuilt: await all(
      `SELECT COALESCE(page, '') AS page, bot, COUNT(*) AS events FROM analytics_events
       WHERE occurred_at >= ? AND occurred_at < ? GROUP BY 1, 2 ORDER BY 1, 2`,
      from,
      to,
    ),
    activity: await all(
      `SELECT bucket, bot, events FROM analytics_activity WHERE bucket >= ? AND bucket < ? ORDER BY 1, 2`,
      from / (15 * MIN),
      to / (15 * MIN),
    ),
    activityRebuilt: await all(
      `SELECT occurred_at / ${15 * MIN} AS bucket, bot, COUNT(*) AS events FROM analytics_events
       WHERE occurred_at >= ? AND occurred_at < ? GROUP BY 1, 2 ORDER BY 1, 2`,
      from,
      to,
    ),
    userDays: await all(
      `SELECT user_id, bot FROM analytics_user_days WHERE day = ? AND user_id IN (${marks}) ORDER BY 1, 2`,
      day,
      ...users,
    ),
    userDaysRebuilt: await all(
      `SELECT DISTINCT user_id, bot FROM analytics_events
       WHERE occurred_at >= ? AND occurred_at < ? AND user_id IN (${marks}) ORDER BY 1, 2`,
      from,
      to,
      ...users,
    ),
  };
}

describe("bot flags in the ingest consumer", () => {
  it("a session flagged by a later batch flags its earlier events and moves their rollups; redelivery counts nothing twice", async () => {
    const at = freshMonday() + 5 * 3_600_000;
    const day = Math.floor(at / DAY);
    const [u, v] = [crypto.randomUUID(), crypto.randomUUID()];
    const [s, other] = [`bot-${crypto.randomUUID()}`, `human-${crypto.randomUUID()}`];
    // u browses in two sessions; v only in the one that turns out to be a bot.
    const early: IngestMessage = {
      v: 1,
      rows: [row(s, at, 0, u, "/a"), row(s, at + MIN, 0, v, "/b"), row(other, at + 2 * MIN, 0, u, "/a")],
    };
    const late: IngestMessage = { v: 1, rows: [row(s, at + 3 * MIN, 1, null, "/b")] };
    await consume([early]);
    const before = await rollupsOf(day, [u, v]);
    expect(before.daily).toEqual([
      { page: "/a", bot: 0, events: 2 },
      { page: "/b", bot: 0, events: 1 },
    ]);

    await consume([late]);
    const sessionFlags = await all<{ bot: number }>(
      "SELECT bot FROM analytics_events WHERE session_id = ?",
      s,
    );
    expect(sessionFlags.map((r) => r.bot)).toEqual([1, 1, 1]);
    const after = await rollupsOf(day, [u, v]);
    expect(after.daily).toEqual([
      { page: "/a", bot: 0, events: 1 },
      { page: "/a", bot: 1, events: 1 },
      { page: "/b", bot: 1, events: 2 },
    ]);
    expect(after.daily).toEqual(after.dailyRebuilt);
    expect(after.activity).toEqual(after.activityRebuilt);
    // u stays a human that day (their other session); v's only activity was the bot session.
    expect(after.userDays).toEqual(after.userDaysRebuilt);
    expect(after.userDays).toEqual(
      [
        { user_id: u, bot: 0 },
        { user_id: u, bot: 1 },
        { user_id: v, bot: 1 },
      ].sort((a, b) => a.user_id.localeCompare(b.user_id) || a.bot - b.bot),
    );
    const sess = await all(
      "SELECT bot, events FROM analytics_sessions WHERE session_id IN (?, ?) ORDER BY bot",
      s,
      other,
    );
    expect(sess).toEqual([
      { bot: 0, events: 1 },
      { bot: 1, events: 3 },
    ]);

    // At-least-once delivery: both messages again, then in parallel, change nothing.
    await consume([early, late]);
    await Promise.all([consume([late]), consume([early]), consume([late, early])]);
    expect(await rollupsOf(day, [u, v])).toEqual(after);
    const again = await all(
      "SELECT bot, events FROM analytics_sessions WHERE session_id IN (?, ?) ORDER BY bot",
      s,
      other,
    );
    expect(again).toEqual(sess);
  });

  it("whatever order and concurrency the messages arrive in, the rollups equal a rebuild from the rows", async () => {
    const at = freshMonday() + 7 * 3_600_000;
    const day = Math.floor(at / DAY);
    const users = [crypto.randomUUID(), crypto.randomUUID()];
    const sessions = Array.from({ length: 4 }, () => crypto.randomUUID());
    // Every session gets human rows in several messages; sessions 0 and 2 also a bot row.
    const messages: IngestMessage[] = sessions.flatMap((s, k) =>
      Array.from({ length: 3 }, (_, m) => ({
        v: 1 as const,
        rows: Array.from({ length: 4 }, (_, i) =>
          row(
            s,
            at + (m * 4 + i) * MIN,
            k % 2 === 0 && m === 1 && i === 0 ? 1 : 0,
            users[(k + i) % 2] ?? null,
            `/p${i % 2}`,
          ),
        ),
      })),
    );
    await Promise.all(messages.map((m) => consume([m])));
    await Promise.all([...messages].reverse().map((m) => consume([m])));
    const r = await rollupsOf(day, users);
    expect(r.daily).toEqual(r.dailyRebuilt);
    expect(r.activity).toEqual(r.activityRebuilt);
    expect(r.userDays).toEqual(r.userDaysRebuilt);
    const flags = await all<{ session_id: string; bot: number }>(
      `SELECT session_id, MIN(bot) AS bot FROM analytics_events WHERE session_id IN (?, ?, ?, ?) GROUP BY 1`,
      ...sessions,
    );
    const flagged = new Map(flags.map((f) => [f.session_id, f.bot]));
    expect(sessions.map((s) => flagged.get(s))).toEqual([1, 0, 1, 0]);
    const total = r.daily.reduce<number>((n, d) => n + (d as { events: number }).events, 0);
    expect(total).toBe(4 * 3 * 4);
  });

  it("a human batch costs six statements after its staging; the seven moves run only in a batch that flags a row", () => {
    const human = [row("h", 1, 0, null, "/a"), row("h", 2, 0, null, "/b")];
    const human6 = statementsFor(human);
    expect(human6).toHaveLength(6);
    expect(human6.some((q) => q.startsWith("UPDATE analytics_events"))).toBe(false);
    // Only the callers that read the inserted ids get D1 to send them back.
    expect(human6.some((q) => q.includes("RETURNING"))).toBe(false);
    expect(statementsFor(human, true).at(-1)).toMatch(/RETURNING id$/);
    const flagging = statementsFor([...human, row("b", 3, 1, null, "/a")]);
    expect(flagging).toHaveLength(13);
    expect(flagging.filter((q) => q.startsWith("UPDATE analytics_events"))).toHaveLength(1);
  });

  it("a human-only batch for a session flagged earlier stores its rows flagged, with no reclassification step", async () => {
    const at = freshMonday() + 9 * 3_600_000;
    const day = Math.floor(at / DAY);
    const u = crypto.randomUUID();
    const s = `bot-${crypto.randomUUID()}`;
    await consume([{ v: 1, rows: [row(s, at, 0, u, "/a")] }]);
    await consume([{ v: 1, rows: [row(s, at + MIN, 1, null, "/a")] }]);
    // Later requests of the session come without the signal (a browser User-Agent, no burst).
    const later: IngestMessage = {
      v: 1,
      rows: [row(s, at + 2 * MIN, 0, u, "/b"), row(s, at + 3 * MIN, 0, u, "/c")],
    };
    expect(statementsFor(later.rows)).toHaveLength(6);
    await consume([later]);
    await consume([later]);
    const flags = await all<{ bot: number }>("SELECT bot FROM analytics_events WHERE session_id = ?", s);
    expect(flags.map((f) => f.bot)).toEqual([1, 1, 1, 1]);
    const r = await rollupsOf(day, [u]);
    expect(r.daily).toEqual(r.dailyRebuilt);
    expect(r.activity).toEqual(r.activityRebuilt);
    expect(r.userDays).toEqual([{ user_id: u, bot: 1 }]);
    expect(r.userDays).toEqual(r.userDaysRebuilt);
  });

  it("a flag in a later chunk of one consumer batch reaches the human rows an earlier chunk wrote", async () => {
    const at = freshMonday() + 11 * 3_600_000;
    const day = Math.floor(at / DAY);
    const u = crypto.randomUUID();
    const [s, filler] = [`bot-${crypto.randomUUID()}`, `human-${crypto.randomUUID()}`];
    // Chunk 1: s's human rows, padded to a full chunk; chunk 2: s's flagged row and more human rows.
    const first = [row(s, at, 0, u, "/a"), row(s, at + 1, 0, u, "/b")];
    const pad = Array.from({ length: ROWS_PER_STATEMENT - first.length }, (_, i) =>
      row(filler, at + 2 * MIN + i, 0, null, "/f"),
    );
    const second = [row(s, at + MIN, 1, null, "/a"), row(filler, at + 3 * MIN, 0, null, "/f")];
    expect(statementsFor([...first, ...pad])).toHaveLength(6);
    const message: IngestMessage = { v: 1, rows: [...first, ...pad, ...second] };
    await consume([message]);
    await consume([message]);
    const flags = await all<{ session_id: string; bot: number; n: number }>(
      "SELECT session_id, bot, COUNT(*) AS n FROM analytics_events WHERE session_id IN (?, ?) GROUP BY 1, 2 ORDER BY n",
      s,
      filler,
    );
    expect(flags).toEqual([
      { session_id: s, bot: 1, n: 3 },
      { session_id: filler, bot: 0, n: pad.length + 1 },
    ]);
    const r = await rollupsOf(day, [u]);
    expect(r.daily).toEqual(r.dailyRebuilt);
    expect(r.activity).toEqual(r.activityRebuilt);
    expect(r.userDays).toEqual([{ user_id: u, bot: 1 }]);
    expect(r.userDays).toEqual(r.userDaysRebuilt);
  });

  it("a batch that flags one session does not re-read the stored rows of another flagged session it carries", async () => {
    const at = freshMonday() + 17 * 3_600_000;
    const day = Math.floor(at / DAY);
    const u = crypto.randomUUID();
    // A session flagged earlier, with a history; its later rows come without the signal.
    const s = `bot-${crypto.randomUUID()}`;
    const history = [
      row(s, at, 1, u, "/h"),
      ...Array.from({ length: 1000 }, (_, i) => row(s, at + 1 + i, 0, u, "/h")),
    ];
    await consume([{ v: 1, rows: history }]);
    // Same consumer batch: s's human-looking row, and a row of another session its message flags.
    let rowsRead = 0;
    const counting: D1Client = {
      prepare: (q) => adb.prepare(q),
      batch: async <T>(statements: D1PreparedStatement[]) => {
        const results = await adb.batch<T>(statements);
        for (const r of results) rowsRead += r.meta.rows_read;
        return results;
      },
    };
    const x = `bot-${crypto.randomUUID()}`;
    await insertJsonRows({ $client: counting } as unknown as Db, [
      row(s, at + 2 * MIN, 0, u, "/h"),
      row(x, at + 3 * MIN, 1, null, "/x"),
    ]);
    // Only x's stored rows are candidates for a move; s has none left to move.
    expect(rowsRead).toBeLessThan(history.length);
    const flags = await all<{ bot: number; n: number }>(
      "SELECT bot, COUNT(*) AS n FROM analytics_events WHERE session_id IN (?, ?) GROUP BY bot",
      s,
      x,
    );
    expect(flags).toEqual([{ bot: 1, n: history.length + 2 }]);
    const r = await rollupsOf(day, [u]);
    expect(r.daily).toEqual(r.dailyRebuilt);
    expect(r.activity).toEqual(r.activityRebuilt);
    expect(r.userDays).toEqual([{ user_id: u, bot: 1 }]);
  });

  it("erasure removes a user's bot rows too, and the rollups of the bot split equal a rebuild", async () => {
    const at = freshMonday() + 13 * 3_600_000;
    const day = Math.floor(at / DAY);
    const [gone, stays] = [crypto.randomUUID(), crypto.randomUUID()];
    const [botS, humanS, shared] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await consume([
      {
        v: 1,
        rows: [
          row(botS, at, 1, gone, "/a"),
          row(botS, at + 1, 0, null, "/a"), // anonymous, pre-login part of the same bot visit
          row(humanS, at + 2, 0, gone, "/b"),
          row(shared, at + 3, 1, stays, "/c"), // a bot session `stays` shares with `gone`
          row(shared, at + 4, 0, gone, "/c"),
        ],
      },
    ]);
    const res = await api(`/api/v1/analytics/users/${gone}`, { method: "DELETE", headers: admin.headers });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user_id: gone, deleted: 4 });
    const left = await all<{ session_id: string; bot: number }>(
      "SELECT session_id, bot FROM analytics_events WHERE session_id IN (?, ?, ?)",
      botS,
      humanS,
      shared,
    );
    expect(left).toEqual([{ session_id: shared, bot: 1 }]);
    const sessions = await all<{ session_id: string; bot: number; events: number }>(
      "SELECT session_id, bot, events FROM analytics_sessions WHERE session_id IN (?, ?, ?)",
      botS,
      humanS,
      shared,
    );
    expect(sessions).toEqual([{ session_id: shared, bot: 1, events: 1 }]);
    const r = await rollupsOf(day, [gone, stays]);
    expect(r.daily).toEqual(r.dailyRebuilt);
    expect(r.activity).toEqual(r.activityRebuilt);
    expect(r.userDays).toEqual([{ user_id: stays, bot: 1 }]);
    expect(r.userDays).toEqual(r.userDaysRebuilt);
  });

  it("a server-recorded payment is never bot traffic, even in a session a bot names (before or after it)", async () => {
    const at = freshMonday() + 15 * 3_600_000;
    const u = crypto.randomUUID();
    const payment = (id: string) => ({
      id: `evt:${id}`,
      eventType: "payment_completed" as const,
      userId: u,
      sessionId: `server:${id}`,
      occurredAt: at + 5 * MIN,
      receivedAt: at + 5 * MIN,
    });
    const [early, late] = [`pay_${crypto.randomUUID()}`, `pay_${crypto.randomUUID()}`];
    // A client that knows a payment id sends bot traffic under its synthetic session id.
    await consume([{ v: 1, rows: [row(`server:${early}`, at, 1, null, "/x")] }]);
    await insertEvents(analyticsDrizzle, [payment(early), payment(late)]);
    await consume([{ v: 1, rows: [row(`server:${late}`, at + 6 * MIN, 1, null, "/x")] }]);
    const stored = await all<{ session_id: string; bot: number }>(
      "SELECT session_id, bot FROM analytics_events WHERE event_type = 'payment_completed' AND session_id IN (?, ?)",
      `server:${early}`,
      `server:${late}`,
    );
    expect(stored.map((r) => r.bot)).toEqual([0, 0]);
    const r = await rollupsOf(Math.floor(at / DAY), [u]);
    expect(r.daily).toEqual(r.dailyRebuilt);
    expect(r.userDays).toEqual([{ user_id: u, bot: 0 }]);
  });

  it("the export carries the bot flag, so an operator can tell the bots from the people", async () => {
    const at = Math.floor((Date.now() - 3 * DAY) / MIN) * MIN + 17;
    const [botS, humanS] = [crypto.randomUUID(), crypto.randomUUID()];
    await consume([{ v: 1, rows: [row(botS, at, 1, null, "/x"), row(humanS, at, 0, null, "/x")] }]);
    const range = `from=${iso(at)}&to=${iso(at + 1)}`;
    const ndjson = await api(`/api/v1/analytics/export?${range}`, { headers: admin.headers });
    expect(ndjson.status).toBe(200);
    const lines = (await ndjson.text())
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as { session_id: string; bot: number });
    const mine = lines.filter((l) => l.session_id === botS || l.session_id === humanS);
    expect(new Map(mine.map((l) => [l.session_id, l.bot]))).toEqual(
      new Map([
        [botS, 1],
        [humanS, 0],
      ]),
    );
    const csv = await api(`/api/v1/analytics/export?${range}&format=csv`, { headers: admin.headers });
    const [header] = (await csv.text()).split("\r\n");
    expect(header?.split(",").at(-1)).toBe("bot");
  });
});
