import { DurableObject } from "cloudflare:workers";

// Placeholder: the Google OAuth / FCM emulator is being written (DESIGN §8).
export class GoogleState extends DurableObject<Env> {}

export async function handleGoogle(_request: Request, _env: Env, _ctx: ExecutionContext): Promise<Response> {
  return Response.json({ error: { code: 501, status: "UNIMPLEMENTED" } }, { status: 501 });
}
