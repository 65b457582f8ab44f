import { z } from "zod";

/**
 * Data that satisfies a zod object schema, at its two extremes: `minimal` leaves out every
 * optional field, nulls every nullable one and makes strings as short as allowed; `maximal`
 * fills every field to its length limit with 3-byte characters (the worst case for payload
 * budgets). `samples` adds one variant per value of each enum field. Overrides replace
 * fields whose realistic values the schema does not say (a currency is any three letters).
 */
type Data = Record<string, unknown>;
type Overrides = Record<string, { min: unknown; max: unknown }>;

const WIDE = "漢";

function unwrap(s: z.ZodType): z.ZodType {
  let inner = s;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable)
    inner = inner.unwrap() as z.ZodType;
  return inner;
}

function value(s: z.ZodType, extreme: "min" | "max"): unknown {
  const inner = unwrap(s);
  if (inner instanceof z.ZodString) {
    if (extreme === "max") return WIDE.repeat(inner.maxLength ?? 64);
    // Empty when allowed; else the shortest non-blank string (a "not blank" pattern refuses "").
    return inner.safeParse("").success ? "" : "a".repeat(Math.max(inner.minLength ?? 0, 1));
  }
  if (inner instanceof z.ZodNumber) return extreme === "min" ? Math.max(inner.minValue ?? 0, 0) : 99_999_999;
  if (inner instanceof z.ZodBoolean) return extreme === "max";
  if (inner instanceof z.ZodEnum) return inner.options[0];
  if (inner instanceof z.ZodArray) return [value(inner.element as z.ZodType, extreme)];
  // A link (the dunning notice's update URL): not rendered by any template, but carried in data.
  if (inner instanceof z.ZodURL)
    return extreme === "min" ? "https://a.example/" : `https://example.com/${"a".repeat(1000)}`;
  throw new Error(`no sample for ${inner.constructor.name}`);
}

function extreme(schema: z.ZodObject, which: "min" | "max", overrides: Overrides): Data {
  const out: Data = {};
  for (const [k, s] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const o = overrides[k];
    if (o) out[k] = o[which];
    else if (which === "min" && s.safeParse(undefined).success) continue;
    else if (which === "min" && s.safeParse(null).success) out[k] = null;
    else out[k] = value(s, which);
  }
  return schema.parse(out) as Data;
}

export function samples(schema: z.ZodObject, overrides: Overrides = {}): Data[] {
  const min = extreme(schema, "min", overrides);
  const max = extreme(schema, "max", overrides);
  const out = [min, max];
  for (const [k, s] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const inner = unwrap(s);
    if (!(inner instanceof z.ZodEnum)) continue;
    for (const option of inner.options)
      out.push(schema.parse({ ...min, [k]: option }), schema.parse({ ...max, [k]: option }));
  }
  return out;
}
