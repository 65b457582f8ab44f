import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ANALYTICS_BOOKMARK_HEADER, BOOKMARK_HEADER } from "../../src/platform/d1-session";
import { newCaller } from "../helpers/auth";
import { api, expectEnvelope } from "../helpers/http";
import { DAY, freshMonday, iso, seedEvents } from "./helpers";

// The shape D1 documents for bookmarks (Time Travel); the local D1 issues the same shape.
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

function analyticsBookmark(res: Response, what: string): string {
  const value = res.headers.get(ANALYTICS_BOOKMARK_HEADER);
  if (!value || !BOOKMARK.test(value))
    throw new Error(`${what}: no bookmark in ${ANALYTICS_BOOKMARK_HEADER}: ${value}`);
  return value;
}

type Behavior = { sessions: { count: number } };

async function behavior(token: string, from: number, headers: Record<string, string> = {}) {
  return api(`/api/v1/analytics/user-behavior?from=${iso(from)}&to=${iso(from + 7 * DAY)}`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
}

afterEach(() => vi.restoreAllMocks());

describe("reports read ANALYTICS_DB through a D1 session with its own bookmark header", () => {
  it("a report answers an ANALYTICS_DB bookmark, and one sent back round-trips", async () => {
    const admin = await newCaller("admin");
    const from = freshMonday();
    const first = await behavior(admin.token, from);
    expect(first.status).toBe(200);
    const b1 = analyticsBookmark(first, "first report");
    const again = await behavior(admin.token, from, { [ANALYTICS_BOOKMARK_HEADER]: b1 });
    expect(again.status).toBe(200);
    expect(analyticsBookmark(again, "report with bookmark").localeCompare(b1)).toBeGreaterThanOrEqual(0);
    // Browsers may send and read it.
    expect(again.headers.get("access-control-expose-headers")?.toLowerCase()).toContain(
      ANALYTICS_BOOKMARK_HEADER,
    );
  });

  it("an erasure then a report read with the erasure's bookmark sees the erasure", async () => {
    const admin = await newCaller("admin");
    const from = freshMonday();
    const user = crypto.randomUUID();
    await seedEvents([
      { type: "page_view", at: from + 1000, user, page: "/a" },
      { type: "button_click", at: from + 2000, user, page: "/a", element: "buy" },
    ]);
    const before = (await (await behavior(admin.token, from)).json()) as Behavior;
    expect(before.sessions.count).toBe(1);
    const erased = await api(`/api/v1/analytics/users/${user}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(erased.status).toBe(200);
    const afterErasure = analyticsBookmark(erased, "erasure");
    const after = await behavior(admin.token, from, { [ANALYTICS_BOOKMARK_HEADER]: afterErasure });
    expect(((await after.json()) as Behavior).sessions.count).toBe(0);
  });

  it("each database's session starts from its own header only: a DB bookmark is never handed to ANALYTICS_DB", async () => {
    const admin = await newCaller("admin");
    const from = freshMonday();
    const dbBookmark = (await behavior(admin.token, from)).headers.get(BOOKMARK_HEADER);
    const analytics = analyticsBookmark(await behavior(admin.token, from), "seed");
    const dbStarts = vi.spyOn(env.DB, "withSession");
    const analyticsStarts = vi.spyOn(env.ANALYTICS_DB, "withSession");

    // DB's bookmark alone: ANALYTICS_DB starts anywhere, not at DB's bookmark.
    const dbOnly = dbBookmark ?? "00000001-00000002-00004e2f-0123456789abcdef0123456789abcdef";
    await behavior(admin.token, from, { [BOOKMARK_HEADER]: dbOnly });
    // ANALYTICS_DB's alone, then both; then a write (the erasure) starts at the primary.
    await behavior(admin.token, from, { [ANALYTICS_BOOKMARK_HEADER]: analytics });
    await behavior(admin.token, from, { [BOOKMARK_HEADER]: dbOnly, [ANALYTICS_BOOKMARK_HEADER]: analytics });
    await api(`/api/v1/analytics/users/${crypto.randomUUID()}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${admin.token}`, [ANALYTICS_BOOKMARK_HEADER]: analytics },
    });
    expect(analyticsStarts.mock.calls.map(([s]) => s)).toEqual([
      "first-unconstrained",
      analytics,
      analytics,
      "first-primary",
    ]);
    expect(dbStarts.mock.calls.map(([s]) => s)).toEqual([
      dbOnly,
      "first-unconstrained",
      dbOnly,
      "first-primary",
    ]);
  });

  it("a malformed analytics bookmark is a 400 naming its header, and nothing is read", async () => {
    const admin = await newCaller("admin");
    const res = await behavior(admin.token, freshMonday(), { [ANALYTICS_BOOKMARK_HEADER]: "not-a-bookmark" });
    const body = await expectEnvelope(res, 400, "VALIDATION_FAILED");
    expect(body.error.details).toEqual([
      expect.objectContaining({ path: `header.${ANALYTICS_BOOKMARK_HEADER}` }),
    ]);
  });
});
