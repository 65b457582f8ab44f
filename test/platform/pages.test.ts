import { describe, expect, it } from "vitest";
import { api, expectEnvelope } from "../helpers/http";

// Issue 13 item 13: the static pages (public/, served by the assets binding) carry the same
// security headers as the API, plus a CSP that allows only the pages' own files. Requests
// enter through the Worker (run_worker_first = true), exactly as exports.default.fetch does here.

const PAGES = [
  "/",
  "/dashboard/",
  "/dashboard/dashboard.js",
  "/dashboard/attribution.js",
  "/dashboard/dashboard.css",
  "/index.css",
  "/pages.css",
  // Browsers ask every page for it; without it each page load logged a 404 (issue 18 item 3).
  "/favicon.ico",
  "/api-docs/docs.js",
  "/api-docs/docs.css",
  "/support/",
  "/live/",
  "/live/live.js",
  "/live/live.css",
  "/live/icon.svg",
];

function expectHardened(res: Response, path: string) {
  const h = (name: string) => res.headers.get(name);
  const csp = h("content-security-policy") ?? "";
  expect({ path, csp }).toMatchObject({ csp: expect.stringContaining("frame-ancestors 'none'") });
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  expect(h("strict-transport-security")).toMatch(/^max-age=\d{7,}/);
  expect(h("referrer-policy")).toBe("no-referrer");
  expect(h("x-content-type-options")).toBe("nosniff");
  expect(h("x-frame-options")).toBe("DENY");
}

describe("static pages", () => {
  it.each(PAGES)(
    "%s is served with HSTS, CSP frame-ancestors 'none', no-referrer and nosniff",
    async (path) => {
      const res = await api(path);
      expect(res.status).toBe(200);
      expectHardened(res, path);
      await res.body?.cancel();
    },
  );

  it("the dashboard page is the real file, and the bare /dashboard redirect is hardened too", async () => {
    const page = await api("/dashboard/");
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain("Analytics dashboard");
    const bare = await api("/dashboard", { redirect: "manual" });
    expect([301, 302, 307, 308]).toContain(bare.status);
    expect(bare.headers.get("location")).toMatch(/\/dashboard\/$/);
    expectHardened(bare, "/dashboard");
  });

  it("the pages need nothing the CSP forbids: no inline script, style or handler", async () => {
    for (const path of ["/", "/dashboard/", "/api/v1/docs", "/support/", "/live/"]) {
      const html = await (await api(path)).text();
      expect(html, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
      expect(html, path).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
      for (const m of html.matchAll(/\b(?:src|href)="([^"]+)"/g)) {
        const url = m[1] ?? "";
        // Same-origin only (the CSP's 'self'); links are navigation, which the CSP does not govern.
        if (!m[0].startsWith("href") || /\.(css|js)$/.test(url)) expect(url, path).toMatch(/^\/[^/]/);
      }
    }
    for (const file of [
      "/dashboard/dashboard.js",
      "/dashboard/attribution.js",
      "/support/support.js",
      "/live/live.js",
    ]) {
      const js = await (await api(file)).text();
      // A style attribute set from script is inline style too (blocked); the CSSOM is not.
      expect(js, file).not.toMatch(/\bstyle:\s*`|setAttribute\("style"|innerHTML|eval\(|new Function/);
    }
  });

  it("lets a page open a socket to its own host only", async () => {
    const csp = (await api("/support/")).headers.get("content-security-policy") ?? "";
    expect(csp).toMatch(/(^|; )connect-src 'self' ws:\/\/platform\.test(;|$)/);
  });

  it("the API reference has the pages' policy, relaxed only by data: images for Swagger UI's icons", async () => {
    const docs = await api("/api/v1/docs");
    expect(docs.status).toBe(200);
    expectHardened(docs, "/api/v1/docs");
    expect(docs.headers.get("content-security-policy")).toContain("img-src 'self' data:;");
    expect(await docs.text()).toContain('src="/vendor/swagger-ui-dist/swagger-ui-bundle.js"');
    const page = await api("/");
    expect(page.headers.get("content-security-policy")).toContain("img-src 'self';");
    await page.body?.cancel();
    // Only the support page may show blob: images (attachment previews fetched with the token).
    const support = await api("/support/");
    expect(support.headers.get("content-security-policy")).toContain("img-src 'self' blob:;");
    await support.body?.cancel();
  });

  it("API paths are never looked up as files, and a missing file is the JSON 404", async () => {
    await expectEnvelope(await api("/api/v1/no-such-route"), 404, "NOT_FOUND");
    await expectEnvelope(await api("/ws/nowhere/x"), 404, "NOT_FOUND");
    await expectEnvelope(await api("/no-such-page.html"), 404, "NOT_FOUND");
    await expectEnvelope(await api("/dashboard/", { method: "POST" }), 404, "NOT_FOUND");
  });
});
