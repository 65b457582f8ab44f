import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createApp } from "../../src/app";
import type { ErrorBody, ErrorCode } from "../../src/platform/errors";
import { errorOf } from "./body";

const BASE = "http://platform.test";

/** Calls the real worker entry (exports.default.fetch), as a client would. */
export function api(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
}

/** A WebSocket upgrade request to the real worker entry; the caller accepts or inspects the answer. */
export function upgrade(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return api(path, { headers: { Upgrade: "websocket", ...headers } });
}

/**
 * Calls the app with some bindings replaced (one down, a stand-in), in its own ExecutionContext,
 * and resolves once the request's waitUntil work has settled. That work's error is rethrown,
 * unless `deferredErrors` takes it (a test about refusals, not about what runs after them).
 */
export async function apiWithEnv(
  path: string,
  init: RequestInit,
  overrides: Record<string, unknown>,
  deferredErrors?: (err: unknown) => void,
): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp().request(`${BASE}${path}`, init, { ...env, ...overrides }, ctx);
  const settled = waitOnExecutionContext(ctx);
  await (deferredErrors ? settled.catch(deferredErrors) : settled);
  return res;
}

export function postJson(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return api(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/**
 * The error envelope of `res`, which must have `status` (and `code`, if given); checked against
 * the documented envelope, so a missing request_id or an unknown code fails too.
 */
export async function expectEnvelope(res: Response, status: number, code?: ErrorCode): Promise<ErrorBody> {
  const body = await errorOf(res, status);
  if (code !== undefined && body.error.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  }
  return body;
}
