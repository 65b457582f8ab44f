import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { type Browser, type BrowserContextOptions, chromium, type Page } from "playwright-core";
import { expect } from "vitest";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(
    `[e2e] SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
  );
}
/** Screenshots land here (gitignored), for a person to look at. */
export const SHOTS = path.resolve(import.meta.dirname, "../../.build/e2e");

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}

/** An error answer the test provokes on purpose (e.g. a 403 for a non-admin token). */
export type ExpectedFailure = { status: number; path: RegExp };

export type GuardedPage = {
  page: Page;
  /** Asserts nothing went wrong on the page beyond `expected`, then closes its context. */
  close(expected?: ExpectedFailure[]): Promise<void>;
};

/**
 * A page in a fresh context that records everything a person would see as broken: console
 * errors (CSP violations and "Failed to load resource" included), uncaught exceptions, failed
 * requests and 4xx/5xx answers of any request the page makes (a missing favicon too). Every
 * browser test opens its pages through here, so none can pass with a broken page.
 */
export async function guardedPage(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<GuardedPage> {
  const context = await browser.newContext({ timezoneId: "UTC", ...options });
  const page = await context.newPage();
  const problems: Array<{ what: string; url?: string; status?: number }> = [];
  page.on("console", (m) => {
    if (m.type() === "error")
      problems.push({ what: `console: ${m.text()} (${m.location().url})`, url: m.location().url });
  });
  page.on("pageerror", (e) => problems.push({ what: `uncaught: ${e.message}` }));
  page.on("requestfailed", (r) =>
    problems.push({ what: `request failed: ${r.url()} ${r.failure()?.errorText}`, url: r.url() }),
  );
  page.on("response", (r) => {
    if (r.status() >= 400)
      problems.push({ what: `${r.status()} ${r.url()}`, url: r.url(), status: r.status() });
  });
  return {
    page,
    close: async (expected = []) => {
      // Late requests (the favicon is fetched after load) must have had their say.
      await page.waitForLoadState("networkidle");
      // Chromium asks for a favicon once per browser, not per page, so which test would see a
      // missing one depends on order: ask for this page's icon explicitly.
      if (page.url().startsWith("http")) {
        const icon = await page.evaluate(
          () =>
            document.querySelector<HTMLLinkElement>("link[rel~=icon]")?.href ??
            new URL("/favicon.ico", location.href).href,
        );
        const res = await page.request.get(icon);
        if (res.status() >= 400) problems.push({ what: `${res.status()} ${icon} (the page's icon)` });
      }
      const statusOf = new Map(problems.filter((p) => p.status).map((p) => [p.url, p.status]));
      const isExpected = (url: string | undefined, status: number | undefined) =>
        !!url &&
        status !== undefined &&
        expected.some((e) => e.status === status && e.path.test(new URL(url).pathname));
      // Chromium also logs an expected error answer as "Failed to load resource" at its URL.
      const unexpected = problems.filter((p) => !isExpected(p.url, p.status ?? statusOf.get(p.url)));
      await context.close();
      expect(unexpected.map((p) => p.what)).toEqual([]);
    },
  };
}
