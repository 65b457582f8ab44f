import { handleControls } from "./controls";
import { googleError } from "./fcm-errors";
import { validateSendBody } from "./fcm-validate";
import { handleToken } from "./oauth";
import { GoogleState } from "./state";

export { GoogleState };

/**
 * Google OAuth 2.0 (service-account jwt-bearer grant) and FCM HTTP v1 `messages:send`,
 * speaking the real wire protocols (ARCHITECTURE.md, "Upstreams through configuration only"):
 *   POST /google/token                              ← https://oauth2.googleapis.com/token
 *   POST /fcm/v1/projects/{project}/messages:send   ← https://fcm.googleapis.com/v1/...
 *   /_emulator/google/{messages,stats,faults,faults/clear,config,hold,revoke,reset}   test/dev controls
 */

const SEND_PATH = /^\/fcm\/v1\/projects\/([^/]+)\/messages(?::|%3A)send$/i;

function stateOf(env: Env): DurableObjectStub<GoogleState> {
  return env.GOOGLE_STATE.get(env.GOOGLE_STATE.idFromName("google"));
}

async function handleSend(request: Request, env: Env, project: string): Promise<Response> {
  if (request.method !== "POST") {
    const reply = googleError("INVALID_ARGUMENT", `Method ${request.method} is not allowed; use POST.`);
    return Response.json(reply.body, { status: 405 });
  }
  // Parsing and schema checks are stateless, so they run here rather than inside the
  // single Durable Object; the object still decides the order (auth first, as Google does).
  const validation = validateSendBody(await request.text());
  const reply = await stateOf(env).send({
    authorization: request.headers.get("authorization"),
    project,
    validation,
  });
  return new Response(reply.json, {
    status: reply.status,
    headers: { "content-type": "application/json; charset=UTF-8", ...reply.headers },
  });
}

export async function handleGoogle(request: Request, env: Env, _ctx: ExecutionContext): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === "/google/token") return handleToken(request, env, stateOf(env));

  const send = SEND_PATH.exec(pathname);
  if (send?.[1]) return handleSend(request, env, decodeURIComponent(send[1]));

  if (pathname.startsWith("/_emulator/google/")) {
    return handleControls(request, pathname.slice("/_emulator/google/".length), stateOf(env));
  }
  const reply = googleError("NOT_FOUND", `The requested URL ${pathname} was not found on this server.`);
  return Response.json(reply.body, { status: reply.status });
}
