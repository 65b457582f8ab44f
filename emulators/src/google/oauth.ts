import { decodeJwt, verifyRs256 } from "./jwt";
import type { GoogleState } from "./state";

/**
 * POST /google/token — Google's OAuth 2.0 token endpoint (https://oauth2.googleapis.com/token)
 * for the service-account `jwt-bearer` grant. Errors use Google's exact shapes so a client's
 * error handling is exercised for real.
 */

export const GOOGLE_TOKEN_AUDIENCES = [
  "https://oauth2.googleapis.com/token",
  "https://www.googleapis.com/oauth2/v4/token",
];
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
// FCM accepts either scope; a token with neither could never send a message.
const FCM_SCOPES = [
  "https://www.googleapis.com/auth/firebase.messaging",
  "https://www.googleapis.com/auth/cloud-platform",
];
const MAX_LIFETIME_S = 3600;
const CLOCK_SKEW_S = 300;

const SHORT_LIVED =
  "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

type OAuthError = { status: number; error: string; description: string };

const grantError = (description: string): OAuthError => ({
  status: 400,
  error: "invalid_grant",
  description,
});

async function readParams(request: Request): Promise<Record<string, string>> {
  // Decoded by hand: workerd warns when .text() is called on a form body.
  const text = new TextDecoder().decode(await request.arrayBuffer());
  const type = request.headers.get("content-type") ?? "";
  // The real endpoint also takes a JSON body; libraries send the form.
  if (type.includes("application/json")) {
    try {
      const value: unknown = JSON.parse(text);
      if (value && typeof value === "object" && !Array.isArray(value)) {
        return Object.fromEntries(
          Object.entries(value).filter((e): e is [string, string] => typeof e[1] === "string"),
        );
      }
    } catch {
      return {};
    }
    return {};
  }
  return Object.fromEntries(new URLSearchParams(text));
}

async function checkAssertion(
  assertion: string,
  env: Env,
  requestUrl: string,
  nowS: number,
): Promise<OAuthError | null> {
  const jwt = decodeJwt(assertion);
  if (!jwt) return grantError("Invalid JWT: Failed to parse the assertion.");
  // Only RS256 is ever accepted: `none` and HMAC tricks are signature failures.
  if (jwt.header.alg !== "RS256") return grantError("Invalid JWT Signature.");
  const claims = jwt.payload;
  if (claims.iss !== env.GOOGLE_SA_CLIENT_EMAIL) return grantError("Invalid grant: account not found");
  if (!(await verifyRs256(jwt, env.GOOGLE_SA_PUBLIC_KEY))) return grantError("Invalid JWT Signature.");

  const { iat, exp } = claims;
  if (typeof iat !== "number" || typeof exp !== "number") return grantError(SHORT_LIVED);
  if (exp <= nowS || iat > nowS + CLOCK_SKEW_S || exp <= iat || exp - iat > MAX_LIFETIME_S) {
    return grantError(SHORT_LIVED);
  }

  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const here = new URL(requestUrl);
  const accepted = [...GOOGLE_TOKEN_AUDIENCES, `${here.origin}${here.pathname}`];
  if (!audiences.some((a) => typeof a === "string" && accepted.includes(a))) {
    return grantError(
      `Invalid JWT: Failed audience check. The right audience is ${GOOGLE_TOKEN_AUDIENCES[0]}`,
    );
  }

  // Domain-wide delegation is not something this platform uses.
  if (claims.sub !== undefined && claims.sub !== claims.iss) {
    return {
      status: 401,
      error: "unauthorized_client",
      description:
        "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
    };
  }

  const scopes = typeof claims.scope === "string" ? claims.scope.split(/\s+/) : [];
  if (!scopes.some((s) => FCM_SCOPES.includes(s))) {
    return {
      status: 400,
      error: "invalid_scope",
      description: "Invalid OAuth scope or ID token audience provided.",
    };
  }
  return null;
}

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-cache, no-store, max-age=0, must-revalidate",
};

export async function handleToken(
  request: Request,
  env: Env,
  state: DurableObjectStub<GoogleState>,
): Promise<Response> {
  const reject = async (e: OAuthError): Promise<Response> => {
    await state.recordRejectedExchange();
    return new Response(JSON.stringify({ error: e.error, error_description: e.description }), {
      status: e.status,
      headers: JSON_HEADERS,
    });
  };

  if (request.method !== "POST") {
    return reject({ status: 405, error: "invalid_request", description: "Method not allowed: use POST." });
  }
  const params = await readParams(request);
  const grantType = params.grant_type ?? "";
  if (grantType !== JWT_BEARER) {
    return reject({
      status: 400,
      error: "unsupported_grant_type",
      description: `Invalid grant_type: ${grantType}`,
    });
  }
  const assertion = params.assertion;
  if (!assertion) {
    return reject({
      status: 400,
      error: "invalid_request",
      description: "Missing required parameter: assertion",
    });
  }
  const failure = await checkAssertion(assertion, env, request.url, Math.floor(Date.now() / 1000));
  if (failure) return reject(failure);

  const issued = await state.issueToken();
  return new Response(JSON.stringify({ ...issued, token_type: "Bearer" }), {
    status: 200,
    headers: JSON_HEADERS,
  });
}
