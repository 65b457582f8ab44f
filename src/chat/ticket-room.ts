import { DurableObject } from "cloudflare:workers";
import { withDeadline } from "../platform/deadline";
import { createDeps, type Deps } from "../platform/deps";
import { newTimeOrderedId } from "../platform/ids";
import { sinks } from "../sinks";
import { readyAttachments, toMessageAttachment } from "./attachments.service";
import { freshGuard, type GuardState, inspect, strike } from "./frame-guard";
import {
  type Attachment,
  CLOSE,
  type ClientFrame,
  INTERNAL,
  LIMITS,
  type Participant,
  type ServerFrame,
} from "./protocol";
import { drainOutbox, mirrorWindowMs, retryDelayMs } from "./room-mirror";
import { type RoomMeta, RoomStore, type StoredMessage, toWire } from "./room-store";
import { SocketOrder } from "./socket-order";

/** What each socket carries through hibernation (serializeAttachment). */
type Conn = { userId: string; role: string; typingAt: number; guard: GuardState };
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

/** How long a message's attachment check may hold its socket's later frames. */
const ATTACHMENT_CHECK_TIMEOUT_MS = 3_000;

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

const send = (ws: WebSocket, frame: ServerFrame) => {
  try {
    ws.send(JSON.stringify(frame));
  } catch {
    // The socket is closing; its close handler cleans up presence.
  }
};

/**
 * One per support ticket (docs/chat-protocol.md, "Storage, mirroring and notifications").
 * Hibernation API throughout: nothing the room has confirmed lives only in memory, so
 * `evictDurableObject` mid-conversation loses nothing acked and the same sockets carry on
 * (frames waiting for the next write turn were never acked; their clients resend them).
 */
export class TicketRoom extends DurableObject<Env> {
  private readonly store: RoomStore;
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  /** The pending coalesced drain, if any (in memory only: the safety-net alarm is the durable backstop). */
  private mirrorTimer: ReturnType<typeof setTimeout> | null = null;
  /** Writes since the pending timer started; how many the previous window collected, and when it closed. */
  private windowWrites = 0;
  private lastWindowWrites = 0;
  private lastWindowAt = 0;
  /** Built on first use and kept for the instance's life (a new drizzle per drain showed in profiles). */
  private depsCache: Deps | null = null;
  /**
   * Whether this instance knows a safety-net alarm is set. Unknown after a wake-up, so the first
   * write arms it again (a harmless overwrite); then one setAlarm per alarm period, not per message.
   */
  private alarmArmed = false;
  /**
   * The open sockets and their decoded attachments, kept for the instance's life (as
   * partyserver does): per frame, `deserializeAttachment` and `getWebSockets()` (a fresh array
   * of wrappers) showed in profiles. Rebuilt from the runtime on first use after a wake-up,
   * so it holds nothing the runtime does not. Attachments are written back only when a field
   * that must survive hibernation changes (see `webSocketMessage`).
   */
  private liveCache: Map<WebSocket, Conn> | null = null;
  /** Frames accepted since the last write turn, in arrival order (see `accept`). */
  private pending: Accepted[] = [];
  private pendingTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly order = new SocketOrder((err) =>
    this.deps().logger.error("chat: frame step failed", { err }),
  );

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new RoomStore(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
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
    const wasOnline = this.isOnline(userId);
    const live = this.live();
    this.ctx.acceptWebSocket(server, [`user:${userId}`]);
    const conn: Conn = { userId, role, typingAt: 0, guard: freshGuard(Date.now()) };
    server.serializeAttachment(conn);
    live.set(server, conn);

    if (!wasOnline) this.broadcast({ type: "presence", user_id: userId, role, status: "online" }, server);
    send(server, {
      type: "welcome",
      ticket_id: ticketId,
      you: { user_id: userId, role },
      participants: this.participants(),
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
    const conn = this.connOf(ws);
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
        this.broadcast({ type: "typing", user_id: conn.userId }, ws);
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
    const notifyOwner = conn.role === "admin" && conn.userId !== meta.ownerId && !this.isOnline(meta.ownerId);
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
      // Safety net set in the same synchronous step as the write (the output gate holds the ack
      // until both are durable): if this instance dies before the mirror, the alarm redoes it.
      this.armAlarm(t);
      this.broadcast({ type: "message", ...toWire(stored, attachments) }, ws);
      send(ws, { type: "ack", client_id: frame.client_id, id: stored.id, seq: stored.seq });
      this.scheduleMirror();
    };
  }

  /**
   * The uploaded files a frame names, in its order, as message attachments; or null after an
   * error frame, when any id is not a ready attachment of this ticket (another ticket's, a
   * pending or deleted one, or none at all: one answer for all, so ids leak nothing).
   */
  private async uploadedFiles(
    ws: WebSocket,
    userId: string,
    ticketId: string,
    frame: Extract<ClientFrame, { type: "message" }>,
    ids: string[],
  ): Promise<Attachment[] | null> {
    const total = ids.length + (frame.attachments?.length ?? 0);
    const fail = (code: "VALIDATION_FAILED" | "UNAVAILABLE", message: string, details?: unknown) => {
      // The frames before it first: an earlier message's failed write holds the socket on that
      // one, and an earlier copy of this message (a resend) may be stored by the flush.
      this.flushPending();
      if (code === "UNAVAILABLE") {
        const stored = this.store.byClientId(userId, frame.client_id);
        if (stored) {
          this.ackDuplicate(ws, frame.client_id, stored);
          return null;
        }
        this.order.holdUntilResent(ws, frame.client_id, Date.now());
      }
      send(ws, {
        type: "error",
        code,
        message,
        client_id: frame.client_id,
        ...(details ? { details } : {}),
      });
      return null;
    };
    if (total > LIMITS.maxAttachments)
      return fail("VALIDATION_FAILED", `At most ${LIMITS.maxAttachments} attachments per message`);
    let rows: Awaited<ReturnType<typeof readyAttachments>>;
    try {
      // Bounded: the socket's later frames wait behind this check (SocketOrder).
      rows = await withDeadline(
        readyAttachments(this.deps().db, ticketId, ids),
        ATTACHMENT_CHECK_TIMEOUT_MS,
        "attachment check did not answer",
      );
    } catch (err) {
      this.deps().logger.error("attachment check failed", { ticket_id: ticketId, err });
      return fail("UNAVAILABLE", "Could not check the attachments; resend the message");
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    const unknown = ids.flatMap((id, i) =>
      byId.has(id) ? [] : [{ path: `attachment_ids.${i}`, message: "not a ready attachment of this ticket" }],
    );
    if (unknown.length > 0) return fail("VALIDATION_FAILED", "Unknown attachment", unknown);
    return ids.map((id) => toMessageAttachment(byId.get(id) as (typeof rows)[number]));
  }

  private ackDuplicate(ws: WebSocket, clientId: string, m: StoredMessage): void {
    send(ws, duplicateAck(clientId, m));
  }

  /** Writes one read frame; returns what to send once the batch is written. */
  private applyRead({ conn, upTo, t }: Extract<Accepted, { kind: "read" }>): () => void {
    const capped = Math.min(upTo, this.store.lastSeq());
    if (this.store.markRead(conn.userId, capped, t) === 0) return () => {};
    return () => {
      this.armAlarm(t);
      this.broadcast({
        type: "read",
        user_id: conn.userId,
        up_to: capped,
        read_at: new Date(t).toISOString(),
      });
      this.scheduleMirror();
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
    if (this.mirrorTimer !== null) clearTimeout(this.mirrorTimer);
    this.mirrorTimer = null;
    // A drain in flight holds messages and outbox rows it read before the erase and would write
    // them to D1 (and move the cursor, re-arm the alarm) after the caller's D1 delete: let it
    // finish first. Nothing starts another: the sockets are closed, the timer cleared, and the
    // erase below follows the last check synchronously.
    while (this.flushing) await this.flushing.catch(() => undefined);
    this.store.erase();
    this.alarmArmed = false;
    await this.ctx.storage.deleteAlarm();
  }

  override async alarm(): Promise<void> {
    // The alarm that is running is spent; drain() sets a new one if work remains.
    this.alarmArmed = false;
    await this.flush();
  }

  private armAlarm(t: number): void {
    if (this.alarmArmed) return;
    this.alarmArmed = true;
    // Not awaited (the output gate holds the ack until it is durable); a failure is logged, and
    // the next write arms it again, rather than escaping as an unhandled rejection.
    this.ctx.storage.setAlarm(t + retryDelayMs(1)).catch((err: unknown) => {
      this.alarmArmed = false;
      this.deps().logger.error("chat: could not arm the safety-net alarm", { err });
    });
  }

  private leave(ws: WebSocket): void {
    const conn = this.connOf(ws);
    this.live().delete(ws);
    if (!conn || this.isOnline(conn.userId)) return;
    this.broadcast({ type: "presence", user_id: conn.userId, role: conn.role, status: "offline" }, ws);
  }

  private live(): Map<WebSocket, Conn> {
    if (this.liveCache === null) {
      this.liveCache = new Map();
      for (const ws of this.ctx.getWebSockets()) {
        const c = ws.deserializeAttachment() as Conn | null;
        if (c) this.liveCache.set(ws, c);
      }
    }
    return this.liveCache;
  }

  private connOf(ws: WebSocket): Conn | null {
    const live = this.live();
    const cached = live.get(ws);
    if (cached) return cached;
    // Accepted by an earlier instance but not seen by this one's rebuild (cannot normally happen).
    const c = ws.deserializeAttachment() as Conn | null;
    if (c) live.set(ws, c);
    return c;
  }

  /** Whether `userId` has an open socket here (a linear scan: a room holds at most a few hundred). */
  private isOnline(userId: string): boolean {
    for (const [ws, c] of this.live())
      if (c.userId === userId && ws.readyState === WebSocket.OPEN) return true;
    return false;
  }

  private participants(): Participant[] {
    const seen = new Map<string, Participant>();
    for (const [ws, c] of this.live()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (!seen.has(c.userId)) seen.set(c.userId, { user_id: c.userId, role: c.role });
    }
    return [...seen.values()];
  }

  private broadcast(frame: ServerFrame, except?: WebSocket): void {
    const text = JSON.stringify(frame);
    for (const ws of this.live().keys()) {
      if (ws === except || ws.readyState !== WebSocket.OPEN) continue;
      try {
        ws.send(text);
      } catch {
        // Closing; cleaned up by webSocketClose.
      }
    }
  }

  /**
   * Coalesces the D1 mirror: the first write after a drain starts a short timer, and every write
   * until it fires rides in the same drain (one D1 batch instead of one round trip per message;
   * at 10 msg/s per room the per-message round trips saturated the CPU, bench/notes/chat.md).
   * Acks and delivery never wait for it; only the REST history lags, by at most the window
   * (mirrorWindowMs: longer while the room stays busy) plus the drain. If the instance is
   * evicted or hibernates first, the timer is gone but the writes are stored and the alarm armed
   * with the first of them drains them.
   */
  private scheduleMirror(): void {
    this.windowWrites++;
    if (this.mirrorTimer !== null) return;
    const windowMs = mirrorWindowMs(this.lastWindowWrites, Date.now() - this.lastWindowAt);
    this.mirrorTimer = setTimeout(() => {
      this.mirrorTimer = null;
      this.lastWindowWrites = this.windowWrites;
      this.lastWindowAt = Date.now();
      this.windowWrites = 0;
      this.flush().catch((err: unknown) => {
        // The rows stay in the outbox; the armed alarm retries them.
        this.deps().logger.error("chat outbox: coalesced drain failed", { err });
      });
    }, windowMs);
  }

  /** One drain at a time; a request arriving mid-drain makes it go round once more. */
  private flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    const meta = this.store.meta();
    if (!meta) return;
    let failedAttempts: number | null;
    do {
      this.flushAgain = false;
      failedAttempts = await drainOutbox(this.store, meta, this.deps());
    } while (this.flushAgain && failedAttempts === null);
    // On success the safety-net alarm is left to fire once on an empty outbox (one cheap SELECT)
    // rather than deleted and re-armed around every drain: under traffic that is one setAlarm per
    // 10 s instead of a setAlarm and a deleteAlarm per message.
    if (failedAttempts !== null) {
      this.alarmArmed = true;
      await this.ctx.storage.setAlarm(Date.now() + retryDelayMs(failedAttempts));
    }
  }

  private deps(): Deps {
    this.depsCache ??= createDeps(this.env, { sinks, log: { object: "TicketRoom" } });
    return this.depsCache;
  }
}
