import { type ConnectionOptions, type ConnectionStatus, ResumableConnection } from "./connection";
import { Emitter } from "./emitter";

export type ChannelEvents = {
  status: { status: ConnectionStatus; attempt: number; delayMs?: number };
  /** The client gave up for good: a terminal close code (e.g. 4000 ticket closed) or a refused ticket. */
  closed: { code: number; reason: string };
};

/**
 * What SupportChat and LiveFeed share: one ResumableConnection, its lifecycle and status
 * events. A subclass reads frames and says where to resume (`since`, read before each connect).
 */
export abstract class ChannelClient<E extends ChannelEvents> extends Emitter<E> {
  protected readonly conn: ResumableConnection;

  constructor(path: string, since: () => number | null, opts: ConnectionOptions) {
    super();
    this.conn = new ResumableConnection(path, since, opts);
    this.conn.on("frame", ({ frame }) => this.onFrame(frame));
    this.conn.on("status", (s) => this.emit("status", s as E["status"]));
    this.conn.on("closed", (c) => this.emit("closed", c as E["closed"]));
  }

  protected abstract onFrame(frame: unknown): void;

  get status(): ConnectionStatus {
    return this.conn.status;
  }
  /** Opens the socket; it reconnects by itself until close() or a terminal close. */
  connect(): void {
    this.conn.start();
  }
  /** Drops the socket and waits for resume() (the page went offline). */
  suspend(): void {
    this.conn.suspend();
  }
  /** Reconnects now, skipping the backoff wait. */
  resume(): void {
    this.conn.resume();
  }
  close(): void {
    this.conn.close();
  }
}
