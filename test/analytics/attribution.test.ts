import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { normaliseUtm, touchOf, UTM_MAX_CHARS } from "../../src/analytics/attribution";
import { purgeExpiredAnalytics } from "../../src/analytics/housekeeping";
import type { IngestMessage } from "../../src/analytics/ingest-queue";
import { PAYMENTS_PAGE } from "../../src/analytics/reports/attribution";
import { type JsonRow, toJsonRow } from "../../src/analytics/store";
import { payments } from "../../src/db/schema/payments";
import { newCaller } from "../helpers/auth";
import { testDeps } from "../helpers/deps";
import { eventually } from "../helpers/eventually";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { paidPayment } from "../payments/helpers";
import { consumeQueue as consume, DAY, freshMonday, getReport, HOUR, iso, MIN, paymentsDb } from "./helpers";

const adb = env.ANALYTICS_DB;

type TouchRow = { scope: string; actor: string; model: string; occurred_at: number; event_id: string } & {
  source: string;
  medium: string | null;
  campaign: string | null;
};
const touches = async (actors: string[]) =>
  (
    await adb
      .prepare(
        `SELECT scope, actor, model, occurred_at, event_id, source, medium, campaign FROM analytics_touches
        WHERE actor IN (SELECT value FROM json_each(?1)) ORDER BY scope, actor, model`,
      )
      .bind(JSON.stringify(actors))
      .all<TouchRow>()
  ).results;
const sourcesOf = async (actor: string) =>
  Object.fromEntries((await touches([actor])).map((t) => [t.model, t.source]));

type RowSpec = {
  at: number;
  session: string;
  user?: string | null;
  page?: string | null;
  props?: Record<string, unknown> | null;
  id?: string;
};
/** An event as the ingest handler queues it. */
const row = (r: RowSpec): JsonRow =>
  toJsonRow({
    id: r.id ?? crypto.randomUUID(),
    eventType: "page_view",
    userId: r.user ?? null,
    sessionId: r.session,
    page: r.page ?? null,
    element: null,
    source: null,
    properties: r.props ?? null,
    occurredAt: r.at,
    receivedAt: r.at,
  });
const message = (rows: JsonRow[]): IngestMessage => ({ v: 1, rows });
const ingest = (...messages: IngestMessage[]) => consume("analytics-ingest", messages);

describe("UTM parsing at ingest", () => {
  it("reads the page URL's query or the properties; properties win; values are normalised", () => {
    expect(
      touchOf("/pricing?utm_source=Newsletter&utm_medium=EMAIL&utm_campaign=Black%20Friday", null),
    ).toEqual({ source: "newsletter", medium: "email", campaign: "black friday" });
    expect(touchOf("https://shop.example/?utm_source=%20Google%20", null)).toEqual({
      source: "google",
      medium: null,
      campaign: null,
    });
    // All three fields come from one place: the properties when they name a source.
    expect(
      touchOf("/?utm_source=url&utm_medium=cpc", { utm_source: "Partner", utm_campaign: "Spring" }),
    ).toEqual({ source: "partner", medium: null, campaign: "spring" });
    expect(touchOf("/?utm_source=url&utm_medium=cpc", { utm_medium: "ignored" })).toEqual({
      source: "url",
      medium: "cpc",
      campaign: null,
    });
    // The parser's shortcut (no "?", no "utm" and no "%") never hides a key the URL parser reads:
    // an escaped key, or one split by the tab and newline it drops.
    expect(touchOf("/p?%75tm_source=Esc", null)).toEqual({ source: "esc", medium: null, campaign: null });
    expect(touchOf("/p?u\ttm_source=Tab&utm_med\nium=x", null)).toEqual({
      source: "tab",
      medium: "x",
      campaign: null,
    });
    expect(touchOf("/plain/page", null)).toBeNull();
    expect(touchOf("/p?ref=home", null)).toBeNull();
    // No source, no touch; a page that is not a URL, a control character, a number: ignored.
    expect(touchOf("/?utm_medium=cpc&utm_campaign=x", null)).toBeNull();
    expect(touchOf("http://[not-a-url/?utm_source=x", null)).toBeNull();
    expect(touchOf("/?utm_source=a%00b", { utm_source: 42 })).toBeNull();
    expect(normaliseUtm("tab\tinside")).toBeNull();
    expect(normaliseUtm("   ")).toBeNull();
    expect(normaliseUtm(`  ${"É".repeat(300)}  `)).toBe("é".repeat(UTM_MAX_CHARS));
  });

  it("stores touches for events sent to POST /analytics/events, from the URL and from properties", async () => {
    const [anon, signedIn] = [crypto.randomUUID(), crypto.randomUUID()];
    const tag = anon.slice(0, 8);
    const user = await newCaller("user");
    const now = Date.now();
    const anonRes = await postJson("/api/v1/analytics/events", {
      events: [
        {
          event_type: "page_view",
          session_id: anon,
          page: `/?utm_source=Ads-${tag}&utm_medium=CPC`,
          timestamp: now - 2 * MIN,
        },
        // A page that does not parse as a URL is stored as sent and carries no touch.
        { event_type: "page_view", session_id: anon, page: "http://[broken", timestamp: now - MIN },
      ],
    });
    expect(await anonRes.json()).toEqual({ accepted: 2, rejected: 0, errors: [] });
    const userRes = await postJson(
      "/api/v1/analytics/events",
      {
        events: [
          {
            event_type: "button_click",
            session_id: signedIn,
            page: "/pricing",
            element: "buy",
            properties: { utm_source: `Mail-${tag}`, utm_campaign: "Launch" },
            timestamp: now - MIN,
          },
        ],
      },
      user.headers,
    );
    expect(userRes.status).toBe(202);
    const stored = await eventually(async () => {
      const t = await touches([anon, user.sub]);
      return t.length === 4 ? t : null;
    }, "four touches");
    expect(
      stored.map(({ scope, actor, model, source, medium, campaign }) => ({
        scope,
        actor,
        model,
        source,
        medium,
        campaign,
      })),
    ).toEqual([
      { scope: "session", actor: anon, model: "first", source: `ads-${tag}`, medium: "cpc", campaign: null },
      { scope: "session", actor: anon, model: "last", source: `ads-${tag}`, medium: "cpc", campaign: null },
      {
        scope: "user",
        actor: user.sub,
        model: "first",
        source: `mail-${tag}`,
        medium: null,
        campaign: "launch",
      },
      {
        scope: "user",
        actor: user.sub,
        model: "last",
        source: `mail-${tag}`,
        medium: null,
        campaign: "launch",
      },
    ]);
    const broken = await adb
      .prepare("SELECT COUNT(*) AS n FROM analytics_events WHERE session_id = ? AND page = 'http://[broken'")
      .bind(anon)
      .first<{ n: number }>();
    expect(broken?.n).toBe(1);
  });
});

describe("first and last touch", () => {
  it("keeps a user's earliest and latest touch across sessions; untagged events change nothing", async () => {
    const user = crypto.randomUUID();
    const t0 = freshMonday();
    const [s1, s2] = [crypto.randomUUID(), crypto.randomUUID()];
    await ingest(
      message([
        row({
          at: t0 + HOUR,
          session: s1,
          user,
          page: "/?utm_source=google&utm_medium=cpc&utm_campaign=brand",
        }),
        row({ at: t0 + 2 * HOUR, session: s1, user, page: "/pricing" }),
      ]),
    );
    await ingest(
      message([
        row({ at: t0 + DAY, session: s2, user, props: { utm_source: "newsletter", utm_medium: "email" } }),
        row({ at: t0 + DAY + HOUR, session: s2, user, page: "/checkout" }),
      ]),
    );
    const t = await touches([user]);
    expect(
      t.map(({ model, occurred_at, source, medium, campaign }) => ({
        model,
        occurred_at,
        source,
        medium,
        campaign,
      })),
    ).toEqual([
      { model: "first", occurred_at: t0 + HOUR, source: "google", medium: "cpc", campaign: "brand" },
      { model: "last", occurred_at: t0 + DAY, source: "newsletter", medium: "email", campaign: null },
    ]);
  });

  it("takes no touch from a bot-flagged event, so a crawler on tagged links is credited to nobody", async () => {
    const user = crypto.randomUUID();
    const t0 = freshMonday();
    const crawl = crypto.randomUUID();
    const human = crypto.randomUUID();
    // The crawler's anonymous session, then a person signing in on it with an untagged visit: if
    // the crawler's tags had become a session touch, the user would inherit them.
    await ingest(
      message([{ ...row({ at: t0 + HOUR, session: crawl, page: "/?utm_source=spamcrawler" }), bot: 1 }]),
    );
    await ingest(message([row({ at: t0 + 2 * HOUR, session: crawl, user, page: "/pricing" })]));
    await ingest(message([row({ at: t0 + 3 * HOUR, session: human, user, page: "/?utm_source=google" })]));
    const t = await touches([user]);
    expect(t.map(({ model, source }) => ({ model, source }))).toEqual([
      { model: "first", source: "google" },
      { model: "last", source: "google" },
    ]);
  });

  it("takes no touch from a later, unflagged-looking event of a session flagged earlier (review finding)", async () => {
    const t0 = freshMonday();
    const [crawl, user] = [crypto.randomUUID(), crypto.randomUUID()];
    await ingest(message([{ ...row({ at: t0 + HOUR, session: crawl, page: "/a" }), bot: 1 }]));
    // The same session later, without the signal that flagged it: its rows are stored as bot
    // traffic, so their tags are a crawler's too, for the session and for a user signing in on it.
    await ingest(message([row({ at: t0 + 2 * HOUR, session: crawl, page: "/?utm_source=spamcrawler" })]));
    await ingest(message([row({ at: t0 + 3 * HOUR, session: crawl, user, page: "/?utm_source=spam2" })]));
    expect(await touches([crawl, user])).toEqual([]);
  });

  it("a session's human-looking touch depends on whether its flag arrived before it (documented order dependence)", async () => {
    const t0 = freshMonday();
    const kept: Record<string, Record<string, string>> = {};
    for (const order of ["touch first", "flag first", "one batch"] as const) {
      const session = crypto.randomUUID();
      const tagged = message([row({ at: t0 + HOUR, session, page: "/?utm_source=google" })]);
      const flag = message([{ ...row({ at: t0 + 2 * HOUR, session, page: "/a" }), bot: 1 }]);
      if (order === "one batch") await ingest(tagged, flag);
      else for (const m of order === "touch first" ? [tagged, flag] : [flag, tagged]) await ingest(m);
      kept[order] = await sourcesOf(session);
    }
    // The same two messages, the same final bot flag on every event, but not the same touches.
    expect(kept).toEqual({
      "touch first": { first: "google", last: "google" },
      "flag first": {},
      "one batch": {},
    });
  });

  it("gives an anonymous session its own touches, which the user who signs in on it inherits, in either order", async () => {
    const t0 = freshMonday();
    for (const order of ["anonymous first", "signed-in first"] as const) {
      const [user, session] = [crypto.randomUUID(), crypto.randomUUID()];
      const anonymous = message([
        row({ at: t0 + MIN, session, page: "/?utm_source=twitter&utm_campaign=launch" }),
        row({ at: t0 + 2 * MIN, session, page: "/?utm_source=reddit" }),
      ]);
      // The user signs in later in the same visit, then comes back tagged a day later.
      const signedIn = message([
        row({ at: t0 + 5 * MIN, session, user, page: "/home" }),
        row({ at: t0 + DAY, session: crypto.randomUUID(), user, page: "/?utm_source=newsletter" }),
      ]);
      for (const m of order === "anonymous first" ? [anonymous, signedIn] : [signedIn, anonymous])
        await ingest(m);
      expect(await sourcesOf(session), order).toEqual({ first: "twitter", last: "reddit" });
      // First touch: the session's pre-login touch; last touch: the user's own later one.
      expect(await sourcesOf(user), order).toEqual({ first: "twitter", last: "newsletter" });
    }
  });

  it("converges on the same touches whatever the order, redelivery or parallelism; ties go by event id", async () => {
    const t0 = freshMonday();
    const runs = await Promise.all(
      ["in order", "reversed", "redelivered in parallel"].map(async (how) => {
        const user = crypto.randomUUID();
        const session = crypto.randomUUID();
        const rows = [
          row({ id: `${user}-b`, at: t0 + HOUR, session, user, page: "/?utm_source=beta" }),
          // Same time as the one above: the smaller event id is first, the larger last.
          row({ id: `${user}-a`, at: t0 + HOUR, session, user, page: "/?utm_source=alpha" }),
          row({ id: `${user}-c`, at: t0 + 3 * HOUR, session, user, page: "/?utm_source=gamma" }),
          row({ id: `${user}-d`, at: t0 + 3 * HOUR, session, user, page: "/?utm_source=delta" }),
          row({ id: `${user}-e`, at: t0 + 2 * HOUR, session, user, page: "/?utm_source=epsilon" }),
        ];
        const messages = rows.map((r) => message([r]));
        if (how === "in order") await ingest(...messages);
        const reversed = [...messages].reverse();
        if (how === "reversed") for (const m of reversed) await ingest(m);
        if (how === "redelivered in parallel") {
          await Promise.all([ingest(...messages), ingest(...reversed), ingest(messages[2] as IngestMessage)]);
          await ingest(...messages);
        }
        return (await touches([user])).map(({ model, occurred_at, source }) => ({
          model,
          occurred_at,
          source,
        }));
      }),
    );
    const expected = [
      { model: "first", occurred_at: t0 + HOUR, source: "alpha" },
      { model: "last", occurred_at: t0 + 3 * HOUR, source: "delta" },
    ];
    expect(runs).toEqual([expected, expected, expected]);
  });
});

// A currency code no other test uses keeps the report rows to this test's payments.
const freshCurrency = () => `x${crypto.randomUUID().replaceAll("-", "").slice(0, 6)}`;
type Attributed = {
  model: string;
  by_source: Array<{ source: string; currency: string; amount: number; refunded: number; payments: number }>;
  by_campaign: Array<{ source: string; medium: string; campaign: string; currency: string; amount: number }>;
};

describe("GET /analytics/revenue/by-source", () => {
  let admin: Awaited<ReturnType<typeof newCaller>>;
  beforeAll(async () => {
    admin = await newCaller("admin");
  });
  const report = (query: Record<string, string>) =>
    getReport<Attributed>("revenue/by-source", admin.token, query);

  it("credits a paying user's real payment to their first or last touch", async () => {
    const payer = await newCaller("user");
    const tag = payer.sub.slice(0, 8);
    const now = Date.now();
    await ingest(
      message([
        row({
          at: now - 3 * HOUR,
          session: crypto.randomUUID(),
          user: payer.sub,
          page: `/?utm_source=first-${tag}`,
        }),
        row({
          at: now - HOUR,
          session: crypto.randomUUID(),
          user: payer.sub,
          page: `/?utm_source=last-${tag}&utm_medium=email`,
        }),
      ]),
    );
    await paidPayment(payer, 4200, "usd");
    const range = { from: iso(now - DAY), to: iso(Date.now() + HOUR) };
    const ours = (r: Attributed) => r.by_source.filter((s) => s.source.endsWith(tag));
    const first = await report({ ...range, model: "first_touch" });
    expect(first.model).toBe("first_touch");
    expect(ours(first)).toEqual([
      {
        source: `first-${tag}`,
        currency: "usd",
        amount: 4200,
        amount_decimal: "42.00",
        refunded: 0,
        payments: 1,
      },
    ]);
    const last = await report({ ...range, model: "last_touch" });
    expect(ours(last)).toEqual([
      {
        source: `last-${tag}`,
        currency: "usd",
        amount: 4200,
        amount_decimal: "42.00",
        refunded: 0,
        payments: 1,
      },
    ]);
    expect(last.by_campaign.filter((c) => c.source.endsWith(tag))).toEqual([
      {
        source: `last-${tag}`,
        medium: "email",
        campaign: "(none)",
        currency: "usd",
        amount: 4200,
        amount_decimal: "42.00",
        refunded: 0,
        payments: 1,
      },
    ]);
  });

  it("pages through more payments than one page, shows unattributed revenue as (direct), and never credits a later touch", async () => {
    const cur = freshCurrency();
    const t0 = freshMonday();
    const [ann, bob, cat] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await ingest(
      message([
        row({
          at: t0,
          session: crypto.randomUUID(),
          user: ann,
          page: "/?utm_source=google&utm_campaign=brand",
        }),
        row({ at: t0 + 10 * DAY, session: crypto.randomUUID(), user: ann, page: "/?utm_source=newsletter" }),
        // Bob's only touch comes after his payment: nothing brought that payment in.
        row({ at: t0 + 5 * DAY, session: crypto.randomUUID(), user: bob, page: "/?utm_source=late" }),
      ]),
    );
    const pay = (
      userId: string,
      amount: number,
      at: number,
      extra: Partial<typeof payments.$inferInsert> = {},
    ) => ({
      id: crypto.randomUUID(),
      userId,
      amount,
      currency: cur,
      status: "succeeded" as const,
      paidAt: at,
      createdAt: at,
      updatedAt: at,
      ...extra,
    });
    // Ann pays once before her newsletter touch and once after; Cat never had a touch.
    const annRows = [
      pay(ann, 1000, t0 + DAY),
      pay(ann, 3000, t0 + 11 * DAY, { status: "partially_refunded", amountRefunded: 500 }),
    ];
    const catRows = Array.from({ length: PAYMENTS_PAGE + 5 }, (_, i) => pay(cat, 10, t0 + 2 * DAY + i));
    const rows = [
      ...annRows,
      pay(bob, 700, t0 + 2 * DAY),
      pay(ann, 9999, t0 + 2 * DAY, { status: "failed" }),
      ...catRows,
    ];
    // drizzle binds every column of the table: 3 rows stay under D1's 100 parameters a statement.
    for (let i = 0; i < rows.length; i += 3) await paymentsDb.insert(payments).values(rows.slice(i, i + 3));

    const range = { from: iso(t0), to: iso(t0 + 20 * DAY) };
    const mine = (r: Attributed) =>
      r.by_source
        .filter((s) => s.currency === cur)
        .map(({ source, amount, refunded, payments }) => ({ source, amount, refunded, payments }));
    const direct = {
      source: "(direct)",
      amount: 10 * (PAYMENTS_PAGE + 5) + 700,
      refunded: 0,
      payments: PAYMENTS_PAGE + 6,
    };
    expect(mine(await report({ ...range, model: "first_touch" }))).toEqual([
      direct,
      { source: "google", amount: 4000, refunded: 500, payments: 2 },
    ]);
    const last = await report({ ...range, model: "last_touch" });
    expect(mine(last)).toEqual([
      direct,
      { source: "newsletter", amount: 3000, refunded: 500, payments: 1 },
      { source: "google", amount: 1000, refunded: 0, payments: 1 },
    ]);
    expect(last.by_campaign.filter((c) => c.currency === cur && c.source === "google")).toEqual([
      {
        source: "google",
        medium: "(none)",
        campaign: "brand",
        currency: cur,
        amount: 1000,
        amount_decimal: "10.00",
        refunded: 0,
        payments: 1,
      },
    ]);
  });

  it("refuses an unknown model and a bad range with a 400 envelope", async () => {
    for (const query of ["model=linear", "model=", "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"]) {
      const res = await api(`/api/v1/analytics/revenue/by-source?${query}`, { headers: admin.headers });
      await expectEnvelope(res, 400, "VALIDATION_FAILED");
    }
    const user = await newCaller("user");
    await expectEnvelope(
      await api("/api/v1/analytics/revenue/by-source", { headers: user.headers }),
      403,
      "FORBIDDEN",
    );
    await expectEnvelope(await api("/api/v1/analytics/revenue/by-source"), 401, "UNAUTHENTICATED");
  });
});

describe("erasure", () => {
  it("removes the user's touches, their sessions', and what another user inherited from them; a late batch cannot restore them", async () => {
    const admin = await newCaller("admin");
    const t0 = freshMonday();
    const [victim, other, shared, own] = [
      crypto.randomUUID(),
      crypto.randomUUID(),
      crypto.randomUUID(),
      crypto.randomUUID(),
    ];
    // The victim's visit starts anonymous and tagged on a shared device; someone else signs in on it later.
    const late = message([row({ at: t0 + 3 * MIN, session: own, user: victim, page: "/?utm_source=late" })]);
    await ingest(
      message([
        row({ at: t0 + MIN, session: shared, page: "/?utm_source=ads" }),
        row({ at: t0 + 2 * MIN, session: shared, user: victim, page: "/home" }),
        row({ at: t0 + HOUR, session: shared, user: other, page: "/?utm_source=own-tag" }),
        row({ at: t0 + 2 * MIN, session: own, user: victim, page: "/?utm_source=mail" }),
      ]),
    );
    expect(await sourcesOf(other)).toEqual({ first: "ads", last: "own-tag" });
    const res = await api(`/api/v1/analytics/users/${victim}`, { method: "DELETE", headers: admin.headers });
    expect(res.status).toBe(200);
    expect(await touches([victim, shared, own])).toEqual([]);
    // The other user keeps the touch of their own event; the inherited anonymous one is gone.
    expect(await sourcesOf(other)).toEqual({ last: "own-tag" });
    // A batch still in the queue from before the erasure writes nothing back.
    await ingest(late);
    expect(await touches([victim, own])).toEqual([]);
  });
});

describe("retention", () => {
  it("drops anonymous session touches past the retention cutoff and keeps users' touches", async () => {
    const deps = testDeps();
    const t0 = freshMonday();
    const [user, session, recent] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const now = t0 + (deps.config.ANALYTICS_RETENTION_DAYS + 1) * DAY;
    await ingest(
      message([
        row({ at: t0, session, page: "/?utm_source=old-ad" }),
        row({ at: t0, session: crypto.randomUUID(), user, page: "/?utm_source=old-mail" }),
        row({ at: now - DAY, session: recent, page: "/?utm_source=new-ad" }),
      ]),
    );
    await purgeExpiredAnalytics(deps, now);
    expect(await touches([session])).toEqual([]);
    expect(await sourcesOf(user)).toEqual({ first: "old-mail", last: "old-mail" });
    expect(await sourcesOf(recent)).toEqual({ first: "new-ad", last: "new-ad" });
  });
});

describe("hostile UTM values", () => {
  it("stores the event and no touch for a lone surrogate, and the report still reads", async () => {
    const admin = await newCaller("admin");
    const user = crypto.randomUUID();
    const session = crypto.randomUUID();
    const { result } = await ingest(
      message([row({ at: freshMonday(), session, user, props: { utm_source: "\ud800evil" } })]),
    );
    expect(result.explicitAcks.length).toBe(1);
    expect(await touches([user])).toEqual([]);
    const n = await adb
      .prepare("SELECT COUNT(*) AS n FROM analytics_events WHERE session_id = ?")
      .bind(session)
      .first<{ n: number }>();
    expect(n?.n).toBe(1);
    const res = await api("/api/v1/analytics/revenue/by-source", { headers: admin.headers });
    expect(res.status).toBe(200);
  });

  it("voids bidi overrides and line separators, which would spoof the dashboard's source names", () => {
    for (const bad of ["google\u202Eelgoog", "a\u2066b", "x\u2028y", "\u200Fads"]) {
      expect(normaliseUtm(bad), JSON.stringify(bad)).toBeNull();
    }
    // Emoji with a joiner and accented letters are ordinary text.
    expect(normaliseUtm("👩‍💻 Café")).toBe("👩‍💻 café");
  });
});
