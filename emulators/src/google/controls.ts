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

function parseFault(body: Record<string, unknown>): FaultInput | string {
  const { status, count, retry_after, token_prefix } = body;
  if (status !== 429 && status !== 500 && status !== 503) return "status must be 429, 500 or 503";
  if (!isInt(count, 1, 1_000_000)) return "count must be an integer from 1 to 1000000";
  if (retry_after !== undefined && !isInt(retry_after, 0, 86_400))
    return "retry_after must be whole seconds (0-86400)";
  if (token_prefix !== undefined && typeof token_prefix !== "string") return "token_prefix must be a string";
  return { status, count, retry_after, token_prefix };
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

export async function handleControls(request: Request, route: string, state: Stub): Promise<Response> {
  const url = new URL(request.url);
  const key = `${request.method} ${route}`;
  if (key === "GET messages") {
    const limitParam = url.searchParams.get("limit");
    const limit = limitParam === null ? 100 : Number(limitParam);
    if (!isInt(limit, 1, 10_000)) return bad("limit must be an integer from 1 to 10000");
    const token = url.searchParams.get("token") ?? undefined;
    const topic = url.searchParams.get("topic") ?? undefined;
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
  if (key === "GET stats") return Response.json(await state.stats());
  if (request.method !== "POST") {
    return Response.json(
      { error: { code: 404, message: `No control ${key}`, status: "NOT_FOUND" } },
      { status: 404 },
    );
  }

  const body = await jsonBody(request);
  if (body === null) return bad("body must be a JSON object");
  switch (route) {
    case "faults": {
      const fault = parseFault(body);
      return typeof fault === "string" ? bad(fault) : Response.json(await state.addFault(fault));
    }
    case "config": {
      const patch = parseConfig(body);
      return typeof patch === "string" ? bad(patch) : Response.json(await state.configure(patch));
    }
    case "hold":
      if (typeof body.hold !== "boolean") return bad("hold must be true or false");
      return Response.json(await state.hold(body.hold));
    case "revoke":
      return Response.json(await state.revokeTokens());
    case "reset":
      return Response.json(await state.reset({ tokens: body.tokens === true, config: body.config === true }));
    default:
      return Response.json(
        { error: { code: 404, message: `No control ${key}`, status: "NOT_FOUND" } },
        { status: 404 },
      );
  }
}
