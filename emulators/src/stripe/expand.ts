import type { Store } from "./store";

/**
 * `expand[]=latest_charge`, `expand[]=latest_invoice.payment_intent`, `expand[]=data.charge`:
 * replaces id strings along each path with the stored object. Unknown paths are left alone.
 */
export function expand(store: Store, value: unknown, paths: string[]): unknown {
  let out = value;
  for (const path of paths) out = expandPath(store, out, path.split("."));
  return out;
}

function expandPath(store: Store, value: unknown, segments: string[]): unknown {
  const [head, ...rest] = segments;
  if (head === undefined || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => expandPath(store, v, segments));
  const record = { ...(value as Record<string, unknown>) };
  let field = record[head];
  if (typeof field === "string") field = store.get(field) ?? field;
  record[head] = rest.length > 0 ? expandPath(store, field, rest) : field;
  return record;
}
