import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GuardedPage, guardedPage, haveChromium, launchChromium } from "./browser";
import { type LocalPlatform, startPlatform } from "./platform";

/** The conversation as the page shows it: [seq, body, tick] per stored message, plus pending ones. */
const shown = (page: Page) =>
  page.$$eval("#messages li", (lis) =>
    lis.map((li) => {
      const el = li as HTMLElement;
      return {
        seq: el.dataset.seq ? Number(el.dataset.seq) : null,
        body: el.querySelector(".body")?.textContent ?? "",
        mine: el.dataset.mine === "true",
        tick: el.dataset.tick ?? null,
      };
    }),
  );

/** A real 1×1 PNG, so the preview decodes. */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  "base64",
);

const bodies = async (page: Page) => (await shown(page)).map((m) => m.body);

async function send(page: Page, text: string) {
  await page.fill("#body", text);
  await page.press("#body", "Enter");
}

describe.skipIf(!haveChromium)("support chat page in Chromium", () => {
  let platform: LocalPlatform;
  let browser: Browser;
  // Every page goes through the shared guard: a console error, failed request or 4xx/5xx fails the test.
  const guards: GuardedPage[] = [];

  beforeAll(async () => {
    platform = await startPlatform();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  async function signedIn(role: "user" | "admin", query = ""): Promise<[BrowserContext, Page]> {
    const guard = await guardedPage(browser);
    guards.push(guard);
    const { page } = guard;
    await page.goto(`${platform.url}/support/${query}`);
    await page.fill("#token", await platform.token(role));
    return [page.context(), page];
  }

  it("serves /support/ through the Worker with a CSP that allows only its own socket", async () => {
    const res = await fetch(`${platform.url}/support/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain(`connect-src 'self' ws://${new URL(platform.url).host}`);
    expect(csp).toContain("script-src 'self'");
    expect((await fetch(`${platform.url}/support/chat-client.js`)).status).toBe(200);
  });

  it("shows an uploaded screenshot as a preview to the other participant", async () => {
    const [, owner] = await signedIn("user");
    await owner.fill("#subject", "Screenshot of the error");
    await owner.click("#open");
    await owner.waitForSelector('#conn[data-status="open"]');
    const ticketId = new URL(owner.url()).hash.slice(1);
    const [, agent] = await signedIn("admin");
    await agent.fill("#ticket-id", ticketId);
    await agent.click("#join");
    await agent.waitForSelector('#conn[data-status="open"]');

    await owner.fill("#body", "this is what I see");
    await owner.setInputFiles("#file", { name: "error.png", mimeType: "image/png", buffer: PNG });
    // Fetched with the token and shown as an object URL (the page CSP allows blob: images).
    const preview = await agent.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>("#messages img.preview");
      return img?.complete && img.naturalWidth > 0 && img.src.startsWith("blob:") ? img.alt : null;
    });
    expect(await preview.jsonValue()).toBe("error.png");
    expect(await bodies(agent)).toEqual(["this is what I see"]);
    await owner.waitForSelector("#messages li[data-seq] img.preview");

    for (const guard of guards.splice(0)) await guard.close();
  });

  it("lets an owner and an agent chat live, survive a network drop, and page back through history", async () => {
    const [ownerCtx, owner] = await signedIn("user");
    await owner.fill("#subject", "My payout is missing");
    await owner.click("#open");
    await owner.waitForSelector('#conn[data-status="open"]');
    const ticketId = new URL(owner.url()).hash.slice(1);
    expect(ticketId).toMatch(/^[0-9a-f-]{36}$/);

    const [, agent] = await signedIn("admin");
    await agent.fill("#ticket-id", ticketId);
    await agent.click("#join");
    await agent.waitForSelector('#conn[data-status="open"]');
    await owner.waitForFunction(() => document.querySelector("#presence")?.textContent?.includes("Agent"));

    await send(owner, "hello 1");
    await agent.waitForFunction(() => document.querySelector("#messages")?.textContent?.includes("hello 1"));
    // The agent's page is visible, so it marks the message read: the owner's tick goes to read.
    await owner.waitForSelector('#messages li[data-mine="true"][data-tick="read"]');

    await agent.locator("#body").pressSequentially("Look");
    await owner.waitForFunction(() => document.querySelector("#typing")?.textContent === "Agent is typing…");
    await agent.fill("#body", "");
    await send(agent, "agent 1");
    await owner.waitForFunction(() => document.querySelector("#messages")?.textContent?.includes("agent 1"));

    // The owner's network drops. What it writes meanwhile waits with one tick; what the agent
    // writes meanwhile arrives on the reconnect (?since=).
    await ownerCtx.setOffline(true);
    await owner.waitForSelector('#conn[data-status="suspended"]');
    await send(owner, "hello 2 (offline)");
    await owner.waitForSelector('#messages li[data-tick="sent"]');
    await send(agent, "agent 2");
    await send(agent, "agent 3");
    await agent.waitForFunction(
      () =>
        document.querySelectorAll('#messages li[data-tick="acked"], #messages li[data-tick="read"]').length >=
        3,
    );
    await ownerCtx.setOffline(false);
    await owner.waitForSelector('#conn[data-status="open"]');
    await agent.waitForFunction(() => document.querySelector("#messages")?.textContent?.includes("hello 2"));
    await send(owner, "hello 3");

    const expected = ["hello 1", "agent 1", "agent 2", "agent 3", "hello 2 (offline)", "hello 3"];
    for (const page of [owner, agent]) {
      await page.waitForFunction(
        (n) => document.querySelectorAll("#messages li[data-seq]").length === n,
        expected.length,
      );
      // Every message once, in seq order, and each side's own messages all reach "read".
      await page.waitForFunction(() =>
        Array.from(document.querySelectorAll('#messages li[data-mine="true"]')).every(
          (li) => (li as HTMLElement).dataset.tick === "read",
        ),
      );
      const list = await shown(page);
      expect(list.map((m) => m.body)).toEqual(expected);
      expect(list.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    }

    // A fresh agent page with a 2-message history page: it scrolls back through the REST pages.
    const [, history] = await signedIn("admin", `?limit=2#${ticketId}`);
    await history.reload(); // the token is in sessionStorage now, so the hash link joins by itself
    await history.waitForSelector('#conn[data-status="open"]');
    expect(await bodies(history)).toEqual(expected.slice(-2));
    for (let page = 0; page < 2; page++) {
      await history.click("#older");
      await history.waitForFunction(
        (n) => document.querySelectorAll("#messages li").length === n,
        4 + page * 2,
      );
    }
    // The oldest page may or may not know it is the last; one more click finds out.
    if (await history.isVisible("#older")) await history.click("#older");
    await history.waitForSelector("#older", { state: "hidden" });
    expect(await bodies(history)).toEqual(expected);

    for (const guard of guards.splice(0)) await guard.close();
  });
});
