import { match, type Route, route } from "../router";
import type { EmulatorConfig, FaultInput, GoogleState } from "./state";

/**
 * /_emulator/google/* — JSON controls for tests and for a developer watching `npm start`.
 * Not part of any Google API, so no auth; the emulator is never deployed.
 */

type Stub = DurableObjectStub<GoogleState>;

const bad = (message: string) =>
  Response.json({ error: { code: 400, message, status: "INVALID_ARGUMENT" } }, { status: 400 });

async function jsonBody(request: Request): Promise<Record<string, unknown> | null> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;

/**
 * An injected fault. 429/500/503 answer FCM's RESOURCE_EXHAUSTED / INTERNAL / UNAVAILABLE;
 * 401 answers THIRD_PARTY_AUTH_ERROR (FCM could not authenticate to APNs / Web Push) and must
 * say so with `error_code`, since an expired access token is a different 401.
 * `hang_ms`: the send hangs that long first, then answers the fault (nothing is delivered).
 */
function parseFault(body: Record<string, unknown>): FaultInput | string {
  const { status, count, retry_after, token_prefix, error_code, hang_ms } = body;
  if (status !== 401 && status !== 429 && status !== 500 && status !== 503)
    return "status must be 401, 429, 500 or 503";
  if (status === 401 && error_code !== "THIRD_PARTY_AUTH_ERROR")
    return "status 401 needs error_code THIRD_PARTY_AUTH_ERROR";
  if (status !== 401 && error_code !== undefined) return "error_code is only for status 401";
  if (!isInt(count, 1, 1_000_000)) return "count must be an integer from 1 to 1000000";
  if (retry_after !== undefined && !isInt(retry_after, 0, 86_400))
    return "retry_after must be whole seconds (0-86400)";
  if (hang_ms !== undefined && !isInt(hang_ms, 1, 120_000))
    return "hang_ms must be an integer from 1 to 120000";
  if (token_prefix !== undefined && typeof token_prefix !== "string") return "token_prefix must be a string";
  return { status, count, retry_after, token_prefix, hang_ms };
}

function parseConfig(body: Record<string, unknown>): Partial<EmulatorConfig> | string {
  const patch: Partial<EmulatorConfig> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === "send_latency_ms") {
      if (!isInt(value, 0, 60_000)) return "send_latency_ms must be an integer from 0 to 60000";
      patch.send_latency_ms = value;
    } else if (key === "access_token_ttl_s") {
      if (!isInt(value, 0, 3600)) return "access_token_ttl_s must be an integer from 0 to 3600";
      patch.access_token_ttl_s = value;
    } else {
      return `unknown config field ${key}`;
    }
  }
  return patch;
}

type ControlContext = { url: URL; body: Record<string, unknown>; state: Stub };

type ControlHandler = (x: ControlContext) => Response | Promise<Response>;

const ok = async (value: Promise<unknown>) => Response.json(await value);

const CONTROLS: Route<ControlHandler>[] = [
  route("GET", "messages", ({ url, state }) => listMessages(url.searchParams, state)),
  route("GET", "stats", ({ state }) => ok(state.stats())),
  route("POST", "faults", ({ body, state }) => {
    const fault = parseFault(body);
    return typeof fault === "string" ? bad(fault) : ok(state.addFault(fault));
  }),
  route("GET", "faults", ({ url, state }) =>
    ok(state.listFaults(url.searchParams.get("token_prefix") ?? undefined)),
  ),
  route("POST", "faults/clear", ({ body, state }) =>
    body.token_prefix === undefined || typeof body.token_prefix === "string"
      ? ok(state.clearFaults(body.token_prefix))
      : bad("token_prefix must be a string"),
  ),
  route("POST", "config", ({ body, state }) => {
    const patch = parseConfig(body);
    return typeof patch === "string" ? bad(patch) : ok(state.configure(patch));
  }),
  route("POST", "hold", ({ body, state }) =>
    typeof body.hold === "boolean" ? ok(state.hold(body.hold)) : bad("hold must be true or false"),
  ),
  route("POST", "revoke", ({ state }) => ok(state.revokeTokens())),
  route("POST", "reset", ({ body, state }) =>
    ok(state.reset({ tokens: body.tokens === true, config: body.config === true })),
  ),
];

async function listMessages(query: URLSearchParams, state: Stub): Promise<Response> {
  const limitParam = query.get("limit");
  const limit = limitParam === null ? 100 : Number(limitParam);
  if (!isInt(limit, 1, 10_000)) return bad("limit must be an integer from 1 to 10000");
  const token = query.get("token") ?? undefined;
  const topic = query.get("topic") ?? undefined;
  const stored = await state.messages({ token, topic, limit });
  const messages = stored.map(({ message_json, ...rest }) => ({
    name: rest.name,
    token: rest.token,
    topic: rest.topic,
    condition: rest.condition,
    message: JSON.parse(message_json) as unknown,
    access_token_suffix: rest.access_token_suffix,
    received_at: rest.received_at,
  }));
  return Response.json({ messages });
}

/** `control` is the path after /_emulator/google/, e.g. `messages`. */
export async function handleControls(request: Request, control: string, state: Stub): Promise<Response> {
  // Only POST controls take a body; a malformed one is refused before the path is looked at.
  let body: Record<string, unknown> = {};
  if (request.method === "POST") {
    const parsed = await jsonBody(request);
    if (parsed === null) return bad("body must be a JSON object");
    body = parsed;
  }
  const found = match(CONTROLS, request.method, control);
  if (!found) {
    return Response.json(
      { error: { code: 404, message: `No control ${request.method} ${control}`, status: "NOT_FOUND" } },
      { status: 404 },
    );
  }
  return found.handler({ url: new URL(request.url), body, state });
}
