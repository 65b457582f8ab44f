import { ROOM_BUCKET } from "./wire";

/**
 * Paces outgoing frames below the room's per-connection token bucket. Without it, resending a
 * long outbox after a reconnect would draw RATE_LIMITED errors, and ten of those in 30 s close
 * the socket with 1008 (docs/chat-protocol.md, "Limits"). Kept a little under the server's
 * numbers because frames can arrive bunched after a network stall.
 */
export class FramePacer {
  private static readonly capacity = ROOM_BUCKET.capacity - 2;
  private static readonly perMs = (ROOM_BUCKET.refillPerSec * 0.9) / 1000;
  private tokens = FramePacer.capacity;
  private at = Date.now();
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `next` sends one frame and says so (non-null), or returns null when nothing is waiting. */
  constructor(private readonly next: () => string | null) {}

  /** Sends what is waiting, as fast as the bucket allows. */
  kick(): void {
    if (this.timer !== null) return;
    this.refill();
    while (this.tokens >= 1) {
      if (this.next() === null) return;
      this.tokens--;
    }
    // Out of tokens with frames possibly left: come back when one has refilled.
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.kick();
      },
      Math.ceil((1 - this.tokens) / FramePacer.perMs),
    );
  }

  /** A new socket: the room starts it with a full bucket. */
  reset(): void {
    this.tokens = FramePacer.capacity;
    this.at = Date.now();
  }

  /** The room said RATE_LIMITED anyway: empty the bucket and wait for it to refill. */
  backOff(): void {
    this.tokens = 0;
    this.at = Date.now();
    this.stop();
    this.kick();
  }

  /**
   * The room could not store a frame (UNAVAILABLE): send nothing for `ms`, so the resend, and
   * every frame queued behind it, waits for the storage to recover instead of failing again.
   */
  pause(ms: number): void {
    this.stop();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, ms);
  }

  /** Takes a token for a frame that may be skipped (typing) only if plenty are left. */
  tryExtra(): boolean {
    this.refill();
    if (this.tokens < 3) return false;
    this.tokens--;
    return true;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private refill(): void {
    const t = Date.now();
    this.tokens = Math.min(FramePacer.capacity, this.tokens + (t - this.at) * FramePacer.perMs);
    this.at = t;
  }
}
