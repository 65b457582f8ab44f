import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

describe("GET /api/v1/health", () => {
  it("reports D1 reachable", async () => {
    const res = await exports.default.fetch("http://x/api/v1/health");
    expect(res.status).toBe(200);
    const body = await res.json<{ status: string; checks: { d1: { ok: boolean } } }>();
    expect(body.status).toBe("ok");
    expect(body.checks.d1.ok).toBe(true);
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
});
