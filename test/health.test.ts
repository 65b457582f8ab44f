import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bodyOf } from "./helpers/body";

describe("GET /api/v1/health", () => {
  it("reports D1 reachable", async () => {
    const res = await exports.default.fetch("http://x/api/v1/health");
    expect(res.status).toBe(200);
    const body = await bodyOf(res, "GET /health", 200);
    expect(body.status).toBe("ok");
    expect(body.checks.d1.ok).toBe(true);
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
});
