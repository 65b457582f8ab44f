import { Emitter } from "./emitter";
import { TERMINAL_CLOSE_CODES } from "./wire";

/** The part of the standard WebSocket this library uses; browsers', Node 22's and workerd's fit. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (ev: SocketEvent) => void): void;
}
export type SocketEvent = { data?: unknown; code?: number; reason?: string };
export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

/**
 * How a socket authenticates (docs/chat-protocol.md, "Opening a socket"). `token` is called
 * before every connect, so a caller can hand out a refreshed JWT.
 * - `bearer`: `new WebSocket(url, ["bearer", jwt])`; one request per connect.
 * - `ticket`: POST /api/v1/realtime/tickets first, then `?ticket=`; for clients that must keep
 *   the JWT out of the handshake. A ticket is single-use, so every reconnect asks for a new one.
 */
export type Auth = { mode: "bearer" | "ticket"; token: () => string | Promise<string> };

export type ConnectionStatus = "idle" | "connecting" | "open" | "waiting" | "suspended" | "closed";

export type ConnectionOptions = {
  /** The platform's origin, e.g. `https://api.example` (http(s); the socket URL is derived). */
  baseUrl: string;
  auth: Auth;
  backoff?: { initialMs?: number; maxMs?: number };
  /** A ping is sent this often; a socket silent for twice as long is treated as dead. 0: off. */
  heartbeatMs?: number;
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  socket?: SocketFactory;
  random?: () => number;
};

export type ConnectionEvents = {
  status: { status: ConnectionStatus; attempt: number; delayMs?: number };
  /** Each parsed JSON frame, in arrival order. `fresh` is true for a connection's first frame. */
  frame: { frame: unknown; fresh: boolean };
  /** A new socket is open; the first frame has not arrived yet. */
  open: undefined;
  /** The connection gave up: a terminal close code or an auth refusal. */
  closed: { code: number; reason: string };
};

/** Thrown by ticket issuing when a retry could not succeed (401/403/404/409/400). */
class FatalAuthError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const defaultSocket: SocketFactory = (url, protocols) => {
  const WS = (globalThis as unknown as { WebSocket?: new (u: string, p: string[]) => SocketLike }).WebSocket;
  if (!WS) throw new Error("no global WebSocket: pass options.socket");
  return new WS(url, protocols);
};

/**
 * The reusable connection core: auth, reconnect with exponential backoff and jitter, `?since=`
 * resume, heartbeat. It knows nothing of the frames beyond JSON; ticket rooms and live feeds
 * build on it (SupportChat, LiveFeed) and supply the resume point through `since`.
 */
export class ResumableConnection extends Emitter<ConnectionEvents> {
  private ws: SocketLike | null = null;
  private attempt = 0;
  private statusValue: ConnectionStatus = "idle";
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private beatTimer: ReturnType<typeof setInterval> | null = null;
  private lastHeard = 0;
  private fresh = false;
  /** Bumped by every open() and teardown(): an open() that awaited past a newer one gives up. */
  private generation = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly heartbeatMs: number;
  private readonly random: () => number;
  private readonly fetcher: (input: string, init?: RequestInit) => Promise<Response>;
  private readonly socketFactory: SocketFactory;

  constructor(
    private readonly path: string,
    private readonly since: () => number | null,
    private readonly opts: ConnectionOptions,
  ) {
    super();
    this.initialMs = opts.backoff?.initialMs ?? 500;
    this.maxMs = opts.backoff?.maxMs ?? 30_000;
    this.heartbeatMs = opts.heartbeatMs ?? 25_000;
    this.random = opts.random ?? Math.random;
    this.fetcher = opts.fetch ?? ((input, init) => fetch(input, init));
    this.socketFactory = opts.socket ?? defaultSocket;
  }

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  /** True when frames can be sent now. */
  get isOpen(): boolean {
    return this.statusValue === "open" && this.ws?.readyState === 1;
  }

  start(): void {
    if (this.statusValue === "idle" || this.statusValue === "suspended") void this.open();
  }

  /** Sends a text frame; false when there is no open socket (the caller keeps it for later). */
  send(text: string): boolean {
    if (!this.isOpen || !this.ws) return false;
    try {
      this.ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /** Drops the socket and stays down until resume() (a page going offline, a tab hidden). */
  suspend(): void {
    if (this.statusValue === "closed") return;
    this.teardown(1000, "suspended");
    this.setStatus("suspended");
  }

  /** Reconnects now, skipping any backoff wait (the network came back). */
  resume(): void {
    if (this.statusValue === "closed" || this.statusValue === "connecting" || this.statusValue === "open")
      return;
    this.attempt = 0;
    void this.open();
  }

  /**
   * Replaces an open socket at once, without a backoff wait: the server accepted us, so this
   * is not a failure (SupportChat uses it to resume past the room's replay cap).
   */
  restart(): void {
    if (this.statusValue !== "open") return;
    this.teardown(1000, "resuming");
    void this.open();
  }

  /** Closes for good. */
  close(): void {
    this.teardown(1000, "client closed");
    this.finish(1000, "client closed");
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    this.clearRetry();
    this.setStatus("connecting");
    let url: string;
    let protocols: string[];
    try {
      ({ url, protocols } = await this.target());
    } catch (err) {
      if (generation !== this.generation) return;
      if (err instanceof FatalAuthError) return this.finish(4401, err.message);
      return this.retryLater(err instanceof RetryAfter ? err.ms : 0);
    }
    // suspend() or close() may have run while the ticket was being issued, and resume() may
    // have started another open() since: only the newest one may make a socket.
    if (this.statusValue !== "connecting" || generation !== this.generation) return;
    let ws: SocketLike;
    try {
      ws = this.socketFactory(url, protocols);
    } catch {
      return this.retryLater(0);
    }
    this.ws = ws;
    this.fresh = true;
    // Every handler checks it still belongs to the current socket: a replaced socket's late
    // events must not touch the new one's state.
    ws.addEventListener("open", () => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      this.setStatus("open");
      this.startHeartbeat();
      this.emit("open", undefined);
    });
    ws.addEventListener("message", (ev) => {
      if (this.ws !== ws) return;
      this.lastHeard = Date.now();
      if (typeof ev.data !== "string" || ev.data === "pong") return;
      let frame: unknown;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return; // the server only sends JSON; anything else is not ours to interpret
      }
      const fresh = this.fresh;
      this.fresh = false;
      // The server accepted us and spoke: the next drop starts the backoff from the bottom.
      this.attempt = 0;
      this.emit("frame", { frame, fresh });
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopHeartbeat();
      const code = ev.code ?? 1006;
      if (TERMINAL_CLOSE_CODES.has(code)) return this.finish(code, ev.reason ?? "");
      this.retryLater(0);
    });
    // An error is always followed by a close event, which does the work.
    ws.addEventListener("error", () => {});
  }

  /** The URL and subprotocols for the next attempt. */
  private async target(): Promise<{ url: string; protocols: string[] }> {
    const u = new URL(this.path, this.opts.baseUrl);
    const since = this.since();
    if (since !== null) u.searchParams.set("since", String(since));
    const token = await this.opts.auth.token();
    if (this.opts.auth.mode === "ticket") u.searchParams.set("ticket", await this.issueTicket(token));
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return { url: u.toString(), protocols: this.opts.auth.mode === "bearer" ? ["bearer", token] : [] };
  }

  private async issueTicket(token: string): Promise<string> {
    const res = await this.fetcher(new URL("/api/v1/realtime/tickets", this.opts.baseUrl).toString(), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ path: this.path }),
    });
    const body = (await res.json().catch(() => null)) as {
      ticket?: string;
      error?: { message?: string };
    } | null;
    if (res.status === 201 && typeof body?.ticket === "string") return body.ticket;
    const message = `connect ticket refused: ${res.status} ${body?.error?.message ?? ""}`.trim();
    if (res.status === 429) throw new RetryAfter(retryAfterMs(res.headers.get("retry-after")));
    if (res.status >= 400 && res.status < 500) throw new FatalAuthError(res.status, message);
    throw new Error(message);
  }

  /** Exponential backoff with jitter: half the step fixed, half random, so clients spread out. */
  private retryLater(minMs: number): void {
    if (this.statusValue === "closed" || this.statusValue === "suspended") return;
    const step = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    const delayMs = Math.max(
      Number.isFinite(minMs) ? minMs : 0,
      Math.round(step / 2 + (this.random() * step) / 2),
    );
    this.attempt++;
    this.setStatus("waiting", delayMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.open();
    }, delayMs);
  }

  private startHeartbeat(): void {
    if (this.heartbeatMs <= 0) return;
    this.stopHeartbeat();
    this.beatTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > 2 * this.heartbeatMs) {
        // Half-open network: no close event will ever come, so drop the socket ourselves.
        this.teardown(4001, "heartbeat timeout");
        this.retryLater(0);
        return;
      }
      this.send("ping");
    }, this.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.beatTimer !== null) clearInterval(this.beatTimer);
    this.beatTimer = null;
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Detaches and closes the current socket; its late events are ignored. */
  private teardown(code: number, reason: string): void {
    this.generation++;
    this.clearRetry();
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = null;
    try {
      ws?.close(code, reason);
    } catch {
      // Already closing.
    }
  }

  private finish(code: number, reason: string): void {
    if (this.statusValue === "closed") return;
    this.clearRetry();
    this.stopHeartbeat();
    this.setStatus("closed");
    this.emit("closed", { code, reason });
  }

  private setStatus(status: ConnectionStatus, delayMs?: number): void {
    this.statusValue = status;
    this.emit("status", { status, attempt: this.attempt, ...(delayMs === undefined ? {} : { delayMs }) });
  }
}

/**
 * Retry-After is delay-seconds or an HTTP-date (RFC 9110 §10.2.3); anything else, or nothing,
 * counts as one second. Never NaN: a NaN timer fires at once, and every client would hammer
 * the ticket endpoint that just asked them to slow down.
 */
function retryAfterMs(header: string | null): number {
  const v = header?.trim() ?? "";
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = v === "" ? Number.NaN : Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : 1000;
}

class RetryAfter extends Error {
  constructor(readonly ms: number) {
    super(`retry after ${ms} ms`);
  }
}
