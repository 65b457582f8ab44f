import { exports } from "cloudflare:workers";
import type { SocketEvent, SocketFactory, SocketLike } from "../../packages/client/src/chat/connection";

type Listener = (ev: SocketEvent) => void;

/**
 * A standard-WebSocket look-alike over the real Worker entry (exports.default.fetch upgrade),
 * so the library under test runs exactly as in a browser: the URL's `?ticket=`/`?since=` and the
 * subprotocols go into the handshake, and a refused upgrade is an error then a 1006 close.
 * `dropIncoming` lets a test lose frames on the way in, as a flaky network does.
 */
export class WorkerdSocket implements SocketLike {
  readyState = 0;
  private ws: WebSocket | null = null;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(
    url: string,
    protocols: string[],
    private readonly dropIncoming: () => (data: string) => boolean,
  ) {
    const u = new URL(url);
    u.protocol = "http:";
    const headers: Record<string, string> = { Upgrade: "websocket" };
    if (protocols.length > 0) headers["Sec-WebSocket-Protocol"] = protocols.join(", ");
    void exports.default.fetch(new Request(u, { headers })).then(
      (res) => this.accepted(res),
      () => this.fail(),
    );
  }

  private accepted(res: Response): void {
    const ws = res.webSocket;
    if (res.status !== 101 || !ws) {
      this.fail();
      return;
    }
    ws.accept();
    if (this.readyState >= 2) {
      // The client gave up on this socket while the handshake was in flight.
      ws.close(1000, "abandoned");
      return;
    }
    this.ws = ws;
    const drop = this.dropIncoming();
    ws.addEventListener("message", (e) => {
      const data = typeof e.data === "string" ? e.data : "";
      if (!drop(data)) this.fire("message", { data });
    });
    ws.addEventListener("close", (e) => {
      this.readyState = 3;
      this.fire("close", { code: e.code, reason: e.reason });
    });
    this.readyState = 1;
    this.fire("open", {});
  }

  private fail(): void {
    this.readyState = 3;
    this.fire("error", {});
    this.fire("close", { code: 1006, reason: "" });
  }

  private fire(type: string, ev: SocketEvent): void {
    for (const l of this.listeners.get(type) ?? []) l(ev);
  }

  addEventListener(type: "open" | "message" | "close" | "error", listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(data: string): void {
    if (!this.ws || this.readyState !== 1) throw new Error("socket not open");
    this.ws.send(data);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    if (this.ws) this.ws.close(code, reason);
    else this.fail();
  }
}

export const BASE_URL = "http://platform.test";

/** The connection options every test client uses: the worker entry for sockets and REST. */
export function workerdTransport(drop: () => (data: string) => boolean = () => () => false): {
  baseUrl: string;
  socket: SocketFactory;
  fetch: (input: string, init?: RequestInit) => Promise<Response>;
  backoff: { initialMs: number; maxMs: number };
  heartbeatMs: number;
} {
  return {
    baseUrl: BASE_URL,
    socket: (url, protocols) => new WorkerdSocket(url, protocols, drop),
    fetch: (input, init) => exports.default.fetch(new Request(input, init)),
    // Small steps keep the tests short; the jitter and doubling are the library's own.
    backoff: { initialMs: 50, maxMs: 400 },
    heartbeatMs: 0,
  };
}
