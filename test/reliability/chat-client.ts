import { upgrade } from "../helpers/http";
import type { Caller } from "../payments/helpers";

type Wire = { type: string; [k: string]: unknown };
export type Ack = { client_id: string; id: string; seq: number; duplicate?: boolean };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Frames per second a client allows itself (the room refills 2/s). */
const RATE = 1.8;

/**
 * Client-side pacing under the room's per-connection bucket (burst 10, 2 frames/s): kept a
 * little below it, since a rejected frame counts as a strike and 10 strikes close the socket.
 */
class Pacer {
  private tokens = 8;
  private at = Date.now();
  async take(): Promise<void> {
    for (;;) {
      const t = Date.now();
      this.tokens = Math.min(8, this.tokens + ((t - this.at) / 1000) * RATE);
      this.at = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / RATE) * 1000));
    }
  }
}

/**
 * A chat participant that behaves like a careful real client: it keeps every message until its
 * ack arrives, resends unacked ones with the same client_id, and on reconnect resumes with
 * `?since=<last seq seen>`. It records everything it observed so a test can check for loss,
 * duplication and order.
 */
export class ChatClient {
  private ws: WebSocket | null = null;
  private pacer = new Pacer();
  /** seq → message id, as this client saw the ticket (others' messages, replays and its own acks). */
  readonly view = new Map<number, string>();
  /** Every ack received, by client_id (a resend adds a `duplicate` one). */
  readonly acks = new Map<string, Ack[]>();
  readonly pending = new Map<string, string>();
  /** Message frames received (live or replayed), counted to show nothing arrived twice per connection. */
  received = 0;
  /** A seq seen again on one connection, or a seq that maps to two ids: both must stay 0. */
  conflicts: string[] = [];
  errors: Wire[] = [];
  connections = 0;
  private connSeen = new Set<number>();

  constructor(
    readonly caller: Caller,
    readonly ticketId: string,
    readonly name: string,
  ) {}

  get lastSeq(): number {
    let max = 0;
    for (const s of this.view.keys()) if (s > max) max = s;
    return max;
  }

  private note(seq: number, id: string) {
    const had = this.view.get(seq);
    if (had !== undefined && had !== id) this.conflicts.push(`${this.name}: seq ${seq} is ${had} and ${id}`);
    this.view.set(seq, id);
  }

  async connect(): Promise<void> {
    const since = this.lastSeq;
    const res = await upgrade(`/ws/support/${this.ticketId}?since=${since}`, {
      authorization: `Bearer ${this.caller.token}`,
    });
    if (res.status !== 101 || !res.webSocket) throw new Error(`${this.name}: upgrade ${res.status}`);
    const ws = res.webSocket;
    ws.accept();
    this.connections++;
    this.connSeen = new Set();
    this.pacer = new Pacer();
    const welcomed = new Promise<void>((resolve) => {
      ws.addEventListener("message", (e) => {
        const f = JSON.parse(String(e.data)) as Wire;
        if (f.type === "welcome") resolve();
        else if (f.type === "message") {
          const seq = f.seq as number;
          this.received++;
          if (this.connSeen.has(seq)) this.conflicts.push(`${this.name}: seq ${seq} delivered twice`);
          this.connSeen.add(seq);
          this.note(seq, f.id as string);
        } else if (f.type === "ack") {
          const ack = f as unknown as Ack;
          const list = this.acks.get(ack.client_id) ?? [];
          list.push(ack);
          this.acks.set(ack.client_id, list);
          this.pending.delete(ack.client_id);
          this.note(ack.seq, ack.id);
        } else if (f.type === "error") this.errors.push(f);
      });
    });
    this.ws = ws;
    await welcomed;
  }

  /** Sends (or resends) one message, paced. */
  async send(clientId: string, body: string): Promise<void> {
    this.pending.set(clientId, body);
    await this.pacer.take();
    this.ws?.send(JSON.stringify({ type: "message", client_id: clientId, body }));
  }

  /** Drops the connection (like a flaky network) and comes back with ?since=, resending what was unacked. */
  async reconnect(): Promise<void> {
    this.ws?.close(1000, "flaky network");
    this.ws = null;
    await sleep(20);
    await this.connect();
    for (const [cid, body] of [...this.pending]) await this.send(cid, body);
  }

  /** Waits for every ack, resending what stays unacked (bounded). */
  async settle(rounds = 20): Promise<void> {
    for (let i = 0; i < rounds && this.pending.size > 0; i++) {
      await sleep(400);
      for (const [cid, body] of [...this.pending]) await this.send(cid, body);
    }
    if (this.pending.size > 0) throw new Error(`${this.name}: ${this.pending.size} messages never acked`);
  }

  close() {
    this.ws?.close(1000, "done");
    this.ws = null;
  }
}
