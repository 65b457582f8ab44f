import { describe, expect, it } from "vitest";
import { api } from "../helpers/http";

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown> };
};

const doc = async () => (await api("/api/v1/openapi.json")).json<Doc>();

/** Every `$ref` string anywhere below `node`. */
function refsIn(node: unknown): string[] {
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([k, v]) => (k === "$ref" && typeof v === "string" ? [v] : refsIn(v)));
}

describe("analytics in the OpenAPI document", () => {
  it("references only components the document defines (AnalyticsEvent included)", async () => {
    const d = await doc();
    const analytics = Object.entries(d.paths).filter(([path]) => path.includes("/analytics/"));
    const refs = [...refsIn(analytics), ...refsIn(d.components.schemas)];
    expect(refs).toContain("#/components/schemas/AnalyticsEvent");
    // Schemas, and the shared D1 bookmark header and parameter (platform/openapi.ts).
    const components = d.components as unknown as Record<string, Record<string, unknown> | undefined>;
    const missing = refs.filter((r) => {
      const [, , kind, name] = r.split("/");
      return kind === undefined || name === undefined || components[kind]?.[name] === undefined;
    });
    expect(missing).toEqual([]);
  });

  it("documents exactly the statuses each analytics route can answer", async () => {
    const { paths } = await doc();
    const statuses = (path: string, method: string) =>
      Object.keys(paths[`/api/v1${path}`]?.[method]?.responses ?? {});
    expect(statuses("/analytics/events", "post")).toEqual([
      "202",
      "400",
      "401",
      "413",
      "415",
      "429",
      "500",
      "503",
    ]);
    for (const report of ["user-behavior", "conversion-funnel", "revenue", "retention"]) {
      expect(statuses(`/analytics/${report}`, "get")).toEqual(["200", "400", "401", "403", "413", "500"]);
    }
    expect(statuses("/analytics/export", "get")).toEqual(["200", "400", "401", "403", "413", "500"]);
    expect(statuses("/analytics/users/{id}", "delete")).toEqual(["200", "400", "401", "403", "413", "500"]);
  });
});
