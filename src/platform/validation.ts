import type { Hook } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import type { AppEnv } from "./app-env";
import { ApiError, type ErrorDetail } from "./errors";

export function zodDetails(error: ZodError): ErrorDetail[] {
  return error.issues.map((i) => ({
    path: i.path.map(String).join("."),
    message: i.message,
    code: i.code,
  }));
}

export const validationError = (error: ZodError, message = "Request validation failed") =>
  new ApiError("VALIDATION_FAILED", message, { details: zodDetails(error) });

/** Every route's validator reports through this hook, so all 400s share one shape. */
// biome-ignore lint/suspicious/noExplicitAny: Hook's generics are per-route; the hook itself is route-agnostic.
export const defaultHook: Hook<any, AppEnv, any, any> = (result) => {
  if (!result.success) throw validationError(result.error);
};
