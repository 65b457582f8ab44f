import { ok, PlatformError } from "./errors";
import type { paths } from "./generated/api";

type GetOf<P> = P extends keyof paths ? (paths[P] extends { get: infer O } ? O : never) : never;
type PageOf<P> =
  GetOf<P> extends { responses: { 200: { content: { "application/json": infer B } } } } ? B : never;

/** Every GET path that answers a page: `{ items, next_cursor }` (keyset pagination). */
export type PagedPath = {
  [P in keyof paths]: PageOf<P> extends { items: unknown[]; next_cursor: string | null } ? P : never;
}[keyof paths];

/** One item of a paged path's `items`. */
export type ItemOf<P extends PagedPath> = PageOf<P> extends { items: (infer I)[] } ? I : never;

/** The path's parameters, less the cursor, which the iterator owns. */
export type PageParams<P extends PagedPath> =
  GetOf<P> extends { parameters: { query?: infer Q; path?: infer A } }
    ? { query?: Omit<NonNullable<Q>, "cursor"> } & (A extends Record<string, unknown>
        ? { path: A }
        : { path?: never })
    : never;

type Page = { items: unknown[]; next_cursor: string | null };
type LooseGet = (
  path: string,
  init: { params: { query?: Record<string, unknown>; path?: unknown } },
) => Promise<{ data: Page; response: Response } | { data?: never; error: unknown; response: Response }>;

/**
 * Every item of a paged list, page after page, following next_cursor until it is null. Pages are
 * fetched only as the loop asks for more, so `break` stops the requests too. A next_cursor
 * equal to the cursor just sent is an error, not an endless loop.
 */
export async function* paginate<P extends PagedPath>(
  get: unknown,
  path: P,
  params?: PageParams<P>,
): AsyncGenerator<ItemOf<P>, void, undefined> {
  // openapi-fetch's GET is typed per path; here the path is generic, so it is called loosely and
  // the page's type comes back from PagedPath.
  const call = get as LooseGet;
  const base = (params ?? {}) as { query?: Record<string, unknown>; path?: unknown };
  let cursor: string | undefined;
  do {
    const query = { ...base.query, ...(cursor === undefined ? {} : { cursor }) };
    const page = await ok(call(path, { params: { ...base, query } }));
    for (const item of page.items) yield item as ItemOf<P>;
    // A cursor that does not move would loop for ever (a broken proxy, a tampered answer).
    if (page.next_cursor !== null && page.next_cursor === cursor) {
      throw new PlatformError(
        200,
        "UNEXPECTED_RESPONSE",
        `${path}: next_cursor repeats the cursor sent`,
        null,
      );
    }
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
