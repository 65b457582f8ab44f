import { ChannelClient, type ChannelEvents } from "./channel-client";
import type { ConnectionOptions } from "./connection";
import { FramePacer } from "./pacer";
import {
  type Attachment,
  type ChatMessage,
  MAX_BODY_CHARS,
  MAX_REPLAY,
  type Participant,
  type RoomFrame,
  TYPING_THROTTLE_MS,
} from "./wire";

/** Delivery ticks of one's own message: handed to the client, stored by the room, read by someone else. */
export type Tick = "sent" | "acked" | "read";

/** A message still waiting for its ack; resent after every reconnect (the room dedups by client_id). */
export type Pending = { client_id: string; body: string; attachments: Attachment[]; created_at: string };

export type SupportChatEvents = ChannelEvents & {
  welcome: Extract<RoomFrame, { type: "welcome" }>;
  /** A message this client had not seen, whatever the route (live, replay, history, own ack). */
  message: ChatMessage;
  ack: { client_id: string; id: string; seq: number; duplicate: boolean };
  /** A tick of one's own message moved (sent → acked → read). */
  tick: { client_id: string; tick: Tick };
  read: { user_id: string; up_to: number; read_at: string };
  typing: { user_id: string };
  presence: { user_id: string; role: string; status: "online" | "offline" };
  /** A frame the room rejected; a message rejected for good leaves the outbox. */
  error: { code: string; message: string; client_id?: string };
};

export type SupportChatOptions = ConnectionOptions & {
  ticketId: string;
  /** Makes client_ids; must give 1–64 characters of [A-Za-z0-9_.:-], unique per sender. */
  newClientId?: () => string;
};

/**
 * A support ticket's chat (docs/chat-protocol.md, "Chat client"). Holds the conversation
 * keyed by seq, so a message arriving twice (replay after reconnect, REST history, the ack of
 * one's own) is kept once; `messages` is always in seq order.
 */
export class SupportChat extends ChannelClient<SupportChatEvents> {
  readonly ticketId: string;
  private readonly bySeq = new Map<number, ChatMessage>();
  private readonly outboxMap = new Map<string, Pending>();
  /** client_ids already written to the current socket, so the pacer does not send them twice. */
  private readonly sentOnSocket = new Set<string>();
  private readonly readBy = new Map<string, number>();
  /** Seqs the REST history reported read, for receipts sent while this client was away. */
  private readonly readInHistory = new Set<number>();
  private readonly online = new Map<string, Participant>();
  private readonly pacer: FramePacer;
  private readonly newClientId: () => string;
  private me: Participant | null = null;
  private maxSeq = 0;
  private readSent = 0;
  private readWanted = 0;
  private typingAt = 0;
  /** UNAVAILABLE answers since the last ack: how long the next resend waits. */
  private unavailableStreak = 0;
  private historyCursor: string | null | undefined = undefined;
  /** The `since` of the current socket's handshake. */
  private connectSince = 0;
  /**
   * Replayed messages still to come on this socket when the room's replay is capped (more than
   * MAX_REPLAY behind). After the last of them the socket is replaced with `since` moved on:
   * otherwise the first live message or ack would jump maxSeq past the rest for good.
   */
  private replayLeft = 0;

  constructor(private readonly opts: SupportChatOptions) {
    super(
      `/ws/support/${encodeURIComponent(opts.ticketId)}`,
      () => {
        this.connectSince = this.maxSeq;
        return this.maxSeq;
      },
      opts,
    );
    this.ticketId = opts.ticketId;
    this.newClientId = opts.newClientId ?? (() => `c-${crypto.randomUUID()}`);
    this.pacer = new FramePacer(() => this.nextFrame());
    this.conn.on("open", () => {
      this.sentOnSocket.clear();
      this.readSent = 0;
      this.pacer.reset();
    });
  }

  override close(): void {
    this.pacer.stop();
    super.close();
  }

  get self(): Participant | null {
    return this.me;
  }
  get participants(): Participant[] {
    return [...this.online.values()];
  }
  /** Stored messages in seq order. */
  get messages(): ChatMessage[] {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }
  /** Unacked messages, oldest first. */
  get outbox(): Pending[] {
    return [...this.outboxMap.values()];
  }
  get lastSeq(): number {
    return this.maxSeq;
  }
  /** False once the REST history has no older page. */
  get hasOlder(): boolean {
    return this.historyCursor !== null;
  }

  /**
   * Uploads a file into the ticket (POST …/attachments) and returns it as an attachment for
   * `send`. The platform sniffs the type from the bytes; `file.type` only has to agree with them.
   */
  async upload(file: Blob, filename: string): Promise<Attachment> {
    const u = new URL(`${this.ticketPath()}/attachments`, this.opts.baseUrl);
    u.searchParams.set("filename", filename);
    const res = await this.fetcher()(u.toString(), {
      method: "POST",
      headers: {
        authorization: `Bearer ${await this.opts.auth.token()}`,
        "content-type": file.type || "application/octet-stream",
      },
      body: file,
    });
    const body = (await res.json()) as {
      id?: string;
      name: string;
      content_type: string;
      size: number;
      download_path: string;
      error?: { code: string; message: string };
    };
    if (res.status !== 201 || !body.id)
      throw new Error(`upload: ${res.status} ${body.error?.code ?? ""} ${body.error?.message ?? ""}`.trim());
    return {
      id: body.id,
      url: body.download_path,
      name: body.name,
      content_type: body.content_type,
      size: body.size,
    };
  }

  /** An uploaded attachment's bytes (with the token, so e.g. an `<img>` gets an object URL). */
  async download(attachment: Attachment): Promise<Blob> {
    const res = await this.fetcher()(new URL(attachment.url, this.opts.baseUrl).toString(), {
      headers: { authorization: `Bearer ${await this.opts.auth.token()}` },
    });
    if (res.status !== 200) throw new Error(`download: ${res.status}`);
    return res.blob();
  }

  /**
   * Queues a message and returns its client_id; it is sent now or after the next reconnect.
   * Attachments from `upload` (they have an `id`) travel as `attachment_ids`, links as they are.
   */
  send(body: string, attachments: Attachment[] = []): string {
    if (body.length > MAX_BODY_CHARS)
      throw new RangeError(`body is longer than ${MAX_BODY_CHARS} characters`);
    if (body.trim() === "" && attachments.length === 0)
      throw new RangeError("a message needs a body or an attachment");
    const client_id = this.newClientId();
    this.outboxMap.set(client_id, { client_id, body, attachments, created_at: new Date().toISOString() });
    this.emit("tick", { client_id, tick: "sent" });
    this.pacer.kick();
    return client_id;
  }

  /** Marks everything up to `upTo` (default: the newest seq) read for the other side. */
  markRead(upTo = this.maxSeq): void {
    if (upTo <= this.readWanted) return;
    this.readWanted = upTo;
    this.pacer.kick();
  }

  /** Tells the others this user is typing; throttled like the room (extra calls do nothing). */
  typing(): void {
    const t = Date.now();
    if (t - this.typingAt < TYPING_THROTTLE_MS) return;
    // Typing is worth less than a message: it is skipped when the bucket runs low.
    if (!this.pacer.tryExtra()) return;
    if (this.conn.send('{"type":"typing"}')) this.typingAt = t;
  }

  /** The tick of one of one's own messages, by client_id or by the stored message. */
  tickOf(m: { client_id: string | null; seq?: number }): Tick {
    if (m.client_id !== null && this.outboxMap.has(m.client_id)) return "sent";
    let readUpTo = 0;
    for (const [user, upTo] of this.readBy)
      if (user !== this.me?.user_id) readUpTo = Math.max(readUpTo, upTo);
    if (m.seq === undefined) return "acked";
    return m.seq <= readUpTo || this.readInHistory.has(m.seq) ? "read" : "acked";
  }

  /**
   * Loads the next older page of the REST history (newest first), merges it and returns how
   * many messages were new. Before connect(), it sets the point the socket resumes from.
   */
  async loadOlder(limit = 50): Promise<number> {
    if (this.historyCursor === null) return 0;
    const u = new URL(`${this.ticketPath()}/messages`, this.opts.baseUrl);
    u.searchParams.set("order", "desc");
    u.searchParams.set("limit", String(limit));
    if (this.historyCursor) u.searchParams.set("cursor", this.historyCursor);
    const res = await this.fetcher()(u.toString(), {
      headers: { authorization: `Bearer ${await this.opts.auth.token()}` },
    });
    const page = (await res.json()) as {
      items?: Array<ChatMessage & { read_at: string | null }>;
      next_cursor?: string | null;
      error?: { code: string; message: string };
    };
    if (res.status !== 200 || !page.items) {
      throw new Error(`history: ${res.status} ${page.error?.code ?? ""} ${page.error?.message ?? ""}`.trim());
    }
    this.historyCursor = page.next_cursor ?? null;
    let added = 0;
    for (const item of page.items) {
      const { read_at, ...m } = item;
      // read_at is "read by someone other than the sender": what a read frame would have said.
      if (read_at !== null) this.readInHistory.add(m.seq);
      if (this.store(m)) added++;
    }
    return added;
  }

  private ticketPath(): string {
    return `/api/v1/support/tickets/${encodeURIComponent(this.ticketId)}`;
  }

  private fetcher() {
    return this.opts.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  }

  protected onFrame(frame: unknown): void {
    const f = frame as RoomFrame;
    switch (f.type) {
      case "welcome":
        this.me = f.you;
        // The room's seqs are dense, so last_seq − since is how many messages it holds past us.
        this.replayLeft = f.last_seq - this.connectSince > MAX_REPLAY ? MAX_REPLAY : 0;
        this.online.clear();
        for (const p of f.participants) this.online.set(p.user_id, p);
        this.emit("welcome", f);
        this.pacer.kick(); // resend the outbox on the new socket
        return;
      case "message": {
        const { type: _t, ...m } = f;
        // Our own message replayed after a lost ack: it is stored, so it leaves the outbox.
        if (m.sender_id === this.me?.user_id && m.client_id !== null)
          this.settle(m.client_id, m.id, m.seq, true);
        this.store(m);
        if (this.replayLeft > 0 && --this.replayLeft === 0) this.conn.restart();
        return;
      }
      case "ack":
        this.onAck(f);
        return;
      case "read":
        this.noteRead(f.user_id, f.up_to);
        this.emit("read", { user_id: f.user_id, up_to: f.up_to, read_at: f.read_at });
        return;
      case "typing":
        this.emit("typing", { user_id: f.user_id });
        return;
      case "presence":
        if (f.status === "online") this.online.set(f.user_id, { user_id: f.user_id, role: f.role });
        else this.online.delete(f.user_id);
        this.emit("presence", { user_id: f.user_id, role: f.role, status: f.status });
        return;
      case "error":
        this.onError(f);
        return;
    }
  }

  private onAck(f: Extract<RoomFrame, { type: "ack" }>): void {
    const pending = this.outboxMap.get(f.client_id);
    if (pending && this.me && !this.bySeq.has(f.seq)) {
      this.store({
        id: f.id,
        seq: f.seq,
        sender_id: this.me.user_id,
        sender_role: this.me.role,
        body: pending.body,
        attachments: pending.attachments,
        created_at: pending.created_at,
        client_id: f.client_id,
      });
    }
    this.settle(f.client_id, f.id, f.seq, f.duplicate === true);
  }

  /** Takes a stored message out of the outbox (ack, or its replay after a lost ack). */
  private settle(clientId: string, id: string, seq: number, duplicate: boolean): void {
    if (!this.outboxMap.delete(clientId)) return;
    this.sentOnSocket.delete(clientId);
    this.unavailableStreak = 0;
    this.emit("ack", { client_id: clientId, id, seq, duplicate });
    this.emit("tick", { client_id: clientId, tick: this.tickOf({ client_id: clientId, seq }) });
  }

  private onError(f: Extract<RoomFrame, { type: "error" }>): void {
    if (f.code === "RATE_LIMITED") {
      // The frame was dropped, and the error does not say which: everything unacked goes again.
      this.sentOnSocket.clear();
      this.pacer.backOff();
    } else if (f.code === "UNAVAILABLE") {
      // Not stored (the room's storage or D1 failed): it stays in the outbox and goes again, in
      // order with the rest, after a growing pause. Dropping it would lose it for good.
      if (f.client_id !== undefined) this.sentOnSocket.delete(f.client_id);
      // A failed batch answers each of its frames: the streak grows once per round, at its head.
      const head = this.outboxMap.keys().next().value;
      if (f.client_id === undefined || f.client_id === head) {
        this.unavailableStreak = Math.min(this.unavailableStreak + 1, 6);
      }
      const ms = 500 * 2 ** this.unavailableStreak; // 1 s, 2 s … 32 s
      this.pacer.pause(ms * (0.8 + Math.random() * 0.4)); // jittered: a room's clients do not resend in step
    } else if (f.client_id !== undefined && this.outboxMap.delete(f.client_id)) {
      // Rejected on its merits (validation): resending would be rejected again.
      this.sentOnSocket.delete(f.client_id);
    }
    this.emit("error", {
      code: f.code,
      message: f.message,
      ...(f.client_id ? { client_id: f.client_id } : {}),
    });
  }

  private noteRead(userId: string, upTo: number): void {
    if ((this.readBy.get(userId) ?? 0) >= upTo) return;
    this.readBy.set(userId, upTo);
    if (userId === this.me?.user_id) return;
    for (const m of this.bySeq.values()) {
      if (m.sender_id === this.me?.user_id && m.seq <= upTo && m.client_id !== null)
        this.emit("tick", { client_id: m.client_id, tick: this.tickOf(m) });
    }
  }

  /** Stores by seq; false (and no event) when this seq is already known. */
  private store(m: ChatMessage): boolean {
    if (this.bySeq.has(m.seq)) return false;
    this.bySeq.set(m.seq, m);
    this.maxSeq = Math.max(this.maxSeq, m.seq);
    this.emit("message", m);
    return true;
  }

  /** The next frame the pacer may send: unsent outbox entries first, then a pending read. */
  private nextFrame(): string | null {
    // While catching up past a capped replay the socket is about to be replaced: hold the outbox.
    if (!this.conn.isOpen || !this.me || this.replayLeft > 0) return null;
    for (const p of this.outboxMap.values()) {
      if (this.sentOnSocket.has(p.client_id)) continue;
      const frame: Record<string, unknown> = { type: "message", client_id: p.client_id, body: p.body };
      const links = p.attachments.filter((a) => a.id === undefined);
      const ids = p.attachments.flatMap((a) => (a.id === undefined ? [] : [a.id]));
      if (links.length > 0) frame.attachments = links;
      if (ids.length > 0) frame.attachment_ids = ids;
      if (!this.conn.send(JSON.stringify(frame))) return null;
      this.sentOnSocket.add(p.client_id);
      return p.client_id;
    }
    if (this.readWanted > this.readSent) {
      const upTo = this.readWanted;
      if (!this.conn.send(JSON.stringify({ type: "read", up_to: upTo }))) return null;
      this.readSent = upTo;
      return "read";
    }
    return null;
  }
}
