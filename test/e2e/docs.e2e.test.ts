import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guardedPage, haveChromium, launchChromium, SHOTS } from "./browser";
import { type LocalPlatform, startPlatform } from "./platform";

/** The operation's block in Swagger UI, found by method and path as the page shows them. */
const operation = (page: Page, method: string, apiPath: string) =>
  page.locator(`.opblock-${method}`).filter({ has: page.locator(`[data-path="${apiPath}"]`) });

describe.skipIf(!haveChromium)("API reference at /api/v1/docs in Chromium", () => {
  let platform: LocalPlatform;
  let browser: Browser;

  beforeAll(async () => {
    platform = await startPlatform();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
  });

  it("serves Swagger UI from this origin under its own CSP", async () => {
    const res = await fetch(`${platform.url}/api/v1/docs`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toContain("unsafe-");
    const html = await res.text();
    // Every script and stylesheet is same-origin (no CDN): the page works offline.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(refs.filter((r) => /^(https?:)?\/\//.test(r))).toEqual([]);
    for (const ref of refs.filter((r) => r.startsWith("/vendor/") || r.startsWith("/api-docs/"))) {
      const asset = await fetch(`${platform.url}${ref}`);
      expect(asset.status, ref).toBe(200);
      await asset.body?.cancel();
    }
  });

  it("sends a request from the page: 401 without a token, 200 once authorized", async () => {
    const { page, close } = await guardedPage(browser, { viewport: { width: 1280, height: 900 } });
    await page.goto(`${platform.url}/api/v1/docs`);
    const history = operation(page, "get", "/api/v1/payments/history");
    await history.locator(".opblock-summary").first().click();
    await history.locator("button.try-out__btn").click();
    const execute = history.locator("button.execute");
    const status = history.locator(".live-responses-table .response .response-col_status");
    const shown = (code: string) =>
      expect.poll(() => status.first().textContent(), { timeout: 20_000, interval: 200 }).toContain(code);

    await execute.click();
    await shown("401");
    expect(await history.locator(".live-responses-table .microlight").first().textContent()).toContain(
      "UNAUTHENTICATED",
    );

    // The bearer field of the Authorize dialog takes the token `npm start` prints.
    await page.locator(".auth-wrapper button.authorize").click();
    const dialog = page.locator(".dialog-ux .modal-ux");
    await dialog
      .locator("input")
      .first()
      .fill(await platform.token("admin"));
    await dialog.locator("button.authorize").click();
    await dialog.locator("button.btn-done").click();

    await history.locator("button.btn-clear").click();
    await execute.click();
    await shown("200");
    const body = JSON.parse(
      (await history.locator(".live-responses-table .microlight").first().textContent()) ?? "",
    );
    expect(body).toEqual({ items: [], next_cursor: null });
    // The curl line shown is what was sent: the token went in the Authorization header.
    expect(await history.locator(".curl-command").textContent()).toContain("Authorization: Bearer ey");

    await page.screenshot({ path: path.join(SHOTS, "docs-try-it.png"), fullPage: false });
    // The first try was a 401 on purpose; nothing else may fail.
    await close([{ status: 401, path: /^\/api\/v1\/payments\/history$/ }]);
  });
});
