import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { API_PREFIX, createApp } from "../../src/app";
import { type OpenApiDoc, openApiDoc } from "../helpers/openapi";

// Routes that are deliberately not REST operations in the document.
const UNDOCUMENTED = new Set([`${API_PREFIX}/openapi.json`, `${API_PREFIX}/docs`]);
const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);

/** Hono's `:param` (optionally with a regex) to OpenAPI's `{param}`. */
const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");

describe("OpenAPI document", () => {
  it("is served as OpenAPI 3.1", async () => {
    const res = await exports.default.fetch("http://x/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = await res.json<OpenApiDoc>();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths[`${API_PREFIX}/health`]?.get).toBeDefined();
  });

  it("documents every mounted REST route", async () => {
    const doc = await openApiDoc();
    const mounted = createApp()
      .routes.filter(
        (r) => METHODS.has(r.method) && r.path.startsWith(API_PREFIX) && !UNDOCUMENTED.has(r.path),
      )
      .map((r) => `${r.method} ${toOpenApiPath(r.path)}`);
    const missing = [...new Set(mounted)].filter((key) => {
      const [method = "", path = ""] = key.split(" ");
      return doc.paths[path]?.[method.toLowerCase()] === undefined;
    });
    expect(missing).toEqual([]);
    expect(mounted.length).toBeGreaterThan(0);
  });

  it("documents 400 and 415 on every operation with a body, and a wrong media type really answers 415", async () => {
    type Op = { requestBody?: unknown; responses: Record<string, { description: string }> };
    const doc = (await (await exports.default.fetch("http://x/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, Op>>;
    };
    const withBody = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => op.requestBody)
        .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
    );
    expect(withBody.length).toBeGreaterThanOrEqual(12);
    for (const { key, op } of withBody) {
      expect(op.responses["415"]?.description, key).toContain("UNSUPPORTED_MEDIA_TYPE");
      expect(op.responses["400"]?.description, key).toContain("BAD_REQUEST");
    }
    // The analytics ingest needs no token, so the media-type gate is what answers.
    const res = await exports.default.fetch("http://x/api/v1/analytics/events", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "page_view",
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("serves a docs page that reads the document", async () => {
    const res = await exports.default.fetch("http://x/api/v1/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("/api/v1/openapi.json");
  });
});
