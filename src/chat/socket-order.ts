/**
 * Keeps one socket's frames in arrival order across the one await a frame may take (a message
 * with `attachment_ids` is checked against D1 before the room accepts it). Without it a plain
 * message sent after a screenshot was sequenced first, and a close for a bad frame went out
 * before the screenshot's ack, which the client then never saw.
 *
 * A frame's effects run at once when nothing of its socket is waiting (the common path stays
 * synchronous), else after what is. Other sockets are not held up. In memory only: after an
 * eviction nothing is waiting, and the frames that were had not been acked.
 */
/** Longer than SupportChat's longest pause before a resend (32 s, +20% jitter). */
export const HOLD_MS = 45_000;

export class SocketOrder {
  private readonly tails = new Map<WebSocket, Promise<void>>();
  private readonly ended = new WeakSet<WebSocket>();
  private readonly held = new WeakMap<WebSocket, { clientId: string; until: number }>();

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Runs `step` in order; returns what the event handler should await, if anything. */
  run(ws: WebSocket, step: () => void | Promise<void>): Promise<void> | undefined {
    const tail = this.tails.get(ws);
    if (!tail) {
      // The common path: nothing waiting, so no closure or promise per frame.
      if (!this.isOpen(ws)) return undefined;
      const r = step();
      return r instanceof Promise ? this.track(ws, r) : undefined;
    }
    return this.track(
      ws,
      tail.then(() => (this.isOpen(ws) ? step() : undefined)),
    );
  }

  /**
   * The room closed this socket: steps still queued for it, and a check still in flight, are
   * dropped (nothing of theirs was accepted). The socket's readyState covers a wake-up, when
   * this in-memory set is empty again.
   */
  end(ws: WebSocket): void {
    this.ended.add(ws);
  }

  isOpen(ws: WebSocket): boolean {
    return !this.ended.has(ws) && ws.readyState === WebSocket.OPEN;
  }

  /**
   * A message of this socket was answered UNAVAILABLE (its check or its write failed): every
   * later message of the socket is refused too, until that one is sent again (the client resends
   * its outbox in order, so it comes first) or HOLD_MS pass. Otherwise a message the client sent
   * before it saw the UNAVAILABLE would be stored ahead of the resend. The earliest refusal holds.
   */
  holdUntilResent(ws: WebSocket, clientId: string, now: number): void {
    if (!this.held.has(ws)) this.held.set(ws, { clientId, until: now + HOLD_MS });
  }

  /** Whether this message must be refused (UNAVAILABLE) to keep the socket's order. */
  mustRefuse(ws: WebSocket, clientId: string, now: number): boolean {
    const hold = this.held.get(ws);
    if (!hold) return false;
    if (hold.clientId === clientId || now >= hold.until) {
      this.held.delete(ws);
      return false;
    }
    return true;
  }

  private track(ws: WebSocket, p: Promise<void>): Promise<void> {
    // Steps answer their own failures (an error frame); a throw is a bug, logged, and must not
    // stall the socket's queue.
    const settled = p.catch(this.onError);
    this.tails.set(ws, settled);
    void settled.then(() => {
      if (this.tails.get(ws) === settled) this.tails.delete(ws);
    });
    return settled;
  }
}
