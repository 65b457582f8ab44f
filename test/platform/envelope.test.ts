import { env } from "cloudflare:workers";
import { createRoute, z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { createApp, MAX_BODY_BYTES } from "../../src/app";
import { requireAuth, requireRole } from "../../src/platform/auth";
import { ApiError } from "../../src/platform/errors";
import { authHeaders } from "../helpers/auth";
import { expectEnvelope } from "../helpers/http";

// The real app plus probe routes, driven through app.request() the way Hono's own
// middleware tests do. Everything the probes hit (validation hook, onError, auth) is
// the production code path.
const app = createApp();
app.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/_probe/validate",
    request: {
      body: {
        required: true,
        content: {
          "application/json": {
            schema: z
              .object({ amount: z.number().int().positive(), nested: z.object({ name: z.string().min(2) }) })
              .strict(),
          },
        },
      },
    },
    responses: { 200: { description: "ok" } },
  }),
  (c) => c.json({ ok: true }, 200),
);
app.get("/api/v1/_probe/boom", () => {
  throw new Error("database password is hunter2 at /src/secret.ts:42");
});
app.get("/api/v1/_probe/conflict", () => {
  throw new ApiError("CONFLICT", "Already exists", { details: { id: "x" } });
});
app.get("/api/v1/_probe/admin", requireAuth, requireRole("admin"), (c) => c.json({ ok: true }));
app.get("/api/v1/_probe/any", requireAuth, (c) => c.json({ ok: true }));

const req = (path: string, init?: RequestInit) => app.request(`http://x${path}`, init, env);
const postJson = (path: string, body: string, headers: Record<string, string> = {}) =>
  req(path, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

describe("error envelope", () => {
  it("turns zod failures into 400 with the failing paths", async () => {
    const res = await postJson(
      "/api/v1/_probe/validate",
      JSON.stringify({ amount: -1, nested: { name: "" } }),
    );
    const body = await expectEnvelope(res, 400, "VALIDATION_FAILED");
    const details = body.error.details;
    const paths = (Array.isArray(details) ? details : []).map((d) => d.path).sort();
    expect(paths).toEqual(["amount", "nested.name"]);
  });

  it("rejects unknown fields in strict schemas", async () => {
    const res = await postJson(
      "/api/v1/_probe/validate",
      JSON.stringify({ amount: 1, nested: { name: "ok" }, card_number: "4242424242424242" }),
    );
    const body = await expectEnvelope(res, 400, "VALIDATION_FAILED");
    expect(JSON.stringify(body.error.details)).toContain("card_number");
  });

  it("answers malformed JSON with a 400 envelope", async () => {
    await expectEnvelope(await postJson("/api/v1/_probe/validate", "{not json"), 400);
  });

  it("answers a wrong content type with 415 and code UNSUPPORTED_MEDIA_TYPE", async () => {
    const res = await req("/api/v1/_probe/validate", {
      method: "POST",
      body: "amount=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    // The JSON validator throws Hono's HTTPException(415); onError maps it to its own code.
    expect(res.status).toBe(415);
    const body = await expectEnvelope(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    expect(body.error.message).toBe("Unsupported Media Type");
  });

  it("answers bodies over the limit with 413", async () => {
    const big = JSON.stringify({ amount: 1, nested: { name: "x".repeat(MAX_BODY_BYTES) } });
    await expectEnvelope(await postJson("/api/v1/_probe/validate", big), 413, "PAYLOAD_TOO_LARGE");
  });

  it("hides internals of unknown errors behind a 500", async () => {
    const res = await req("/api/v1/_probe/boom");
    const body = await expectEnvelope(res, 500, "INTERNAL");
    const text = JSON.stringify(body);
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("secret.ts");
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
  });

  it("passes typed errors through with their status and details", async () => {
    const body = await expectEnvelope(await req("/api/v1/_probe/conflict"), 409, "CONFLICT");
    expect(body.error.details).toEqual({ id: "x" });
  });

  it("answers unknown routes and wrong methods with a JSON 404", async () => {
    await expectEnvelope(await req("/api/v1/nope"), 404, "NOT_FOUND");
    await expectEnvelope(await req("/api/v1/health", { method: "DELETE" }), 404, "NOT_FOUND");
  });

  it("sets secure headers", async () => {
    const res = await req("/api/v1/health");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("strict-transport-security")).toContain("max-age");
  });

  it("allows only configured CORS origins", async () => {
    const ok = await req("/api/v1/health", { headers: { origin: "http://localhost:8787" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("http://localhost:8787");
    const evil = await req("/api/v1/health", { headers: { origin: "https://evil.example" } });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("requireAuth / requireRole", () => {
  it("answers 401 to anonymous callers", async () => {
    const res = await req("/api/v1/_probe/any");
    await expectEnvelope(res, 401, "UNAUTHENTICATED");
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    await expectEnvelope(await req("/api/v1/_probe/admin"), 401, "UNAUTHENTICATED");
  });

  it("answers 403 to an authenticated caller with the wrong role", async () => {
    for (const role of ["user", "merchant", "service"] as const) {
      await expectEnvelope(
        await req("/api/v1/_probe/admin", { headers: await authHeaders({ role }) }),
        403,
        "FORBIDDEN",
      );
    }
  });

  it("lets the right role through", async () => {
    const res = await req("/api/v1/_probe/admin", { headers: await authHeaders({ role: "admin" }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});
