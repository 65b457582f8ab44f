import type { GuardState } from "./frame-guard";
import type { Participant, ServerFrame } from "./protocol";

/** What each socket carries through hibernation (serializeAttachment). */
export type Conn = { userId: string; role: string; typingAt: number; guard: GuardState };

export const send = (ws: WebSocket, frame: ServerFrame) => {
  try {
    ws.send(JSON.stringify(frame));
  } catch {
    // The socket is closing; its close handler cleans up presence.
  }
};

/**
 * A room's open sockets and their decoded attachments, kept for the instance's life (as
 * partyserver does): per frame, `deserializeAttachment` and `getWebSockets()` (a fresh array of
 * wrappers) showed in profiles. Rebuilt from the runtime on first use after a wake-up, so it
 * holds nothing the runtime does not. The caller writes an attachment back only when a field that
 * must survive hibernation changes (TicketRoom's `webSocketMessage`).
 */
export class RoomSockets {
  private cache: Map<WebSocket, Conn> | null = null;

  constructor(private readonly ctx: DurableObjectState) {}

  private live(): Map<WebSocket, Conn> {
    if (this.cache === null) {
      this.cache = new Map();
      for (const ws of this.ctx.getWebSockets()) {
        const c = ws.deserializeAttachment() as Conn | null;
        if (c) this.cache.set(ws, c);
      }
    }
    return this.cache;
  }

  /** Accepts `ws` as hibernatable, tagged with its user, and records its attachment. */
  add(ws: WebSocket, conn: Conn): void {
    const live = this.live(); // built before the accept, so the new socket is not read twice
    this.ctx.acceptWebSocket(ws, [`user:${conn.userId}`]);
    ws.serializeAttachment(conn);
    live.set(ws, conn);
  }

  remove(ws: WebSocket): void {
    this.live().delete(ws);
  }

  connOf(ws: WebSocket): Conn | null {
    const live = this.live();
    const cached = live.get(ws);
    if (cached) return cached;
    // Accepted by an earlier instance but not seen by this one's rebuild (cannot normally happen).
    const c = ws.deserializeAttachment() as Conn | null;
    if (c) live.set(ws, c);
    return c;
  }

  /** Whether `userId` has an open socket here (a linear scan: a room holds at most a few hundred). */
  isOnline(userId: string): boolean {
    for (const [ws, c] of this.live())
      if (c.userId === userId && ws.readyState === WebSocket.OPEN) return true;
    return false;
  }

  participants(): Participant[] {
    const seen = new Map<string, Participant>();
    for (const [ws, c] of this.live()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      if (!seen.has(c.userId)) seen.set(c.userId, { user_id: c.userId, role: c.role });
    }
    return [...seen.values()];
  }

  broadcast(frame: ServerFrame, except?: WebSocket): void {
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
}
