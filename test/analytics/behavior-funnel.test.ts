import { beforeAll, describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { api, expectEnvelope } from "../helpers/http";
import { DAY, freshMonday, getReport, HOUR, iso, MIN, seedEvents } from "./helpers";

let admin: Awaited<ReturnType<typeof newCaller>>;
beforeAll(async () => {
  admin = await newCaller("admin");
});

type Behavior = {
  sessions: {
    count: number;
    avg_duration_ms: number;
    avg_events_per_session: number;
    bounces: number;
    bounce_rate: number;
  };
  top_pages: Array<{ page: string; views: number }>;
  click_heatmap: Array<{ page: string; element: string; clicks: number }>;
  feature_usage: Array<{ feature: string; uses: number }>;
  activity_heatmap: { tz: string; cells: Array<{ weekday: number; hour: number; count: number }> };
};

describe("GET /analytics/user-behavior", () => {
  it("computes sessions, pages, heatmaps and features from a small dataset", async () => {
    const B = freshMonday();
    const [u1, u2] = [crypto.randomUUID(), crypto.randomUUID()];
    const anon = crypto.randomUUID();
    await seedEvents([
      // Session 1 (u1): 2 page views and a click over 2 minutes, not a bounce.
      { type: "page_view", at: B, user: u1, session: `${u1}-s`, page: "/home" },
      { type: "button_click", at: B + MIN, user: u1, session: `${u1}-s`, page: "/home", element: "signup" },
      { type: "page_view", at: B + 2 * MIN, user: u1, session: `${u1}-s`, page: "/pricing" },
      // Server truth: not part of any session's statistics, but it is activity.
      { type: "payment_completed", at: B + 200_000, user: u1, session: "server:p1" },
      // Session 2 (anonymous): a single page view, a bounce.
      { type: "page_view", at: B + HOUR, session: anon, page: "/home" },
      // Session 3 (u2, Tuesday 02:00 UTC): one page view and a feature use over 30 s.
      { type: "page_view", at: B + DAY + 2 * HOUR, user: u2, session: `${u2}-s`, page: "/pricing" },
      {
        type: "feature_used",
        at: B + DAY + 2 * HOUR + 30_000,
        user: u2,
        session: `${u2}-s`,
        element: "export",
      },
    ]);
    const range = { from: iso(B), to: iso(B + 7 * DAY) };
    const r = await getReport<Behavior>("user-behavior", admin.token, range);
    expect(r.sessions).toEqual({
      count: 3,
      avg_duration_ms: 50_000, // (120 000 + 0 + 30 000) / 3
      avg_events_per_session: 2, // (3 + 1 + 2) / 3
      bounces: 1,
      bounce_rate: 33.3,
    });
    expect(r.top_pages).toEqual([
      { page: "/home", views: 2 },
      { page: "/pricing", views: 2 },
    ]);
    expect(r.click_heatmap).toEqual([{ page: "/home", element: "signup", clicks: 1 }]);
    expect(r.feature_usage).toEqual([{ feature: "export", uses: 1 }]);
    expect(r.activity_heatmap.cells).toEqual([
      { weekday: 1, hour: 0, count: 4 },
      { weekday: 1, hour: 1, count: 1 },
      { weekday: 2, hour: 2, count: 2 },
    ]);

    // Ragged edges come from raw events: starting at 00:01:30 drops the first two events
    // (and the session that began before the range), keeping what follows.
    const ragged = await getReport<Behavior>("user-behavior", admin.token, {
      ...range,
      from: iso(B + 90_000),
    });
    expect(ragged.sessions.count).toBe(2);
    expect(ragged.top_pages).toEqual([
      { page: "/pricing", views: 2 },
      { page: "/home", views: 1 },
    ]);
    expect(ragged.click_heatmap).toEqual([]);
    expect(ragged.activity_heatmap.cells).toEqual([
      { weekday: 1, hour: 0, count: 2 },
      { weekday: 1, hour: 1, count: 1 },
      { weekday: 2, hour: 2, count: 2 },
    ]);

    // India is UTC+05:30 all year: every cell moves 5½ hours later.
    const kolkata = await getReport<Behavior>("user-behavior", admin.token, { ...range, tz: "Asia/Kolkata" });
    expect(kolkata.activity_heatmap).toMatchObject({
      tz: "Asia/Kolkata",
      cells: [
        { weekday: 1, hour: 5, count: 4 },
        { weekday: 1, hour: 6, count: 1 },
        { weekday: 2, hour: 7, count: 2 },
      ],
    });
  });

  it("rejects bad ranges and zones with 400", async () => {
    const q = (p: Record<string, string>) =>
      api(`/api/v1/analytics/user-behavior?${new URLSearchParams(p)}`, { headers: admin.headers });
    await expectEnvelope(
      await q({ from: "2024-02-01T00:00:00Z", to: "2024-01-01T00:00:00Z" }),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(
      await q({ from: "2022-01-01T00:00:00Z", to: "2024-01-01T00:00:00Z" }),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(await q({ from: "yesterday" }), 400, "VALIDATION_FAILED");
    await expectEnvelope(await q({ tz: "Mars/Olympus" }), 400, "VALIDATION_FAILED");
  });
});

type Step = {
  step: number;
  entered: number;
  converted: number | null;
  conversion_from_previous: number | null;
  conversion_from_first: number | null;
  drop_off: number;
  drop_off_rate: number | null;
  median_time_to_convert_ms: number | null;
};

describe("GET /analytics/conversion-funnel", () => {
  it("orders steps within the window per user, or per session when anonymous", async () => {
    const B = freshMonday();
    const [a, b, c, d, f] = Array.from({ length: 5 }, () => crypto.randomUUID());
    const anon = crypto.randomUUID();
    const pricing = { type: "page_view" as const, page: "/pricing" };
    await seedEvents([
      // A: the whole funnel, 10 min between steps.
      { ...pricing, at: B, user: a },
      { type: "button_click", at: B + 10 * MIN, user: a },
      { type: "feature_used", at: B + 20 * MIN, user: a },
      // B: out of order: the click comes before pricing, so only step 1 counts.
      { type: "button_click", at: B, user: b },
      { ...pricing, at: B + 5 * MIN, user: b },
      // C: the click is 2 h later, outside the 1 h window.
      { ...pricing, at: B, user: c },
      { type: "button_click", at: B + 2 * HOUR, user: c },
      // D: repeated steps count once; the first pricing view starts the clock.
      { ...pricing, at: B, user: d },
      { ...pricing, at: B + MIN, user: d },
      { type: "button_click", at: B + 30 * MIN, user: d },
      { type: "button_click", at: B + 31 * MIN, user: d },
      { type: "feature_used", at: B + 50 * MIN, user: d },
      // E: anonymous, tracked by session; reaches step 2 after 4 min.
      { ...pricing, at: B + DAY, user: null, session: anon },
      { type: "button_click", at: B + DAY + 4 * MIN, user: null, session: anon },
      // F: another page does not match the step.
      { type: "page_view", page: "/home", at: B, user: f },
      { type: "button_click", at: B + MIN, user: f },
    ]);
    const r = await getReport<{ steps: Step[]; window_ms: number }>("conversion-funnel", admin.token, {
      from: iso(B),
      to: iso(B + 7 * DAY),
      steps: "page_view:/pricing,button_click,feature_used",
      window: "1h",
    });
    expect(r.window_ms).toBe(HOUR);
    expect(
      r.steps.map(
        ({
          step,
          entered,
          converted,
          conversion_from_previous,
          conversion_from_first,
          drop_off,
          drop_off_rate,
          median_time_to_convert_ms,
        }) => ({
          step,
          entered,
          converted,
          conversion_from_previous,
          conversion_from_first,
          drop_off,
          drop_off_rate,
          median_time_to_convert_ms,
        }),
      ),
    ).toEqual([
      {
        step: 1,
        entered: 5,
        converted: 3,
        conversion_from_previous: 100,
        conversion_from_first: 100,
        drop_off: 0,
        drop_off_rate: 0,
        median_time_to_convert_ms: null,
      },
      // A 10 min, D 30 min, E 4 min → median 10 min.
      {
        step: 2,
        entered: 3,
        converted: 2,
        conversion_from_previous: 60,
        conversion_from_first: 60,
        drop_off: 2,
        drop_off_rate: 40,
        median_time_to_convert_ms: 10 * MIN,
      },
      // A 10 min, D 20 min → median 15 min.
      {
        step: 3,
        entered: 2,
        converted: null,
        conversion_from_previous: 66.7,
        conversion_from_first: 40,
        drop_off: 1,
        drop_off_rate: 33.3,
        median_time_to_convert_ms: 15 * MIN,
      },
    ]);
  });

  it("validates steps and window", async () => {
    const q = (p: Record<string, string>) =>
      api(`/api/v1/analytics/conversion-funnel?${new URLSearchParams(p)}`, { headers: admin.headers });
    await expectEnvelope(await q({ steps: "page_view" }), 400, "VALIDATION_FAILED");
    await expectEnvelope(await q({ steps: "page_view,teleport" }), 400, "VALIDATION_FAILED");
    await expectEnvelope(
      await q({ steps: "page_view,button_click", window: "7 days" }),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(
      await q({ steps: "page_view,button_click", window: "200d" }),
      400,
      "VALIDATION_FAILED",
    );
    await expectEnvelope(await q({}), 400, "VALIDATION_FAILED");
  });
});
