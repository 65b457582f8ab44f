import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { TicketRoom } from "../../src/chat/ticket-room";
import type { Deps } from "../../src/platform/deps";
import { newCaller } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { api, postJson, upgrade } from "../helpers/http";

export type Frame = { type: string; [k: string]: unknown };
export type Caller = Awaited<ReturnType<typeof newCaller>>;

/** A client socket that buffers every frame so a test can await the next one it cares about. */
export class Sock {
  readonly frames: Frame[] = [];
  readonly seen: Frame[] = [];
  private waiters: Array<() => void> = [];
  closeEvent: { code: number; reason: string } | null = null;

  constructor(
    readonly ws: WebSocket,
    readonly res: Response,
  ) {
    ws.addEventListener("message", (e) => {
      const text = String(e.data);
      // "pong" is the runtime's auto-response to "ping"; everything else is JSON.
      const frame = text === "pong" ? { type: "pong" } : (JSON.parse(text) as Frame);
      this.frames.push(frame);
      this.seen.push(frame);
      this.wake();
    });
    ws.addEventListener("close", (e) => {
      this.closeEvent = { code: e.code, reason: e.reason };
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private changed(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Removes and returns the first buffered (or next arriving) frame matching `pred`. */
  async next(pred: (f: Frame) => boolean = () => true, ms = 5000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0] as Frame;
      const left = deadline - Date.now();
      if (left <= 0 || this.closeEvent) {
        throw new Error(
          `no matching frame; buffered: ${JSON.stringify(this.frames)} close: ${JSON.stringify(this.closeEvent)}`,
        );
      }
      await this.changed(left);
    }
  }

  nextOf(type: string, extra: (f: Frame) => boolean = () => true, ms?: number) {
    return this.next((f) => f.type === type && extra(f), ms);
  }

  async closed(ms = 5000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + ms;
    while (!this.closeEvent) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("socket did not close");
      await this.changed(left);
    }
    return this.closeEvent;
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  close() {
    if (!this.closeEvent) this.ws.close(1000, "bye");
  }
}

/** Opens a socket or fails with the refusal body, which makes broken tests readable. */
export async function connect(path: string, headers: Record<string, string> = {}): Promise<Sock> {
  const res = await upgrade(path, headers);
  if (res.status !== 101 || !res.webSocket)
    throw new Error(`upgrade refused ${res.status}: ${await res.text()}`);
  res.webSocket.accept();
  return new Sock(res.webSocket, res);
}

export const bearer = (c: Caller) => ({ authorization: `Bearer ${c.token}` });

/** Connects and consumes the welcome frame. */
export async function join(c: Caller, ticketId: string, query = ""): Promise<Sock> {
  const s = await connect(`/ws/support/${ticketId}${query}`, bearer(c));
  await s.nextOf("welcome");
  return s;
}

export async function openTicket(owner: Caller, body: Record<string, unknown> = {}) {
  const res = await postJson("/api/v1/support/tickets", { subject: "Help", ...body }, owner.headers);
  return bodyOf(res, "POST /support/tickets", 201);
}

/**
 * A settled payment from `userId` to `merchantId`, written straight to D1: the relation a user
 * needs before a ticket may name that merchant (src/chat/tickets.service.ts).
 */
export async function settledPayment(userId: string, merchantId: string): Promise<void> {
  const t = Date.now();
  await env.DB.prepare(
    `INSERT INTO payments (id, user_id, merchant_id, amount, currency, status, source, metadata, created_at, updated_at)
     VALUES (?, ?, ?, 1000, 'usd', 'succeeded', 'direct', '{}', ?, ?)`,
  )
    .bind(crypto.randomUUID(), userId, merchantId, t, t)
    .run();
}

export const roomStub = (ticketId: string) => env.TICKET_ROOM.getByName(ticketId);

export const msg = (client_id: string, body = `hello ${client_id}`) => ({ type: "message", client_id, body });

/** A 1x1 PNG, uploaded to a ticket as a `ready` attachment; answers its id. */
export async function uploadedPng(who: Caller, ticketId: string): Promise<{ id: string }> {
  const png = Uint8Array.from(
    atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="),
    (ch) => ch.charCodeAt(0),
  );
  const res = await api(`/api/v1/support/tickets/${ticketId}/attachments?filename=shot.png`, {
    method: "POST",
    headers: { authorization: `Bearer ${who.token}`, "content-type": "image/png" },
    body: png,
  });
  return bodyOf(res, "POST /support/tickets/:id/attachments", 201);
}

/** A new owner's ticket with one uploaded screenshot, and the owner's socket in its room. */
export async function ownerWithScreenshot() {
  const owner = await newCaller("user");
  const { id } = await openTicket(owner);
  const a = await uploadedPng(owner, id);
  const o = await join(owner, id);
  return { owner, id, a, o };
}

/** A new owner's ticket whose room has stored (and acked) one message, and the owner's socket. */
export async function ownerWithOneMessage(clientId: string) {
  const owner = await newCaller("user");
  const { id } = await openTicket(owner);
  const o = await join(owner, id);
  o.send(msg(clientId));
  await o.nextOf("ack");
  return { owner, id, o };
}

/** Runs `step` inside the ticket's room with its first socket, as the runtime hands events to it. */
export const inRoomWithSocket = (
  ticketId: string,
  step: (room: TicketRoom, ws: WebSocket) => Promise<void>,
) =>
  runInDurableObject(roomStub(ticketId), async (room: TicketRoom, state) => {
    const [ws] = state.getWebSockets();
    await step(room, ws as WebSocket);
  });

/** The client_ids in the room's own log, in seq order. */
export const storedClientIds = (ticketId: string) =>
  runInDurableObject(roomStub(ticketId), (_o, state) =>
    state.storage.sql
      .exec<{ client_id: string }>("SELECT client_id FROM messages ORDER BY seq")
      .toArray()
      .map((r) => r.client_id),
  );

/** The room's attachment check answers after `ms` (a slow D1 round trip), then as usual. */
export const slowAttachmentCheck = (ticketId: string, ms: number) =>
  runInDurableObject(roomStub(ticketId), (room) => {
    const r = room as unknown as { uploadedFiles: (...a: unknown[]) => Promise<unknown> };
    const real = r.uploadedFiles.bind(room);
    r.uploadedFiles = async (...a: unknown[]) => {
      await new Promise((res) => setTimeout(res, ms));
      return real(...a);
    };
  });

/**
 * The room's SQLite refuses the insert of `clientId`'s message as a full disk does (a statement
 * error, the transaction survives). Answers the way to lift it.
 */
export async function failInsertOf(ticketId: string, clientId: string): Promise<() => Promise<void>> {
  const trigger = `fail_${clientId.replace(/\W/g, "_")}`;
  await runInDurableObject(roomStub(ticketId), (_r, state) => {
    state.storage.sql.exec(
      `CREATE TRIGGER ${trigger} BEFORE INSERT ON messages WHEN NEW.client_id = '${clientId}' BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
    );
  });
  return () =>
    runInDurableObject(roomStub(ticketId), (_r, state) => {
      state.storage.sql.exec(`DROP TRIGGER IF EXISTS ${trigger}`);
    });
}

/** A dropped D1 connection, as the room's `db.select` would throw it. */
export const d1Lost = () => {
  throw new Error("D1_ERROR: Network connection lost.");
};

/**
 * Replaces the room's D1 `select` for the calls (counted from 1) that `standIn` answers a
 * function for; the others go to D1 as usual.
 */
export const interceptRoomSelects = (ticketId: string, standIn: (n: number) => (() => unknown) | undefined) =>
  runInDurableObject(roomStub(ticketId), (room) => {
    const r = room as unknown as { deps: () => Deps };
    const real = r.deps.bind(room);
    let n = 0;
    r.deps = () => {
      const d = real();
      const db = new Proxy(d.db, {
        get(target, key, receiver) {
          const fake = key === "select" ? standIn(++n) : undefined;
          return fake ?? Reflect.get(target, key, receiver);
        },
      });
      return { ...d, db } as Deps;
    };
  });
