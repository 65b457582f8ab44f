import { z } from "zod";
import { type Node, parse } from "./syntax";

/**
 * Proves a template against the zod schema of its event's data, without rendering it
 * (test/notifications/templates.test.ts runs it on every type × locale):
 * - every placeholder names a field of the schema (or a builtin);
 * - `{x}` without a fallback needs a field the schema guarantees (required, not nullable, not empty),
 *   or an enclosing `{x?…}` branch; optional fields need `{x|…}` or `{x?…|…}`;
 * - `:money` needs an integer field and a guaranteed `currency`; `:date` a number.
 * Returns the problems found, empty when the template is sound.
 */
type Kind = "string" | "number" | "other";
type Field = { kind: Kind; required: boolean };

/** Filled in for every event by the mapping, whatever its data. */
const BUILTINS: Record<string, Field> = { occurred_at: { kind: "number", required: true } };

function describe(schema: z.ZodType): Field {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable)
    inner = inner.unwrap() as z.ZodType;
  // An empty or blank string is as missing as undefined to the renderer (it would leave a
  // hole), and `min(1)` or `length(3)` lets "   " through: try blanks of the lengths allowed.
  const minLength = inner instanceof z.ZodString ? (inner.minLength ?? 0) : 0;
  const blanks = ["", " ", "   ", " ".repeat(minLength)];
  const required = [undefined, null, ...blanks].every((v) => !schema.safeParse(v).success);
  const kind: Kind =
    inner instanceof z.ZodString || inner instanceof z.ZodEnum
      ? "string"
      : inner instanceof z.ZodNumber
        ? "number"
        : "other";
  return { kind, required };
}

export function checkTemplate(source: string, schema: z.ZodObject): string[] {
  let nodes: Node[];
  try {
    nodes = parse(source);
  } catch (err) {
    return [`syntax: ${err instanceof Error ? err.message : String(err)}`];
  }
  const shape = schema.shape as Record<string, z.ZodType>;
  const lookup = (name: string): Field | null => {
    const s = shape[name];
    return s ? describe(s) : (BUILTINS[name] ?? null);
  };
  const issues: string[] = [];
  const walk = (list: Node[], guaranteed: ReadonlySet<string>) => {
    for (const n of list) {
      if (typeof n === "string") continue;
      const f = lookup(n.name);
      if (!f) {
        issues.push(`unknown placeholder {${n.name}}`);
        continue;
      }
      if (f.kind === "other") issues.push(`{${n.name}} is not a string or number`);
      if (n.format !== "text" && f.kind !== "number") issues.push(`{${n.name}:${n.format}} needs a number`);
      if (n.format === "money") {
        const c = lookup("currency");
        if (!c?.required || c.kind !== "string") issues.push(`{${n.name}:money} needs a guaranteed currency`);
      }
      if (n.whenSet) {
        walk(n.whenSet, new Set([...guaranteed, n.name]));
        if (n.otherwise) walk(n.otherwise, guaranteed);
      } else if (n.otherwise) {
        walk(n.otherwise, guaranteed);
      } else if (!f.required && !guaranteed.has(n.name)) {
        issues.push(`{${n.name}} is not guaranteed by the schema: add a fallback {${n.name}|…} or a branch`);
      }
    }
  };
  walk(nodes, new Set());
  return issues;
}
