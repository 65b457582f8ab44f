import { DurableObject } from "cloudflare:workers";

// Placeholder: the Stripe emulator is being written (DESIGN §8).
export class StripeState extends DurableObject<Env> {}

export async function handleStripe(_request: Request, _env: Env, _ctx: ExecutionContext): Promise<Response> {
  return Response.json({ error: { type: "api_error", message: "Stripe emulator not implemented yet" } }, { status: 501 });
}
