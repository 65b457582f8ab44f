import { invalidParam, missingParam, unknownParam } from "./errors";
import type { Params, ParamValue } from "./form";

/** Stripe rejects parameters an endpoint does not know; so do we (it catches client bugs). */
export function allowOnly(params: Params, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key) && key !== "expand") throw unknownParam(key);
  }
}

export function str(params: Params, key: string): string | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string")
    throw invalidParam(key, `Invalid string: ${key} must be a string`, "parameter_invalid_string");
  return v;
}

/** A string where an empty value means "unset" (Stripe's convention). */
export function nullableStr(params: Params, key: string): string | null | undefined {
  const v = str(params, key);
  return v === "" ? null : v;
}

export function requiredStr(params: Params, key: string): string {
  const v = str(params, key);
  if (v === undefined || v === "") throw missingParam(key);
  return v;
}

export function int(params: Params, key: string): number | undefined {
  const v = str(params, key);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw invalidParam(key, `Invalid integer: ${v}`, "parameter_invalid_integer");
  return Number(v);
}

export function bool(params: Params, key: string): boolean | undefined {
  const v = str(params, key);
  if (v === undefined) return undefined;
  if (v !== "true" && v !== "false")
    throw invalidParam(key, `Invalid boolean: ${v}`, "parameter_invalid_boolean");
  return v === "true";
}

export function oneOf<T extends string>(params: Params, key: string, values: readonly T[]): T | undefined {
  const v = str(params, key);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    throw invalidParam(key, `Invalid ${key}: must be one of ${values.join(", ")}`, "parameter_invalid_empty");
  }
  return v as T;
}

export function obj(params: Params, key: string): Params | undefined {
  const v = params[key];
  if (v === undefined || v === "") return undefined;
  if (typeof v !== "object" || Array.isArray(v))
    throw invalidParam(key, `Invalid object: ${key}`, "parameter_invalid_object");
  return v;
}

export function list(params: Params, key: string): ParamValue[] | undefined {
  const v = params[key];
  if (v === undefined || v === "") return undefined;
  if (!Array.isArray(v)) throw invalidParam(key, `Invalid array: ${key}`, "parameter_invalid_array");
  return v;
}

/** `expand[]` paths requested by the client. */
export function expandPaths(params: Params): string[] {
  const v = params.expand;
  if (v === undefined) return [];
  const arr = Array.isArray(v) ? v : [v];
  return arr.filter((x): x is string => typeof x === "string");
}

/**
 * Applies `metadata[...]` updates: an empty value deletes the key, `metadata=` clears all.
 * Enforces Stripe's limits (50 keys, 40-char keys, 500-char values).
 */
export function applyMetadata(current: Record<string, string>, params: Params): Record<string, string> {
  const raw = params.metadata;
  if (raw === undefined) return current;
  if (raw === "") return {};
  if (typeof raw !== "object" || Array.isArray(raw))
    throw invalidParam("metadata", "Invalid object", "parameter_invalid_object");
  const next = { ...current };
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== "string")
      throw invalidParam(`metadata[${k}]`, "Metadata values must be strings.", "parameter_invalid_string");
    if (k.length > 40)
      throw invalidParam(
        `metadata[${k}]`,
        "Metadata keys can have up to 40 characters.",
        "parameter_invalid_string",
      );
    if (v.length > 500)
      throw invalidParam(
        `metadata[${k}]`,
        "Metadata values can have up to 500 characters.",
        "parameter_invalid_string",
      );
    if (v === "") delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > 50)
    throw invalidParam("metadata", "Metadata can have up to 50 keys.", "parameter_invalid_object");
  return next;
}
