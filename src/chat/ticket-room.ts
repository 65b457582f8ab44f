import { DurableObject } from "cloudflare:workers";
import { createDeps, type Deps } from "../platform/deps";
import { newTimeOrderedId } from "../platform/ids";
import { sinks } from "../sinks";
import { freshGuard, inspect, strike } from "./frame-guard";
import { messageFiles } from "./message-files";
import { MirrorSchedule } from "./mirror-schedule";
import { type Attachment, CLOSE, type ClientFrame, INTERNAL, LIMITS, type ServerFrame } from "./protocol";
import { type Conn, RoomSockets, send } from "./room-sockets";
import { type RoomMeta, RoomStore, type StoredMessage, toWire } from "./room-store";
import { SocketOrder } from "./socket-order";

/** A frame that passed the guard, waiting for the room's next write turn (`accept`). */
type Accepted =
  | {
      kind: "message";
      ws: WebSocket;
      conn: Conn;
      frame: Extract<ClientFrame, { type: "message" }>;
      attachments: Attachment[];
      t: number;
    }
  | { kind: "read"; conn: Conn; upTo: number; t: number };

const unavailableFrame = (clientId: string): ServerFrame => ({
  type: "error",
  code: "UNAVAILABLE",
  message: "Could not store the message; resend it",
  client_id: clientId,
});
const duplicateAck = (clientId: string, m: StoredMessage): ServerFrame => ({
  type: "ack",
  client_id: clientId,
  id: m.id,
  seq: m.seq,
  duplicate: true,
});

/**
 * One per support ticket (docs/chat-protocol.md, "Storage, mirroring and notifications").
 * Hibernation API throughout: nothing the room has confirmed lives only in memory, so
 * `evictDurableObject` mid-conversation loses nothing acked and the same sockets carry on
 * (frames waiting for the next write turn were never acked; their clients resend them).
 */
export class TicketRoom extends DurableObject<Env> {
  private readonly store: RoomStore;
  private readonly sockets: RoomSockets;
  private readonly mirror: MirrorSchedule;
  /** Built on first use and kept for the instance's life (a new drizzle per drain showed in profiles). */
  private depsCache: Deps | null = null;
  /** Frames accepted since the last write turn, in arrival order (see `accept`). */
  private pending: Accepted[] = [];
  private pendingTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly order = new SocketOrder((err) =>
    this.deps().logger.error("chat: frame step failed", { err }),
  );

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RoomStore(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
    this.sockets = new RoomSockets(ctx);
    this.mirror = new MirrorSchedule(this.store, ctx.storage, () => this.deps());
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** Reached only through the Worker, which authenticated the caller and set the internal headers. */
  override async fetch(req: Request): Promise<Response> {
    const h = req.headers;
    const userId = h.get(INTERNAL.userId);
    const role = h.get(INTERNAL.role);
    const ticketId = h.get(INTERNAL.ticketId);
    const ownerId = h.get(INTERNAL.ticketOwner);
    if (h.get("upgrade")?.toLowerCase() !== "websocket" || !userId || !role || !ticketId || !ownerId) {
      return new Response("internal: expected an authenticated upgrade from the Worker", { status: 400 });
    }
    this.store.saveMeta({ ticketId, ownerId, merchantId: h.get(INTERNAL.ticketMerchant) });

    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    const wasOnline = this.sockets.isOnline(userId);
    this.sockets.add(server, { userId, role, typingAt: 0, guard: freshGuard(Date.now()) });

    if (!wasOnline)
      this.sockets.broadcast({ type: "presence", user_id: userId, role, status: "online" }, server);
    send(server, {
      type: "welcome",
      ticket_id: ticketId,
      you: { user_id: userId, role },
      participants: this.sockets.participants(),
      last_seq: this.store.lastSeq(),
    });
    // Replay and live delivery happen in this one synchronous step, so nothing falls in between.
    const since = new URL(req.url).searchParams.get("since");
    if (since !== null) {
      for (const m of this.store.since(Number(since), LIMITS.maxReplay))
        send(server, { type: "message", ...toWire(m) });
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const conn = this.sockets.connOf(ws);
    if (!conn) return;
    const t = Date.now();
    const verdict = inspect(raw, conn.guard, t);
    // The guard's state (tokens, strikes) is taken at arrival; what the frame does happens in
    // this socket's order (SocketOrder), behind a message still waiting on its attachment check.
    if (!verdict.ok) {
      const abusive = !("close" in verdict) && strike(conn.guard, t);
      if (!("close" in verdict)) ws.serializeAttachment(conn);
      return this.order.run(ws, () => {
        // Answered now, out of band: first the frames this socket (or any) sent before, so their
        // acks are not overtaken by an error, or lost behind a close the client takes as final.
        this.flushPending();
        if ("close" in verdict) return this.closeFor(ws, verdict.close, verdict.reason);
        const { ok: _ok, ...error } = verdict;
        send(ws, { type: "error", ...error });
        if (abusive) this.closeFor(ws, CLOSE.policy, "too many rejected frames");
      });
    }
    const frame = verdict.frame;
    // An accepted frame only spends a token, which lives in memory until the next write-back
    // (a rejection or a typing frame). Hibernation needs ~10 s without events, by which time
    // the bucket (10 tokens, 2/s) is full again anyway, so waiting for it gains a client nothing;
    // strikes, the state that does matter across a wake-up, are always written back.
    return this.order.run(ws, () => {
      // Re-read the clock: a step held behind an attachment check runs later, and created_at
      // must not go backwards past a message sequenced meanwhile.
      const now = Math.max(t, Date.now());
      if (frame.type === "typing" && now - conn.typingAt >= LIMITS.typingThrottleMs) {
        conn.typingAt = now;
        ws.serializeAttachment(conn);
        this.sockets.broadcast({ type: "typing", user_id: conn.userId }, ws);
      }
      if (frame.type === "message") return this.onMessage(ws, conn, frame, now);
      if (frame.type === "read") this.accept({ kind: "read", conn, upTo: frame.up_to, t: now });
    });
  }

  private closeFor(ws: WebSocket, code: number, reason: string): void {
    this.order.end(ws);
    ws.close(code, reason);
  }

  /** Accepts a message frame now, or (with `attachment_ids`) once D1 has vouched for the files. */
  private onMessage(
    ws: WebSocket,
    conn: Conn,
    frame: Extract<ClientFrame, { type: "message" }>,
    at: number,
  ): void | Promise<void> {
    // After a message of this socket that was not stored: refused too until it is resent.
    if (this.order.mustRefuse(ws, frame.client_id, at))
      return this.answerNow(ws, unavailableFrame(frame.client_id));
    const ids = frame.attachment_ids ?? [];
    if (ids.length === 0)
      return this.accept({ kind: "message", ws, conn, frame, attachments: frame.attachments ?? [], t: at });
    const meta = this.store.meta();
    if (!meta) return;
    const existing = this.store.byClientId(conn.userId, frame.client_id);
    if (existing) return this.answerNow(ws, duplicateAck(frame.client_id, existing));
    return this.uploadedFiles(ws, conn.userId, meta.ticketId, frame, ids).then((files) => {
      // The room closed the socket (ticket closed, bad frame) during the check: not accepted.
      if (!files || !this.order.isOpen(ws)) return;
      // An earlier message of this socket was refused while this one was on its check.
      if (this.order.mustRefuse(ws, frame.client_id, Date.now()))
        return this.answerNow(ws, unavailableFrame(frame.client_id));
      const attachments = [...(frame.attachments ?? []), ...files];
      this.accept({ kind: "message", ws, conn, frame, attachments, t: Math.max(at, Date.now()) });
    });
  }

  /** An answer outside the batch: the frames accepted before it are written and answered first. */
  private answerNow(ws: WebSocket, frame: ServerFrame): void {
    this.flushPending();
    send(ws, frame);
  }

  /**
   * Group commit: frames accepted while the room is busy are written together on the next turn,
   * so they share one implicit transaction and one commit. A commit is most of a write's cost
   * (`node bench/do-commit/run.mjs --per 10`: 383 µs per message insert at one per turn, 117 µs at
   * ten); a quiet room pays one timer tick. Nothing is acked or broadcast before its turn, so a
   * frame lost with the instance in between was never confirmed and its client resends it.
   * Arrival order is kept: the seq is taken at the write, in the order frames were accepted, and
   * their clocks were read in that order too.
   */
  private accept(item: Accepted): void {
    this.pending.push(item);
    this.pendingTimer ??= setTimeout(() => this.commitPending(), 0);
  }

  private flushPending(): void {
    if (this.pendingTimer === null) return;
    clearTimeout(this.pendingTimer);
    this.commitPending();
  }

  /**
   * Writes the batch, each frame as a unit (RoomStore's `transact`), and only then answers it:
   * acks and broadcasts leave in this same synchronous step, behind the output gate. A failed
   * write stops the batch there. Nothing after it is written this turn: SQLite answers some
   * errors (a full disk, I/O) by rolling back the whole transaction, and a later frame would then
   * be committed on its own, ahead of its predecessors' resends. If the rollback took frames
   * written earlier in the batch, those are not answered as stored either.
   */
  private commitPending(): void {
    this.pendingTimer = null;
    const batch = this.pending;
    this.pending = [];
    const meta = this.store.meta();
    if (!meta) return;
    const replies: Array<() => void> = [];
    for (const [i, item] of batch.entries()) {
      try {
        replies.push(item.kind === "read" ? this.applyRead(item) : this.applyMessage(meta, item));
      } catch (err) {
        this.deps().logger.error("chat: write failed", { ticket_id: meta.ticketId, err });
        const lostAll = this.store.lostWrites();
        if (lostAll) replies.length = 0;
        // Not stored: each client resends under its client_id (a lost read mark is redone by the
        // reader's next read frame, which covers every message up to it).
        for (const unstored of lostAll ? batch : batch.slice(i))
          if (unstored.kind === "message") replies.push(() => this.unavailable(unstored));
        break;
      }
    }
    for (const reply of replies) reply();
  }

  private unavailable(item: Extract<Accepted, { kind: "message" }>): void {
    this.order.holdUntilResent(item.ws, item.frame.client_id, item.t);
    send(item.ws, unavailableFrame(item.frame.client_id));
  }

  /** Writes one message frame; returns what to send once the batch is written. */
  private applyMessage(meta: RoomMeta, item: Extract<Accepted, { kind: "message" }>): () => void {
    const { ws, conn, frame, attachments, t } = item;
    if (frame.body.trim() === "" && attachments.length === 0) {
      // A resend of a stored client_id is still acked as a duplicate, whatever it carries now.
      const existing = this.store.byClientId(conn.userId, frame.client_id);
      if (existing) return () => this.ackDuplicate(ws, frame.client_id, existing);
      return () =>
        send(ws, {
          type: "error",
          code: "VALIDATION_FAILED",
          message: "A message needs a body or an attachment",
          client_id: frame.client_id,
        });
    }
    // An agent writing while the owner has no socket open: the owner hears about it by push.
    const notifyOwner =
      conn.role === "admin" && conn.userId !== meta.ownerId && !this.sockets.isOnline(meta.ownerId);
    // Synchronous from here to the ack (sent at the end of this batch, in the same step): the seq
    // is taken and stored in one step, and the output gate holds the ack until the commit. The insert itself detects a resent client_id (no
    // SELECT first on the common path).
    const { stored, duplicate } = this.store.append(
      {
        // Time-ordered (UUIDv7, at the message's own created_at): each new id lands at the right
        // edge of the room's `id` index and of chat_messages' primary key in D1, where a random
        // one dirtied a random page per message (`node bench/room-insert.mjs`, 20k rows, one commit
        // per message: 3.0x -> 2.45x the bare room's append).
        id: newTimeOrderedId(t),
        client_id: frame.client_id,
        sender_id: conn.userId,
        sender_role: conn.role,
        body: frame.body,
        attachments: JSON.stringify(attachments),
        created_at: t,
      },
      notifyOwner ? ["replied"] : [],
    );
    if (duplicate) return () => this.ackDuplicate(ws, frame.client_id, stored);
    return () => {
      this.mirror.armAlarm(t);
      this.sockets.broadcast({ type: "message", ...toWire(stored, attachments) }, ws);
      send(ws, { type: "ack", client_id: frame.client_id, id: stored.id, seq: stored.seq });
      this.mirror.wrote();
    };
  }

  /**
   * The uploaded files a frame names (message-files.ts), or null once the refusal is answered.
   * Bounded: the socket's later frames wait behind this check (SocketOrder).
   */
  private async uploadedFiles(
    ws: WebSocket,
    userId: string,
    ticketId: string,
    frame: Extract<ClientFrame, { type: "message" }>,
    ids: string[],
  ): Promise<Attachment[] | null> {
    const checked = await messageFiles(this.deps(), ticketId, frame, ids);
    if ("files" in checked) return checked.files;
    // The frames before it first: an earlier message's failed write holds the socket on that one,
    // and an earlier copy of this message (a resend) may be stored by the flush.
    this.flushPending();
    if (checked.code === "UNAVAILABLE") {
      const stored = this.store.byClientId(userId, frame.client_id);
      if (stored) {
        this.ackDuplicate(ws, frame.client_id, stored);
        return null;
      }
      this.order.holdUntilResent(ws, frame.client_id, Date.now());
    }
    const { code, message, details } = checked;
    send(ws, { type: "error", code, message, client_id: frame.client_id, ...(details ? { details } : {}) });
    return null;
  }

  private ackDuplicate(ws: WebSocket, clientId: string, m: StoredMessage): void {
    send(ws, duplicateAck(clientId, m));
  }

  /** Writes one read frame; returns what to send once the batch is written. */
  private applyRead({ conn, upTo, t }: Extract<Accepted, { kind: "read" }>): () => void {
    const capped = Math.min(upTo, this.store.lastSeq());
    if (this.store.markRead(conn.userId, capped, t) === 0) return () => {};
    return () => {
      this.mirror.armAlarm(t);
      this.sockets.broadcast({
        type: "read",
        user_id: conn.userId,
        up_to: capped,
        read_at: new Date(t).toISOString(),
      });
      this.mirror.wrote();
    };
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.leave(ws);
    try {
      ws.close(code, reason);
    } catch {
      // Already closed (the runtime may have replied to the close frame itself).
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.leave(ws);
  }

  /** Called by PATCH status=closed: every socket is closed with 4000 and the reason. */
  async closeRoom(reason: string): Promise<number> {
    // Frames already accepted are written and acked before the close the client takes as final;
    // a message still on its attachment check, and anything after, is dropped (never acked).
    this.flushPending();
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) {
      this.order.end(ws);
      try {
        ws.close(CLOSE.ticketClosed, reason.slice(0, 120));
      } catch {
        // Already closing.
      }
    }
    return sockets.length;
  }

  /**
   * Called by DELETE /support/tickets/{id} before D1 forgets the ticket: closes every socket and
   * drops the room's copy of the conversation, so no mirror can write it back. Idempotent.
   */
  async eraseRoom(reason: string): Promise<void> {
    // Frames not yet written were never acked; writing them after the erase would revive the room.
    if (this.pendingTimer !== null) clearTimeout(this.pendingTimer);
    this.pendingTimer = null;
    this.pending = [];
    await this.closeRoom(reason);
    // No drain may write what it read before the erase after the caller's D1 delete; nothing
    // starts another once the sockets are closed.
    await this.mirror.stop();
    this.store.erase();
    await this.mirror.disarm();
  }

  override async alarm(): Promise<void> {
    await this.mirror.alarm();
  }

  private leave(ws: WebSocket): void {
    const conn = this.sockets.connOf(ws);
    this.sockets.remove(ws);
    if (!conn || this.sockets.isOnline(conn.userId)) return;
    this.sockets.broadcast(
      { type: "presence", user_id: conn.userId, role: conn.role, status: "offline" },
      ws,
    );
  }

  private deps(): Deps {
    this.depsCache ??= createDeps(this.env, { sinks, log: { object: "TicketRoom" } });
    return this.depsCache;
  }
}
