/**
 * Stripe's wire format: application/x-www-form-urlencoded with bracket notation.
 * `metadata[k]=v`, `items[0][price]=p`, `expand[]=x` and `expand[0]=x` all decode to
 * nested objects and arrays. Values stay strings (Stripe coerces per parameter).
 */
export type ParamValue = string | Params | ParamValue[];
export type Params = { [key: string]: ParamValue };

/** Parses a urlencoded body or query string into nested params. */
export function parseForm(body: string): Params {
  const root: Params = {};
  if (body === "") return root;
  for (const [rawKey, value] of new URLSearchParams(body)) {
    const path = splitKey(rawKey);
    if (path.length === 0) continue;
    assign(root, path, value);
  }
  return arrayify(root, false) as Params;
}

/** `a[b][0][]` → ["a", "b", "0", ""] */
function splitKey(key: string): string[] {
  const first = key.indexOf("[");
  if (first === -1) return [key];
  const parts = [key.slice(0, first)];
  const re = /\[([^\]]*)\]/g;
  for (const m of key.slice(first).matchAll(re)) parts.push(m[1] ?? "");
  return parts;
}

// Internally `[]` appends under a synthetic numeric key; arrays are built at the end.
function assign(target: Params, path: string[], value: string): void {
  let node = target;
  for (let i = 0; i < path.length; i++) {
    let key = path[i] ?? "";
    if (key === "") key = String(Object.keys(node).length);
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next === "object" && next !== null && !Array.isArray(next)) {
      node = next;
    } else {
      const created: Params = {};
      node[key] = created;
      node = created;
    }
  }
}

/** Objects keyed 0..n-1 become arrays, except inside metadata (whose keys are free-form). */
function arrayify(value: ParamValue, isMetadata: boolean): ParamValue {
  if (typeof value === "string" || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const out: Params = {};
  for (const k of keys) out[k] = arrayify(value[k] as ParamValue, k === "metadata");
  if (!isMetadata && keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((n) => out[String(n)] as ParamValue);
  }
  return out;
}

/** Canonical JSON (sorted keys) so idempotency can compare parameter sets. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
