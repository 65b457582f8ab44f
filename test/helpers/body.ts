import type { z } from "@hono/zod-openapi";
import type { ExtractSchema } from "hono/types";
import { analyticsRouter } from "../../src/analytics";
import { chatRouter } from "../../src/chat";
import { eventsRouter } from "../../src/events";
import { notificationsRouter } from "../../src/notifications";
import { paymentsRouter } from "../../src/payments";
import type { ErrorBody } from "../../src/platform/errors";
import { healthRouter } from "../../src/platform/health";
import { errorEnvelopeSchema } from "../../src/platform/openapi";

/**
 * Response bodies typed by the routes themselves: the module routers (each module's index.ts)
 * carry every operation's documented responses in their type, so a schema change in src breaks
 * the tests that read that body. The same route configs are used at run time to check the body
 * against its zod schema, so an answer that drifts from its documentation fails too.
 */
const ROUTERS = [
  healthRouter,
  paymentsRouter,
  notificationsRouter,
  eventsRouter,
  chatRouter,
  analyticsRouter,
] as const;

type Routes = ExtractSchema<typeof healthRouter> &
  ExtractSchema<typeof paymentsRouter> &
  ExtractSchema<typeof notificationsRouter> &
  ExtractSchema<typeof eventsRouter> &
  ExtractSchema<typeof chatRouter> &
  ExtractSchema<typeof analyticsRouter>;

type Verb<M> = M extends `$${infer V}` ? Uppercase<V> : never;

/** Every documented operation as "METHOD /path", in Hono path syntax below /api/v1. */
export type Endpoint = { [P in keyof Routes & string]: `${Verb<keyof Routes[P]>} ${P}` }[keyof Routes &
  string];

type Operation<E extends Endpoint> = E extends `${infer V} ${infer P extends keyof Routes}`
  ? Routes[P][`$${Lowercase<V>}` & keyof Routes[P]]
  : never;

/** The statuses an operation documents. */
export type StatusOf<E extends Endpoint> =
  Operation<E> extends { status: infer S extends number } ? S : never;

/** The JSON body an operation answers with `status`. */
export type BodyOf<E extends Endpoint, S extends StatusOf<E>> =
  Extract<Operation<E>, { status: S }> extends {
    output: infer O;
  }
    ? O
    : never;

const schemas = new Map<string, z.ZodType>();
for (const router of ROUTERS) {
  for (const def of router.openAPIRegistry.definitions) {
    if (def.type !== "route") continue;
    const path = def.route.path.replaceAll(/\{(\w+)\}/g, ":$1");
    for (const [status, response] of Object.entries(def.route.responses)) {
      const schema = (response as { content?: Record<string, { schema?: unknown }> }).content?.[
        "application/json"
      ]?.schema;
      if (schema) schemas.set(`${def.route.method.toUpperCase()} ${path} ${status}`, schema as z.ZodType);
    }
  }
}

async function readJson(res: Response, what: string, statuses: readonly number[]): Promise<unknown> {
  const text = await res.text();
  if (!statuses.includes(res.status))
    throw new Error(`${what}: expected ${statuses.join(" or ")}, got ${res.status} ${text}`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what}: ${res.status} body is not JSON: ${text.slice(0, 200)}`);
  }
}

function check(schema: z.ZodType, body: unknown, what: string): void {
  const result = schema.safeParse(body);
  if (!result.success)
    throw new Error(`${what} does not match its schema: ${JSON.stringify(result.error.issues)}`);
}

/**
 * The body of `res`, which must have `status` (or one of them), typed by and checked against
 * the route's documented schema for that status. The parsed JSON is returned as sent: a schema
 * may strip unknown keys, and a test must not see a cleaned-up copy.
 */
export async function bodyOf<E extends Endpoint, S extends StatusOf<E>>(
  res: Response,
  endpoint: E,
  status: S | readonly S[],
): Promise<BodyOf<E, S>> {
  const statuses: readonly number[] = typeof status === "number" ? [status] : status;
  const body = await readJson(res, endpoint, statuses);
  const what = `${endpoint} ${res.status}`;
  const schema = schemas.get(what);
  if (!schema) throw new Error(`${what}: no JSON response documented`);
  check(schema, body, what);
  return body as BodyOf<E, S>;
}

/** The error envelope of `res`, which must have `status`; checked against the documented envelope. */
export async function errorOf(res: Response, status: number): Promise<ErrorBody> {
  const body = await readJson(res, "error envelope", [status]);
  check(errorEnvelopeSchema, body, `${status} envelope`);
  return body as ErrorBody;
}
