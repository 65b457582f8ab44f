import { ChannelClient, type ChannelEvents } from "./channel-client";
import type { ConnectionOptions } from "./connection";
import type { LiveFrame } from "./wire";

export type LiveEventFrame = Extract<LiveFrame, { type: "event" }>;

export type LiveFeedEvents = ChannelEvents & {
  welcome: Extract<LiveFrame, { type: "welcome" }>;
  /** Each event once, in seq order, across reconnects. */
  event: LiveEventFrame;
  /**
   * The gap since the last event seen is older than the channel keeps (500 events): some were
   * never replayed, so the caller should reload its view from the REST API.
   */
  truncated: { since: number; oldest_seq: number };
};

export type LiveFeedOptions = ConnectionOptions & {
  /** `merchant:<id>` or `admin:<id>`, as in the welcome frame. */
  channel: `merchant:${string}` | `admin:${string}`;
  /** Resume after this seq on the first connect; default: live traffic only. */
  since?: number;
};

/** A merchant's or admin's live feed (docs/chat-protocol.md, "Live channels"), read-only. */
export class LiveFeed extends ChannelClient<LiveFeedEvents> {
  private last: number | null;

  constructor(opts: LiveFeedOptions) {
    const sep = opts.channel.indexOf(":");
    const path = `/ws/${opts.channel.slice(0, sep)}/${encodeURIComponent(opts.channel.slice(sep + 1))}`;
    super(path, () => this.last, opts);
    this.last = opts.since ?? null;
  }

  get lastSeq(): number | null {
    return this.last;
  }

  protected onFrame(frame: unknown): void {
    const f = frame as LiveFrame;
    if (f.type === "welcome") {
      // From here on every reconnect resumes; the first socket without `since` starts live.
      if (f.truncated && this.last !== null)
        this.emit("truncated", { since: this.last, oldest_seq: f.oldest_seq });
      if (this.last === null) this.last = f.last_seq;
      this.emit("welcome", f);
      return;
    }
    // Replay and live traffic arrive in seq order; anything at or below the last seen is a repeat.
    if (f.type === "event" && (this.last === null || f.seq > this.last)) {
      this.last = f.seq;
      this.emit("event", f);
    }
  }
}
