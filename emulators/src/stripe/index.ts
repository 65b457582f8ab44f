import { DurableObject } from "cloudflare:workers";
import { handleApi } from "./api";
import { handleControl } from "./controls";
import { Store } from "./store";
import { deliverDue } from "./webhooks";

/**
 * The Stripe emulator (ARCHITECTURE.md, "Emulators"): one Durable Object holds all state, so requests are
 * serialised exactly once and idempotency, events and deliveries stay consistent.
 */
export class StripeState extends DurableObject<Env> {
  private readonly store: Store;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new Store(ctx.storage.sql);
  }

  override async fetch(request: Request): Promise<Response> {
    const deps = { store: this.store, env: this.env, onDelivery: () => this.scheduleDelivery() };
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/_emulator/stripe/")) return handleControl(deps, request);
    return handleApi(deps, request);
  }

  override async alarm(): Promise<void> {
    const url = this.env.STRIPE_WEBHOOK_URL;
    if (!url) return;
    const next = await deliverDue(this.store, url, this.env.STRIPE_WEBHOOK_SECRET);
    if (next !== null) await this.ctx.storage.setAlarm(Math.max(next, Date.now() + 10));
  }

  /** Webhooks are pushed only when a URL is configured (`npm start`); tests pull them instead. */
  private scheduleDelivery(): void {
    if (!this.env.STRIPE_WEBHOOK_URL) return;
    void this.ctx.storage.setAlarm(Date.now() + 20);
  }
}

export async function handleStripe(request: Request, env: Env, _ctx: ExecutionContext): Promise<Response> {
  const stub = env.STRIPE_STATE.get(env.STRIPE_STATE.idFromName("stripe"));
  return stub.fetch(request);
}
