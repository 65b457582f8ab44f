import { exports } from "cloudflare:workers";

const BASE = "http://platform.test";

/** Calls the real worker entry (exports.default.fetch), as a client would. */
export function api(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(`${BASE}${path}`, init));
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

export type ErrorEnvelope = {
  error: {
    code: string;
    message: string;
    details?: Array<{ path?: string; message: string }>;
    request_id: string;
  };
};

export async function expectEnvelope(res: Response, status: number, code?: string): Promise<ErrorEnvelope> {
  const body = (await res.json()) as ErrorEnvelope;
  if (res.status !== status || (code !== undefined && body.error?.code !== code)) {
    throw new Error(`expected ${status} ${code ?? ""}, got ${res.status} ${JSON.stringify(body)}`);
  }
  if (typeof body.error?.request_id !== "string") throw new Error(`no request_id in ${JSON.stringify(body)}`);
  return body;
}
