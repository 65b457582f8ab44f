import { describe, expect, it } from "vitest";
import { bodyOf, errorOf } from "../helpers/body";

// The helpers every test reads bodies through: they must fail on a wrong status, a body that
// does not match its route's documented schema, and an envelope with a code outside the enum.
const jsonResponse = (body: unknown, status: number) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const health = { status: "ok", checks: { d1: { ok: true, latency_ms: 1 } }, time: "2026-01-01T00:00:00Z" };

describe("bodyOf / errorOf", () => {
  it("returns a body that matches the documented schema, as sent", async () => {
    const extra = { ...health, extra: "kept" };
    await expect(bodyOf(jsonResponse(extra, 200), "GET /health", 200)).resolves.toEqual(extra);
    await expect(
      bodyOf(jsonResponse({ ...health, status: "degraded" }, 503), "GET /health", [200, 503]),
    ).resolves.toMatchObject({ status: "degraded" });
  });

  it("rejects a wrong status, a body that drifts from its schema, and a non-JSON body", async () => {
    await expect(bodyOf(jsonResponse(health, 503), "GET /health", 200)).rejects.toThrow("expected 200");
    await expect(bodyOf(jsonResponse({ ...health, checks: {} }, 200), "GET /health", 200)).rejects.toThrow(
      "does not match its schema",
    );
    await expect(bodyOf(new Response("ok", { status: 200 }), "GET /health", 200)).rejects.toThrow("not JSON");
    // @ts-expect-error: only documented operations (and their statuses) type-check.
    await expect(bodyOf(jsonResponse(health, 200), "GET /nope", 200)).rejects.toThrow("no JSON response");
  });

  it("accepts the envelope and rejects one with an unknown code or no request_id", async () => {
    const envelope = { error: { code: "NOT_FOUND", message: "x", request_id: "r" } };
    await expect(errorOf(jsonResponse(envelope, 404), 404)).resolves.toEqual(envelope);
    const stale = { error: { code: "METHOD_NOT_ALLOWED", message: "x", request_id: "r" } };
    await expect(errorOf(jsonResponse(stale, 405), 405)).rejects.toThrow("does not match its schema");
    const anonymous = { error: { code: "NOT_FOUND", message: "x" } };
    await expect(errorOf(jsonResponse(anonymous, 404), 404)).rejects.toThrow("does not match its schema");
  });
});
