import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { paths } from "./generated/api";
import { type ItemOf, type PagedPath, type PageParams, paginate } from "./paginate";
import { type RetryOptions, withRetries } from "./retry";

export type ClientOptions = {
  /** Where the platform is, e.g. "https://api.example.com" (paths carry /api/v1). */
  baseUrl: string;
  /** A bearer token, or a function that returns a fresh one for each request. */
  token?: string | (() => string | Promise<string>);
  /** The fetch to use (default globalThis.fetch); in a Worker, a service binding's fetch. */
  fetch?: (request: Request) => Promise<Response>;
  retry?: RetryOptions;
};

export type PlatformClient = Client<paths> & {
  /** Iterates every item of a paged list: `for await (const p of api.paginate("/api/v1/payments/history"))`. */
  paginate<P extends PagedPath>(path: P, params?: PageParams<P>): AsyncGenerator<ItemOf<P>, void, undefined>;
};

/**
 * Bearer auth, and one Idempotency-Key per POST (unless the caller chose one). Middleware runs
 * once per call and the retries happen below it, in fetch, so each retry repeats the same key and
 * the platform answers it with the first result instead of doing the work twice.
 */
function platformHeaders(token: ClientOptions["token"]): Middleware {
  return {
    async onRequest({ request }) {
      if (token !== undefined) {
        const value = typeof token === "function" ? await token() : token;
        request.headers.set("authorization", `Bearer ${value}`);
      }
      if (request.method === "POST" && !request.headers.has("idempotency-key")) {
        request.headers.set("idempotency-key", crypto.randomUUID());
      }
      return request;
    },
  };
}

/** A typed client for the platform API (openapi-fetch over the generated document types). */
export function createPlatformClient(options: ClientOptions): PlatformClient {
  const base = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const client = createClient<paths>({ baseUrl: options.baseUrl, fetch: withRetries(base, options.retry) });
  client.use(platformHeaders(options.token));
  return Object.assign(client, {
    paginate: <P extends PagedPath>(path: P, params?: PageParams<P>) => paginate(client.GET, path, params),
  });
}
