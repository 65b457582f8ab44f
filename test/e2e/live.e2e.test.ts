import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../helpers/eventually";
import { guardedPage, haveChromium, launchChromium } from "./browser";
import { type LocalPlatform, startPlatform } from "./platform";

/** The feed as the page shows it, oldest first: one row per event. */
const shown = (page: Page) =>
  page.$$eval("#events li", (lis) =>
    lis
      .map((li) => {
        const el = li as HTMLElement;
        return {
          seq: Number(el.dataset.seq),
          type: el.dataset.type ?? "",
          title: el.querySelector(".title")?.textContent ?? "",
          detail: el.querySelector(".detail")?.textContent ?? "",
        };
      })
      .reverse(),
  );

/**
 * Issue 18 item 2: the /live/ page on a merchant's channel, with the emulators beside the
 * platform so a payment made through the API settles through Stripe's webhook and publishes
 * payment.succeeded to the merchant's LiveChannel.
 */
describe.skipIf(!haveChromium)("live feed page in Chromium", () => {
  let platform: LocalPlatform;
  let browser: Browser;

  beforeAll(async () => {
    platform = await startPlatform({ emulators: true });
    browser = await launchChromium();
  }, 300_000); // two workers and their [build] step, on a loaded machine
  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  const post = async (path: string, token: string, body: unknown) =>
    fetch(`${platform.url}/api/v1${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  /** A user pays the merchant: create-intent naming it, then confirm with Stripe's test card. */
  async function pay(userToken: string, merchantId: string, amount: number): Promise<string> {
    const created = await post("/payments/create-intent", userToken, {
      amount,
      currency: "usd",
      merchant_id: merchantId,
    });
    expect(created.status).toBe(201);
    const { payment_id } = (await created.json()) as { payment_id: string };
    const confirmed = await post("/payments/confirm", userToken, {
      payment_id,
      payment_method: "pm_card_visa",
    });
    expect(confirmed.status).toBe(200);
    return payment_id;
  }

  it("serves /live/ with the pages' CSP and its socket origin", async () => {
    const res = await fetch(`${platform.url}/live/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('src="/live/live.js"');
    expect(res.headers.get("content-security-policy")).toContain(
      `connect-src 'self' ws://${new URL(platform.url).host}`,
    );
  });

  it("shows a merchant's payments as they arrive, and after a network drop each one exactly once", async () => {
    const merchantId = `m-live-${crypto.randomUUID().slice(0, 8)}`;
    const merchantToken = await platform.token("merchant", undefined, { merchant_id: merchantId });
    const userToken = await platform.token("user");

    const guard = await guardedPage(browser);
    const { page } = guard;
    await page.goto(`${platform.url}/live/`);
    await page.fill("#token", merchantToken);
    await page.click("#connect");
    await page.waitForSelector('#conn[data-status="open"]');
    expect(await page.textContent("#channel")).toBe(`merchant:${merchantId}`);

    // The merchant's socket put it in the users directory, so a user may now pay it.
    const first = await pay(userToken, merchantId, 1999);
    await page.waitForFunction((id) => document.querySelector("#events")?.textContent?.includes(id), first, {
      timeout: 30_000,
    });
    expect(await shown(page)).toEqual([
      expect.objectContaining({ type: "payment.succeeded", title: "Payment received" }),
    ]);

    // The network drops; a second payment happens meanwhile; the reconnect resumes with ?since=.
    const sockets: string[] = [];
    page.on("websocket", (ws) => sockets.push(ws.url()));
    await page.context().setOffline(true);
    await page.waitForSelector('#conn[data-status="suspended"]');
    const second = await pay(userToken, merchantId, 2500);
    // Settled (the webhook came back) while the page is offline, so it reaches the channel by
    // replay after the reconnect, or live just after it; either way it must show once.
    await eventually(
      async () => {
        const res = await fetch(`${platform.url}/api/v1/payments/${second}`, {
          headers: { authorization: `Bearer ${userToken}` },
        });
        return ((await res.json()) as { status: string }).status === "succeeded" || undefined;
      },
      "second payment succeeded",
      { tries: 100, intervalMs: 200 },
    );
    await page.context().setOffline(false);
    await page.waitForSelector('#conn[data-status="open"]');
    await page.waitForFunction((id) => document.querySelector("#events")?.textContent?.includes(id), second, {
      timeout: 30_000,
    });
    expect(sockets.some((u) => /[?&]since=\d+/.test(u))).toBe(true);

    // Give a duplicate (replay plus a late live copy) a moment to show up if it were going to.
    await page.waitForTimeout(500);
    const list = await shown(page);
    expect(list.map((e) => e.type)).toEqual(["payment.succeeded", "payment.succeeded"]);
    expect(list[0]?.detail).toContain(first);
    expect(list[1]?.detail).toContain(second);
    expect(list[0]?.detail).toContain("19.99");
    expect(list[1]?.detail).toContain("25.00");
    const [a = 0, b = 0] = list.map((e) => e.seq);
    expect(b).toBeGreaterThan(a);
    await expect(page.textContent("#notice")).resolves.toBe("");

    await guard.close();
  });
});
