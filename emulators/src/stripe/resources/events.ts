import type { Route } from "../context";
import { route } from "../context";
import { invalidParam, noSuch } from "../errors";
import { int, list, str } from "../params";

type Row = { seq: number; body: string };

/** Events newest first, cursor-paginated by id like Stripe's list endpoints. */
export const eventRoutes: Route[] = [
  route("GET", "/v1/events", ({ store, params }) => {
    const limit = int(params, "limit") ?? 10;
    if (limit < 1 || limit > 100)
      throw invalidParam("limit", "This value must be between 1 and 100.", "parameter_invalid_integer");
    const types = [str(params, "type"), ...(list(params, "types") ?? [])].filter(
      (t): t is string => typeof t === "string" && t !== "",
    );
    const clauses: string[] = [];
    const binds: (string | number)[] = [];
    for (const [param, op] of [
      ["starting_after", "<"],
      ["ending_before", ">"],
    ] as const) {
      const cursor = str(params, param);
      if (!cursor) continue;
      const row = store.sql.exec<{ seq: number }>("SELECT seq FROM events WHERE id = ?", cursor).toArray()[0];
      if (!row) throw noSuch("event", cursor, param);
      clauses.push(`seq ${op} ?`);
      binds.push(row.seq);
    }
    if (types.length > 0) {
      // `payment_intent.*` style wildcards, as Stripe allows in `type`.
      clauses.push(`(${types.map(() => "type GLOB ?").join(" OR ")})`);
      binds.push(...types);
    }
    const where = clauses.length ? `WHERE ${clauses.join(" AND ")}` : "";
    const order = str(params, "ending_before") ? "ASC" : "DESC";
    const rows = store.sql
      .exec<Row>(`SELECT seq, body FROM events ${where} ORDER BY seq ${order} LIMIT ?`, ...binds, limit + 1)
      .toArray();
    const page = rows.slice(0, limit);
    if (order === "ASC") page.reverse();
    return {
      object: "list",
      data: page.map((r) => JSON.parse(r.body) as unknown),
      has_more: rows.length > limit,
      url: "/v1/events",
    };
  }),
  route("GET", "/v1/events/:id", ({ store, ids }) => {
    const id = ids[0] ?? "";
    const row = store.sql.exec<{ body: string }>("SELECT body FROM events WHERE id = ?", id).toArray()[0];
    if (!row) throw noSuch("event", id);
    return JSON.parse(row.body);
  }),
];
