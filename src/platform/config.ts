import { z } from "zod";

const serviceAccountSchema = z.object({
  project_id: z.string().min(1),
  client_email: z.string().min(3),
  private_key: z.string().includes("PRIVATE KEY", { message: "must be a PEM PKCS#8 private key" }),
  private_key_id: z.string().optional(),
});
export type ServiceAccount = z.infer<typeof serviceAccountSchema>;

const days = (d: number) => z.coerce.number().int().positive().max(3650).default(d);

const configSchema = z
  .object({
    STRIPE_API_URL: z.url(),
    STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_/, "must be a Stripe secret key (sk_…)"),
    STRIPE_WEBHOOK_SECRET: z.string().startsWith("whsec_", "must start with whsec_"),
    GOOGLE_TOKEN_URL: z.url(),
    FCM_API_URL: z.url(),
    /** Per request to FCM and Google OAuth: one hung request must not stall a push batch. */
    FCM_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(10_000),
    GOOGLE_SERVICE_ACCOUNT_JSON: z
      .string()
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: "custom", message: "is not valid JSON" });
          return z.NEVER;
        }
      })
      .pipe(serviceAccountSchema),
    AUTH_JWKS_URL: z.union([z.literal(""), z.url()]).default(""),
    AUTH_ISSUER: z.string().min(1),
    AUTH_AUDIENCE: z.string().min(1),
    JWT_SECRET: z.string().optional(),
    /** Accepted for verification only, during a rotation window (see SECURITY.md). */
    JWT_SECRET_PREVIOUS: z.string().min(32).optional(),
    /** Longest accepted token lifetime (`exp - iat`), in seconds; see SECURITY.md. */
    AUTH_MAX_TOKEN_AGE_S: z.coerce
      .number()
      .int()
      .positive()
      .max(30 * 86_400)
      .default(86_400),
    /** Comma-separated service subjects allowed to publish `security.alert` (critical, unmutable). */
    SECURITY_ALERT_SERVICES: z.string().default(""),
    CORS_ORIGINS: z.string().default(""),
    ANALYTICS_RETENTION_DAYS: z.coerce.number().int().positive().max(3650),
    /** Payments/refunds unsettled this long are re-read from Stripe by the reconciler cron. */
    PAYMENT_RECONCILE_AFTER_MINUTES: z.coerce.number().int().positive().max(10_080).default(15),
    SUBSCRIPTION_RECONCILE_AFTER_MINUTES: z.coerce.number().int().positive().max(10_080).default(10),
    /** Days a past_due subscription keeps its plan before the cron cancels it (docs/payments.md, "Dunning"). */
    DUNNING_GRACE_DAYS: z.coerce.number().int().min(1).max(90).default(14),
    /** The web app's origin; notifications link into it (e.g. the page to update a payment method). */
    APP_URL: z.url({ protocol: /^https?$/ }).default("http://localhost:8787"),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
    // Abuse limits and retention (SECURITY.md, "Retention"); defaults apply when unset.
    ANALYTICS_SESSION_DAILY_BYTES: z.coerce.number().int().positive().default(1_048_576),
    // Sessions are client-chosen ids, so one client rotating them is bounded per IP, and the
    // whole anonymous internet together by the global budget (docs/analytics.md, "Abuse limits").
    ANALYTICS_IP_DAILY_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(32 * 1_048_576),
    ANALYTICS_GLOBAL_DAILY_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(4 * 1_073_741_824),
    IDEMPOTENCY_RETENTION_DAYS: days(30),
    WEBHOOK_PAYLOAD_RETENTION_DAYS: days(30),
    DOMAIN_EVENT_RETENTION_DAYS: days(30),
    DELIVERY_TOKEN_RETENTION_DAYS: days(30),
  })
  .superRefine((c, ctx) => {
    // Without a JWKS the platform signs/verifies HS256 itself, so the secret must be strong.
    if (!c.AUTH_JWKS_URL && (!c.JWT_SECRET || c.JWT_SECRET.length < 32)) {
      ctx.addIssue({
        code: "custom",
        path: ["JWT_SECRET"],
        message: "needs ≥32 characters when AUTH_JWKS_URL is empty",
      });
    }
  });

export type Config = z.infer<typeof configSchema> & {
  corsOrigins: string[];
  securityAlertServices: ReadonlySet<string>;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

const list = (csv: string) =>
  csv
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

// Parsed once per isolate: env objects are stable for an isolate's lifetime.
const cache = new WeakMap<object, Config>();

/** Parses vars and secrets; throws ConfigError naming every bad variable. */
export function getConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${names.join("; ")}`);
  }
  const config: Config = {
    ...parsed.data,
    corsOrigins: list(parsed.data.CORS_ORIGINS),
    securityAlertServices: new Set(list(parsed.data.SECURITY_ALERT_SERVICES)),
  };
  cache.set(env, config);
  return config;
}
