import fc from "fast-check";
import { MAX_BODY_BYTES } from "../../src/app";

/** fast-check generators for hostile request bodies (issue 8 item 2). */

const SQLISH = [
  "' OR '1'='1",
  "'; DROP TABLE payments; --",
  '" OR ""="',
  "1; SELECT * FROM users --",
  "') UNION SELECT id, role FROM users --",
  "%' AND 1=0 UNION ALL SELECT sqlite_version() --",
  "\\'; DELETE FROM support_tickets WHERE '1'='1",
];

const WEIRD_TEXT = [
  "",
  " ",
  "\u0000",
  "\u202e\u0644\u0627 RTL",
  "🧨💳🔥",
  "\ud800",
  "e\u0301\u0301\u0301",
  "<script>alert(1)</script>",
  "{{7*7}}$" + "{7*7}",
  "../../etc/passwd",
  "NaN",
  "Infinity",
  "__proto__",
];

/** Amounts that must never become a payment: negative, zero, fractional, huge, non-numbers. */
export const hostileAmount = fc.oneof(
  fc.integer({ min: -1_000_000_000, max: 0 }),
  fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d)),
  fc.constantFrom(1e21, 2 ** 53 + 2, Number.MAX_VALUE, -0, 0.1, 99.999, 1e-7),
  fc.constantFrom("100", "1e3", "0x10", "", null, true, [], {}),
);

export const hostileCurrency = fc.oneof(
  fc.constantFrom("xxx", "usdd", "US$", "", "u s d", "usd\u0000", "btc", "ÜSD", "usd; --"),
  fc.string({ maxLength: 8 }).filter((s) => !/^(usd|eur|gbp|jpy|chf|cad|aud|sek|nok|dkk)$/i.test(s)),
  fc.constantFrom(840, null, ["usd"]),
);

/** Dates out of range or malformed; also epoch numbers far outside JavaScript's Date range. */
export const hostileDate = fc.constantFrom(
  "0000-00-00T00:00:00Z",
  "9999-99-99T99:99:99Z",
  "+275760-09-13T00:00:00.001Z",
  "-271821-04-20T00:00:00.000Z",
  "1969-12-31T23:59:59.999Z",
  "2024-02-30T10:00:00Z",
  "yesterday",
  "2024-01-01",
  8.64e15 + 1,
  -8.64e15 - 1,
  -1,
  1e300,
);

export const hostileText = fc.oneof(
  fc.constantFrom(...SQLISH),
  fc.constantFrom(...WEIRD_TEXT),
  fc.string({ unit: "grapheme", maxLength: 64 }),
  fc.string({ unit: "binary", maxLength: 64 }),
  fc.nat({ max: 20_000 }).map((n) => "x".repeat(n)),
);

/** Nested arrays/objects deep enough to break naive recursion (parse, stringify, depth checks). */
export const deepNesting = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? "[".repeat(depth) + "]".repeat(depth) : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
  );

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  hostileText,
  hostileAmount,
  hostileCurrency,
  hostileDate,
  fc.jsonValue({ maxDepth: 4 }),
  // Parsed values stay shallow enough for JSON.stringify; deeper ones go in as raw text (deepField).
  deepNesting.filter((s) => s.length < 4_000).map((s) => JSON.parse(s) as unknown),
);

/** A raw body string and the content type it is sent with. */
export type RawCase = { kind: string; body: string; contentType: string | null; idempotencyKey?: string };

const JSON_TYPE = "application/json";

const malformed = fc.constantFrom(
  "{",
  "[",
  "",
  "null",
  "0",
  '"just a string"',
  '{"a":}',
  "{{}}",
  '{"amount": 1e999}',
  "\u0000\u0001",
  '{"__proto__": {"admin": true}}',
  '{"constructor": {"prototype": {"role": "admin"}}}',
  "\ufeff{}",
);

/** Paths one level inside objects (and the first element of arrays of objects) of a valid body. */
function nestedPaths(base: Record<string, unknown>): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(base)) {
    const inner = Array.isArray(v) ? v[0] : v;
    if (!inner || typeof inner !== "object") continue;
    const prefix = Array.isArray(v) ? [k, "0"] : [k];
    for (const sub of Object.keys(inner)) out.push([...prefix, sub]);
  }
  return out;
}

/** A deep copy of `base` with `value` at `path` (numeric segments index arrays). */
function setPath(base: Record<string, unknown>, path: string[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (const seg of path.slice(0, -1)) node = node[seg] as Record<string, unknown>;
  node[path.at(-1) ?? "x"] = value;
  return copy;
}

/** Every hostile shape, built around `base` (a valid body for the route) and its field names. */
export function hostileCase(base: Record<string, unknown>, fields: string[]): fc.Arbitrary<RawCase> {
  const paths = [...fields.map((f) => [f]), ...nestedPaths(base)];
  const field = paths.length > 0 ? fc.constantFrom(...paths) : fc.constant<string[]>(["x"]);
  const mutated = fc.record({ field, value: hostileValue }).map(({ field: f, value }) => ({
    kind: `field:${f.join(".")}`,
    body: JSON.stringify(setPath(base, f, value)),
    contentType: JSON_TYPE,
  }));
  const unknownField = fc.constantFrom("card_number", "cvc", "role", "user_id", "__proto__").map((f) => ({
    kind: `unknown:${f}`,
    body: JSON.stringify({ ...base, [f]: f === "card_number" ? "4242424242424242" : "admin" }),
    contentType: JSON_TYPE,
  }));
  const random = fc.jsonValue({ maxDepth: 5 }).map((v) => ({
    kind: "random-json",
    body: JSON.stringify(v),
    contentType: JSON_TYPE,
  }));
  const broken = malformed.map((body) => ({ kind: "malformed", body, contentType: JSON_TYPE }));
  const wrongType = fc
    .constantFrom(
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data",
      "application/xml",
      null,
    )
    .map((contentType) => ({ kind: `content-type:${contentType}`, body: JSON.stringify(base), contentType }));
  const deep = deepNesting.map((body) => ({ kind: "deep", body, contentType: JSON_TYPE }));
  // Deep nesting spliced into a field as text, so it gets past the top-level shape checks.
  const deepField = fc.record({ field, nested: deepNesting }).map(({ field: f, nested }) => ({
    kind: `deep-field:${f.join(".")}`,
    body: JSON.stringify(setPath(base, f, "__DEEP__")).replace('"__DEEP__"', nested),
    contentType: JSON_TYPE,
  }));
  const huge = fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES * 4 }).map((size) => ({
    kind: "huge",
    body: JSON.stringify({ ...base, pad: "x".repeat(size) }),
    contentType: JSON_TYPE,
  }));
  const shape = fc.oneof(
    { weight: 5, arbitrary: mutated },
    { weight: 1, arbitrary: unknownField },
    { weight: 2, arbitrary: random },
    { weight: 1, arbitrary: broken },
    { weight: 1, arbitrary: wrongType },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: deepField },
    { weight: 1, arbitrary: huge },
  );
  // Some cases carry an Idempotency-Key: a rejected request must not leave a stored replay behind.
  return fc
    .tuple(shape, fc.option(fc.uuid(), { freq: 3 }))
    .map(([c, key]) => (key ? { ...c, idempotencyKey: key } : c));
}
