import { describe, expect, it } from "vitest";
import { api } from "../helpers/http";

/**
 * The served document as a contract. Its committed copy (packages/client/openapi.json) is what
 * the SDK's types are generated from and what the Node-side checks validate
 * (test/node/contract.test.ts), so this file snapshot is where a drift fails CI:
 * `npm run client:generate` is the one way to accept a change.
 */

type Schema = {
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  default?: unknown;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
};
type Content = Record<string, { schema?: Schema }>;
type Operation = {
  operationId?: string;
  requestBody?: { content: Content };
  responses: Record<string, { description: string; content?: Content }>;
};
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
};

const served = async () => {
  const res = await api("/api/v1/openapi.json");
  expect(res.status).toBe(200);
  return res.json<Doc>();
};

const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
  );

/** Every object property below `schema` (following component refs once each) with its parent. */
function* propertiesOf(
  doc: Doc,
  schema: Schema | undefined,
  seen = new Set<string>(),
): Generator<{
  name: string;
  prop: Schema;
  parent: Schema;
}> {
  if (!schema) return;
  if (schema.$ref) {
    const name = schema.$ref.replace("#/components/schemas/", "");
    if (seen.has(name)) return;
    seen.add(name);
    yield* propertiesOf(doc, doc.components.schemas[name], seen);
    return;
  }
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    yield { name, prop, parent: schema };
    yield* propertiesOf(doc, prop, seen);
  }
  if (typeof schema.additionalProperties === "object")
    yield* propertiesOf(doc, schema.additionalProperties, seen);
  for (const sub of [
    schema.items,
    ...(schema.allOf ?? []),
    ...(schema.anyOf ?? []),
    ...(schema.oneOf ?? []),
  ]) {
    yield* propertiesOf(doc, sub, seen);
  }
}

const schemasOf = (content: Content | undefined) => Object.values(content ?? {}).map((c) => c.schema);

describe("the served OpenAPI document", () => {
  it("is the committed packages/client/openapi.json (run `npm run client:generate` after an API change)", async () => {
    const doc = await served();
    await expect(`${JSON.stringify(doc, null, 2)}\n`).toMatchFileSnapshot(
      "../../packages/client/openapi.json",
    );
  });

  it("gives every operation a unique operationId, a success response and the error envelope", async () => {
    const ops = operations(await served());
    expect(ops.length).toBeGreaterThanOrEqual(36);
    const ids = ops.map(({ key, op }) => op.operationId ?? `missing on ${key}`);
    expect(ids.filter((id) => id.startsWith("missing"))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { key, op } of ops) {
      const statuses = Object.keys(op.responses);
      expect(
        statuses.some((s) => s.startsWith("2")),
        key,
      ).toBe(true);
      // errorResponses() always documents these; a route without it would lack them.
      for (const s of ["400", "413", "500"]) {
        expect(op.responses[s]?.content?.["application/json"]?.schema, `${key} ${s}`).toEqual({
          $ref: "#/components/schemas/ErrorEnvelope",
        });
      }
    }
  });

  it("references only components it defines", async () => {
    const doc = await served();
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]*"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    // Any component kind (schemas, and the bookmark's shared header and parameter), by JSON pointer.
    const resolves = (ref: string) =>
      ref
        .replace(/^#\//, "")
        .split("/")
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc) !==
      undefined;
    const missing = refs
      .map((r) => r.slice(8, -1))
      .filter((r) => !r.startsWith("#/components/") || !resolves(r));
    expect(missing).toEqual([]);
  });

  it("writes every pattern as a bare ECMA-262 source (no /flags a generator left behind)", async () => {
    const patterns = [...JSON.stringify(await served()).matchAll(/"pattern":("(?:[^"\\]|\\.)*")/g)].map(
      (m) => JSON.parse(m[1] ?? '""') as string,
    );
    expect(patterns.length).toBeGreaterThan(0);
    for (const p of patterns) {
      expect(() => new RegExp(p, "u"), p).not.toThrow();
      expect(p).not.toMatch(/(?<!\\)\/[dgimsuvy]+$/);
    }
  });

  it("describes requests in zod's input shape and responses in its output shape", async () => {
    const doc = await served();
    const requestDefaults: string[] = [];
    for (const { key, op } of operations(doc)) {
      for (const schema of schemasOf(op.requestBody?.content)) {
        for (const { name, prop, parent } of propertiesOf(doc, schema)) {
          if (prop.default === undefined) continue;
          requestDefaults.push(`${key} ${name}`);
          // A client may leave a defaulted field out: it must not be required.
          expect(parent.required ?? [], `${key} ${name}`).not.toContain(name);
        }
      }
      for (const [status, res] of Object.entries(op.responses)) {
        for (const schema of schemasOf(res.content)) {
          for (const { name, prop, parent } of propertiesOf(doc, schema)) {
            // The server always fills a defaulted field in: an answer without it cannot happen.
            if (prop.default !== undefined)
              expect(parent.required ?? [], `${key} ${status} ${name}`).toContain(name);
          }
        }
      }
    }
    expect(requestDefaults).toContain("POST /api/v1/payments/create-intent source");
  });
});
