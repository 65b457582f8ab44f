import { GoogleState, handleGoogle } from "./google";
import { handleStripe, StripeState } from "./stripe";

export { GoogleState, StripeState };

/**
 * One worker, routed by path so a single local port serves every upstream:
 *   /v1/*                  Stripe API (STRIPE_API_URL = http://127.0.0.1:8788)
 *   /google/token          Google OAuth 2.0 token endpoint (GOOGLE_TOKEN_URL)
 *   /fcm/v1/projects/...   FCM HTTP v1 (FCM_API_URL = http://127.0.0.1:8788/fcm)
 *   /_emulator/stripe/*    test/dev controls for Stripe (events, webhooks, disputes, clocks)
 *   /_emulator/google/*    test/dev controls for Google (sent messages, token exchanges)
 */
export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/v1/") || pathname.startsWith("/_emulator/stripe/")) {
      return handleStripe(request, env, ctx);
    }
    if (
      pathname.startsWith("/google/") ||
      pathname.startsWith("/fcm/") ||
      pathname.startsWith("/_emulator/google/")
    ) {
      return handleGoogle(request, env, ctx);
    }
    if (pathname === "/") {
      return Response.json({ emulators: ["stripe", "google-oauth", "fcm-v1"] });
    }
    return Response.json({ error: { message: `Unknown emulator path ${pathname}` } }, { status: 404 });
  },
} satisfies ExportedHandler<Env>;
