import { DurableObject } from "cloudflare:workers";
import { INTERNAL } from "./protocol";

/** What a live feed carries: a domain event, numbered per channel. */
export type LiveEvent = { id: string; type: string; occurred_at: number; data: unknown };
export type LiveFrame =
  | { type: "welcome"; channel: string; last_seq: number; oldest_seq: number; truncated: boolean }
  | { type: "event"; seq: number; id: string; event_type: string; occurred_at: string; data: unknown }
  | { type: "error"; code: "UNKNOWN_TYPE"; message: string };

/** A dashboard offline for longer than this many events reloads from the REST API instead. */
export const LIVE_LOG_SIZE = 500;

type Row = { seq: number; id: string; type: string; data: string; occurred_at: number };

const toFrame = (r: Row): LiveFrame => ({
  type: "event",
  seq: r.seq,
  id: r.id,
  event_type: r.type,
  occurred_at: new Date(r.occurred_at).toISOString(),
  data: JSON.parse(r.data) as unknown,
});

/**
 * One per merchant (`merchant:<id>`) or admin (`admin:<id>`). Keeps a short numbered log so a
 * dashboard can resume with `?since=`, and fans new events out to its hibernated sockets.
 */
export class LiveChannel extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS events (
         seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
         data TEXT NOT NULL, occurred_at INTEGER NOT NULL)`,
    );
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  override async fetch(req: Request): Promise<Response> {
    const channel = req.headers.get(INTERNAL.channel);
    if (
      req.headers.get("upgrade")?.toLowerCase() !== "websocket" ||
      !channel ||
      !req.headers.get(INTERNAL.userId)
    ) {
      return new Response("internal: expected an authenticated upgrade from the Worker", { status: 400 });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const { last, oldest } = this.bounds();
    const sinceRaw = new URL(req.url).searchParams.get("since");
    const since = sinceRaw === null ? null : Number(sinceRaw);
    // Events between `since` and the oldest kept one were trimmed: tell the client to reload.
    const truncated = since !== null && since < oldest - 1;
    this.sendTo(server, { type: "welcome", channel, last_seq: last, oldest_seq: oldest, truncated });
    if (since !== null) {
      const rows = this.ctx.storage.sql
        .exec<Row>("SELECT * FROM events WHERE seq > ? ORDER BY seq", since)
        .toArray();
      for (const r of rows) this.sendTo(server, toFrame(r));
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** RPC from the live-channel sink. A repeated event id is ignored (publish may be retried). */
  async push(event: LiveEvent): Promise<{ seq: number | null }> {
    const sql = this.ctx.storage.sql;
    const [row] = sql
      .exec<Row>(
        "INSERT INTO events (id, type, data, occurred_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO NOTHING RETURNING *",
        event.id,
        event.type,
        JSON.stringify(event.data),
        event.occurred_at,
      )
      .toArray();
    if (!row) return { seq: null };
    sql.exec("DELETE FROM events WHERE seq <= ?", row.seq - LIVE_LOG_SIZE);
    const text = JSON.stringify(toFrame(row));
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
      } catch {
        // Closing.
      }
    }
    return { seq: row.seq };
  }

  /** Feeds are one-way; anything but the ping auto-response is a client bug. */
  override async webSocketMessage(ws: WebSocket): Promise<void> {
    this.sendTo(ws, {
      type: "error",
      code: "UNKNOWN_TYPE",
      message: "This feed is read-only; send 'ping' to keep alive",
    });
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  private bounds(): { last: number; oldest: number } {
    const r = this.ctx.storage.sql
      .exec<{ last: number; oldest: number }>(
        "SELECT COALESCE(MAX(seq), 0) AS last, COALESCE(MIN(seq), 0) AS oldest FROM events",
      )
      .one();
    return { last: r.last, oldest: r.oldest === 0 ? r.last + 1 : r.oldest };
  }

  private sendTo(ws: WebSocket, frame: LiveFrame): void {
    try {
      ws.send(JSON.stringify(frame));
    } catch {
      // Closing.
    }
  }
}
