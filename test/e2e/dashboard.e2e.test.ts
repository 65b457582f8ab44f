import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guardedPage, haveChromium, launchChromium, SHOTS } from "./browser";
import { type LocalPlatform, startPlatform } from "./platform";

const HOUR = 3_600_000;
// Everything happens in one UTC hour yesterday, so the activity heatmap has one known cell.
const t0 = Math.floor((Date.now() - 24 * HOUR) / HOUR) * HOUR + 10 * 60_000;
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
// Visitors come from a browser; Node's fetch says "node", which isbot files as a bot.
const BROWSER_UA =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

// Revenue rows are written as SQL (no Stripe here): 19.99 + 30.01 USD captured yesterday, by
// e2e-u half an hour after their tagged visit, and MRR = 10.00 (monthly) + 120.00 / 12 (yearly) = 20.00 USD.
const paidAt = t0 + 30 * 60_000;
const seedSql = `
INSERT INTO payments (id, user_id, amount, currency, amount_refunded, status, source, paid_at, created_at, updated_at)
VALUES ('e2e-p1', 'e2e-u', 1999, 'usd', 0, 'succeeded', 'web', ${paidAt}, ${paidAt}, ${paidAt}),
       ('e2e-p2', 'e2e-u', 3001, 'usd', 0, 'succeeded', 'ios', ${paidAt}, ${paidAt}, ${paidAt});
INSERT INTO subscriptions (id, user_id, plan_id, status, amount, currency, interval, quantity, cancel_at_period_end, created_at, updated_at)
VALUES ('e2e-s1', 'e2e-u', 'basic', 'active', 1000, 'usd', 'month', 1, 0, ${t0}, ${t0}),
       ('e2e-s2', 'e2e-v', 'pro', 'active', 12000, 'usd', 'year', 1, 0, ${t0}, ${t0});
INSERT INTO mrr_movements (id, subscription_id, user_id, kind, mrr_before, mrr_after, currency, occurred_at, source_id)
VALUES ('e2e-m1', 'e2e-s1', 'e2e-u', 'new', 0, 1000, 'usd', ${t0}, 'seed-1'),
       ('e2e-m2', 'e2e-s2', 'e2e-v', 'new', 0, 1000, 'usd', ${t0}, 'seed-2');
`;

describe.skipIf(!haveChromium)("analytics dashboard in Chromium", () => {
  let platform: LocalPlatform;
  let browser: Browser;
  let adminToken: string;

  beforeAll(async () => {
    platform = await startPlatform({ seedSql });
    adminToken = await platform.token("admin");
    // Four users and one anonymous visitor, through the public ingest API, and one crawler
    // (curl) whose 3 page views every figure but the bot share leaves out. The payer, e2e-u,
    // lands from a newsletter (page URL) and clicks through a Google ad (properties).
    type Visit = {
      role: "user" | null;
      sub?: string;
      ua?: string;
      events: Array<[string, string, string?, Record<string, string>?]>;
    };
    const visits: Visit[] = [
      {
        role: "user",
        sub: "e2e-u",
        events: [
          ["session_started", "/pricing?utm_source=Newsletter&utm_medium=email"],
          ["page_view", "/pricing"],
          ["button_click", "/pricing", "buy", { utm_source: "google", utm_medium: "cpc" }],
        ],
      },
      {
        role: "user",
        events: [
          ["page_view", "/pricing"],
          ["button_click", "/pricing", "buy"],
        ],
      },
      { role: "user", events: [["page_view", "/pricing"]] },
      { role: "user", events: [["page_view", "/home"]] },
      { role: null, events: [["page_view", "/pricing"]] },
      {
        role: null,
        ua: "curl/8.5.0",
        events: [
          ["page_view", "/pricing"],
          ["page_view", "/pricing"],
          ["page_view", "/home"],
        ],
      },
    ];
    for (const visit of visits) {
      const session = crypto.randomUUID();
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": visit.ua ?? BROWSER_UA,
      };
      if (visit.role) headers.authorization = `Bearer ${await platform.token(visit.role, visit.sub)}`;
      const events = visit.events.map(([event_type, page, element, properties], i) => ({
        event_type,
        page,
        ...(element ? { element } : {}),
        ...(properties ? { properties } : {}),
        session_id: session,
        timestamp: t0 + i * 60_000,
      }));
      const res = await fetch(`${platform.url}/api/v1/analytics/events`, {
        method: "POST",
        headers,
        body: JSON.stringify({ events }),
      });
      expect(res.status).toBe(202);
      expect(((await res.json()) as { accepted: number }).accepted).toBe(events.length);
    }
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  // Anything the page's Content-Security-Policy blocks shows up as a console error, which
  // guardedPage() fails the test on.
  async function openDashboard(page: Page) {
    await page.goto(`${platform.url}/dashboard`);
    await page.fill("#token", adminToken);
    await page.fill("#steps", "page_view:/pricing,button_click:/pricing");
    await page.selectOption("#cohort", "month");
    await page.click("#load");
    await page.waitForSelector("body[data-loaded=true]", { timeout: 30_000 });
  }

  it("serves /dashboard and the landing page as static assets", async () => {
    const bare = await fetch(`${platform.url}/dashboard`);
    expect(bare.status).toBe(200);
    expect(await bare.text()).toContain("Analytics dashboard");
    const landing = await fetch(`${platform.url}/`);
    expect(await landing.text()).toContain('href="/dashboard/"');
    // Through the real asset routing of wrangler (run_worker_first), the Worker's headers apply.
    for (const res of [bare, landing]) {
      expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(res.headers.get("strict-transport-security")).toMatch(/^max-age=/);
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("loads the landing page with nothing broken", async () => {
    const { page, close } = await guardedPage(browser);
    await page.goto(`${platform.url}/`);
    await page.waitForLoadState("networkidle");
    expect(await page.textContent("h1")).toBe("Edge platform");
    await close();
  });

  it("renders the seeded numbers on a desktop screen", async () => {
    const { page, close } = await guardedPage(browser, { viewport: { width: 1280, height: 900 } });
    await openDashboard(page);
    const text = (id: string) => page.textContent(`[data-testid="${id}"]`);
    expect(await text("kpi-sessions")).toBe("5");
    expect(await text("kpi-bounce")).toBe("60%"); // 3 of 5 sessions had one page view and no click
    expect(await text("kpi-mrr")).toBe("20.00 USD");
    expect(await text("kpi-arr")).toBe("240.00 USD");
    expect(await text("kpi-net")).toBe("50.00 USD");
    // Bots: the curl session's 3 of the 11 client events (1 of 6 sessions), filtered out above.
    expect(await text("kpi-bots")).toBe("27.3%");
    expect(await page.getAttribute('[data-testid="kpi-bots"]', "title")).toBe(
      "3 of 11 events, 1 of 6 sessions",
    );

    // Funnel: 4 actors viewed /pricing (3 users + 1 anonymous session), 2 clicked.
    expect(await page.getAttribute('[data-testid="funnel-step-1"]', "data-entered")).toBe("4");
    expect(await page.textContent('[data-testid="funnel-step-2"] .funnel-value')).toBe("2 · 50%");
    expect(await page.textContent('[data-testid="funnel-step-2"] .funnel-drop')).toContain("−2 (50%)");

    // Revenue and MRR points carry their values.
    expect(await page.getAttribute('[data-testid="net-point"]', "data-value")).toBe("5000");
    expect(await page.getAttribute('[data-testid="mrr-point"]', "data-value")).toBe("2000");

    // Retention: one monthly cohort of the 4 signed-in users, all active in month 0.
    const cohortRow = page.locator('[data-testid="retention-table"] tr[data-cohort]');
    expect(await cohortRow.count()).toBe(1);
    expect(await cohortRow.locator("th").nth(1).textContent()).toBe("4");
    expect(await cohortRow.locator("td").first().textContent()).toBe("100%");

    // Activity: all 8 events in one UTC hour.
    const d = new Date(t0);
    const cell = page.locator(
      `[data-testid="activity-table"] td[data-weekday="${d.getUTCDay()}"][data-hour="${d.getUTCHours()}"]`,
    );
    expect(await cell.textContent()).toBe("8");
    expect(await cell.getAttribute("title")).toBe(`${DAYS[d.getUTCDay()]} ${d.getUTCHours()}:00 – 8 events`);

    // Revenue by source: the last touch (default) is the ad click, the first the newsletter.
    const source = (name: string) => `[data-testid="by-source-table"] tr[data-source="${name}"]`;
    expect(await page.getAttribute(source("google"), "data-amount")).toBe("5000");
    expect(await page.textContent(`${source("google")} td`)).toBe("50.00 USD");
    await page.check('input[name="model"][value="first_touch"]');
    await page.waitForSelector('[data-testid="by-source-table"][data-model="first_touch"]');
    expect(await page.getAttribute(source("newsletter"), "data-amount")).toBe("5000");
    expect(await page.locator(source("google")).count()).toBe(0);

    await page.screenshot({ path: path.join(SHOTS, "dashboard-desktop.png"), fullPage: true });
    await close();
  });

  it("fits a 375 px phone screen", async () => {
    const { page, close } = await guardedPage(browser, {
      viewport: { width: 375, height: 812 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    await openDashboard(page);
    expect(await page.textContent('[data-testid="kpi-sessions"]')).toBe("5");
    // The page itself does not scroll sideways; wide heatmaps scroll inside their box.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: path.join(SHOTS, "dashboard-phone.png"), fullPage: true });
    await close();
  });

  it("shows the API's error when the token is not an admin's", async () => {
    const { page, close } = await guardedPage(browser);
    await page.goto(`${platform.url}/dashboard/`);
    await page.fill("#token", await platform.token("user"));
    await page.click("#load");
    await page.waitForSelector("#status.error");
    expect(await page.textContent("#status")).toContain("403");
    // The report requests answer 403 by design; nothing else may fail.
    await close([{ status: 403, path: /^\/api\/v1\/analytics\// }]);
  });
});
