import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { validate } from "@readme/openapi-parser";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { DOCUMENT, GENERATED, typesFor } from "../../packages/client/scripts/generate.mjs";

/**
 * The served document (its committed copy, which test/contract/document.test.ts proves equal to
 * /api/v1/openapi.json) through the tools a new API user would reach for.
 */
const ROOT = path.resolve(import.meta.dirname, "../..");
const document = () => JSON.parse(readFileSync(DOCUMENT, "utf8")) as Record<string, unknown>;

// Inside the repo, so the program resolves openapi-fetch from node_modules; .build/ is ignored.
mkdirSync(path.join(ROOT, ".build"), { recursive: true });
const dir = mkdtempSync(path.join(ROOT, ".build/contract-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A client written only against the generated types. The @ts-expect-error lines are the other
 * half of the check: were the types too loose to reject them, the directive itself is an error.
 */
const PROGRAM = `
import createClient from "openapi-fetch";
import type { paths } from "./api";

export async function run(baseUrl: string, token: string) {
  const api = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } });

  // The simplest payment: no source, metadata or ids (source has a server-side default).
  const created = await api.POST("/api/v1/payments/create-intent", { body: { amount: 2000, currency: "usd" } });
  if (!created.data) throw new Error(created.error.error.code);
  const paymentId: string = created.data.payment_id;
  // @ts-expect-error amount is required
  await api.POST("/api/v1/payments/create-intent", { body: { currency: "usd" } });

  const confirmed = await api.POST("/api/v1/payments/confirm", {
    body: { payment_id: paymentId, payment_method: "pm_card_visa" },
  });
  const status: string | undefined = confirmed.data?.status;
  // @ts-expect-error payment_id is a string (a uuid)
  await api.POST("/api/v1/payments/confirm", { body: { payment_id: 42 } });

  const history = await api.GET("/api/v1/payments/history", {
    params: { query: { status: ["succeeded", "refunded"], from: "2026-01-01T00:00:00Z", limit: 10 } },
  });
  const next: string | null | undefined = history.data?.next_cursor;
  const amounts: number[] = (history.data?.items ?? []).map((p) => p.amount);

  const refund = await api.POST("/api/v1/payments/{payment_id}/refund", {
    params: { path: { payment_id: paymentId }, header: { "idempotency-key": "refund-1" } },
    body: { amount: 500, reason: "requested_by_customer" },
  });
  const refundId: string | undefined = refund.data?.refund.refund_id;
  // @ts-expect-error reason is required
  await api.POST("/api/v1/payments/{payment_id}/refund", { params: { path: { payment_id: paymentId } }, body: {} });

  const device = await api.POST("/api/v1/notifications/register-device", {
    body: { token: "fcm-token", platform: "android" },
  });
  const deviceId: string | undefined = device.data?.id;

  const ticket = await api.POST("/api/v1/support/tickets", { body: { subject: "Card declined" } });
  const ticketId: string | undefined = ticket.data?.id;

  return { status, next, amounts, refundId, deviceId, ticketId };
}
`;

/** tsc's diagnostics for one file, strict, as a browser or Node client would compile it. */
function typecheck(file: string, types: string[] = []): string[] {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
    types,
    skipLibCheck: true,
  });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    const at = where
      ? `${path.basename(d.file?.fileName ?? "")}:${where.line + 1}:${where.character + 1} `
      : "";
    return `${at}${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

describe("the OpenAPI document as a contract", () => {
  it("passes @readme/openapi-parser's validation with no warnings", async () => {
    const result = await validate(document() as Parameters<typeof validate>[0]);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it("generates the committed SDK types (run `npm run client:generate` after an API change)", async () => {
    const generated = await typesFor(document());
    writeFileSync(path.join(dir, "api.d.ts"), generated);
    expect(generated).toBe(readFileSync(GENERATED, "utf8"));
  });

  it("types a client program covering payments, refunds, devices and tickets", async () => {
    writeFileSync(path.join(dir, "api.d.ts"), await typesFor(document()));
    const file = path.join(dir, "program.ts");
    writeFileSync(file, PROGRAM);
    expect(typecheck(file)).toEqual([]);
  });

  it("types the README's SDK example against @edge-platform/client", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const example = readme.slice(readme.indexOf("## API clients")).match(/```ts\n([\s\S]*?)```/)?.[1];
    expect(example).toContain("createPlatformClient");
    const file = path.join(dir, "readme-example.ts");
    writeFileSync(file, `${example}\nexport {};\n`);
    expect(typecheck(file, ["node"])).toEqual([]);
  });
});
