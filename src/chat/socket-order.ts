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
export class SocketOrder {
  private readonly tails = new Map<WebSocket, Promise<void>>();
  private readonly ended = new WeakSet<WebSocket>();

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Runs `step` in order; returns what the event handler should await, if anything. */
  run(ws: WebSocket, step: () => void | Promise<void>): Promise<void> | undefined {
    const tail = this.tails.get(ws);
    const guarded = () => (this.ended.has(ws) ? undefined : step());
    if (!tail) {
      const r = guarded();
      return r instanceof Promise ? this.track(ws, r) : undefined;
    }
    return this.track(ws, tail.then(guarded));
  }

  /** The room closed this socket: steps still queued for it are dropped (nothing of theirs was accepted). */
  end(ws: WebSocket): void {
    this.ended.add(ws);
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
