import type { Deps } from "../platform/deps";
import { drainOutbox, mirrorWindowMs, retryDelayMs } from "./room-mirror";
import type { RoomStore } from "./room-store";

/**
 * When a room drains its outbox to D1 (room-mirror.ts does the draining): a coalescing timer while
 * the instance is up, and a safety-net alarm that redoes it after an eviction or a failure.
 * Everything here is in memory except the alarm, which is the durable backstop.
 */
export class MirrorSchedule {
  private flushing: Promise<void> | null = null;
  private flushAgain = false;
  /** The pending coalesced drain, if any. */
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Writes since the pending timer started; how many the previous window collected, and when it closed. */
  private windowWrites = 0;
  private lastWindowWrites = 0;
  private lastWindowAt = 0;
  /**
   * Whether this instance knows a safety-net alarm is set. Unknown after a wake-up, so the first
   * write arms it again (a harmless overwrite); then one setAlarm per alarm period, not per message.
   */
  private alarmArmed = false;

  constructor(
    private readonly store: RoomStore,
    private readonly storage: DurableObjectStorage,
    private readonly deps: () => Deps,
  ) {}

  /**
   * The safety net for a write at `t`, set in the same synchronous step as the write (the output
   * gate holds the ack until both are durable): if the instance dies before the mirror, the alarm
   * redoes it.
   */
  armAlarm(t: number): void {
    if (this.alarmArmed) return;
    this.alarmArmed = true;
    // Not awaited (the output gate holds the ack until it is durable); a failure is logged, and
    // the next write arms it again, rather than escaping as an unhandled rejection.
    this.storage.setAlarm(t + retryDelayMs(1)).catch((err: unknown) => {
      this.alarmArmed = false;
      this.deps().logger.error("chat: could not arm the safety-net alarm", { err });
    });
  }

  /**
   * Coalesces the D1 mirror after a write: the first write after a drain starts a short timer, and
   * every write until it fires rides in the same drain (one D1 batch instead of one round trip per
   * message; at 10 msg/s per room the per-message round trips saturated the CPU,
   * bench/notes/chat.md). Acks and delivery never wait for it; only the REST history lags, by at
   * most the window (mirrorWindowMs: longer while the room stays busy) plus the drain. If the
   * instance is evicted or hibernates first, the timer is gone but the writes are stored and the
   * alarm armed with the first of them drains them.
   */
  wrote(): void {
    this.windowWrites++;
    if (this.timer !== null) return;
    const windowMs = mirrorWindowMs(this.lastWindowWrites, Date.now() - this.lastWindowAt);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.lastWindowWrites = this.windowWrites;
      this.lastWindowAt = Date.now();
      this.windowWrites = 0;
      this.flush().catch((err: unknown) => {
        // The rows stay in the outbox; the armed alarm retries them.
        this.deps().logger.error("chat outbox: coalesced drain failed", { err });
      });
    }, windowMs);
  }

  /** The room's alarm: the one that is running is spent; the drain sets a new one if work remains. */
  alarm(): Promise<void> {
    this.alarmArmed = false;
    return this.flush();
  }

  /**
   * Before the room's copy is erased: no timer left, and no drain in flight, which holds messages
   * and outbox rows it read before the erase and would write them to D1 (and move the cursor,
   * re-arm the alarm) after the caller's D1 delete. The caller erases right after this resolves:
   * only microtasks run in between, and with the sockets closed and the timer cleared nothing
   * starts another drain (an alarm is an event, so it cannot run in that gap either).
   */
  async stop(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    while (this.flushing) await this.flushing.catch(() => undefined);
  }

  /** After the erase: no alarm left to wake an empty room. */
  async disarm(): Promise<void> {
    this.alarmArmed = false;
    await this.storage.deleteAlarm();
  }

  /** One drain at a time; a request arriving mid-drain makes it go round once more. */
  flush(): Promise<void> {
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
      await this.storage.setAlarm(Date.now() + retryDelayMs(failedAttempts));
    }
  }
}
