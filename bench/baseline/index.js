import { DurableObject } from "cloudflare:workers";

/**
 * Bare broadcast room: accepts hibernatable sockets and relays every text frame to all of them,
 * echoing an ack to the sender. With `persist=1` on the connect URL it also appends each frame
 * to the object's SQLite first, which is the floor for a room that stores its history.
 */
export class BareRoom extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)");
  }

  async fetch(request) {
    const pair = new WebSocketPair();
    const persist = new URL(request.url).searchParams.get("persist") === "1";
    this.ctx.acceptWebSocket(pair[1], [persist ? "persist" : "plain"]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  webSocketMessage(ws, message) {
    const text = typeof message === "string" ? message : new TextDecoder().decode(message);
    let seq = 0;
    if (this.ctx.getTags(ws).includes("persist")) {
      seq = this.ctx.storage.sql.exec("INSERT INTO log (body) VALUES (?) RETURNING seq", text).one().seq;
    }
    let clientId = null;
    try {
      clientId = JSON.parse(text).client_id ?? null;
    } catch {
      // not JSON: relay as is
    }
    const out = JSON.stringify({ type: "message", seq, client_id: clientId, body: text });
    for (const peer of this.ctx.getWebSockets()) {
      if (peer !== ws) peer.send(out);
    }
    ws.send(JSON.stringify({ type: "ack", client_id: clientId, seq }));
  }

  webSocketClose(ws, code) {
    ws.close(code === 1005 ? 1000 : code, "bye");
  }
}

/**
 * The push baseline: `n` FCM v1 sends to the emulator with `concurrency` in flight, nothing else
 * (no D1, no queue, no OAuth: the caller passes an access token). Bounded to 20,000 sends, loopback.
 */
async function fcmLoop({ sendUrl, accessToken, n, concurrency }) {
  if (new URL(sendUrl).hostname !== "127.0.0.1") return new Response("loopback only", { status: 400 });
  const total = Math.min(n, 20_000);
  let next = 0;
  let ok = 0;
  let failed = 0;
  const started = Date.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const res = await fetch(sendUrl, {
        method: "POST",
        headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
        body: JSON.stringify({
          message: { token: `baseline-${i}`, notification: { title: "bench", body: "baseline" } },
        }),
      });
      await res.arrayBuffer();
      if (res.ok) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, 64) }, worker));
  return Response.json({ ok, failed, ms: Date.now() - started });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/empty") return Response.json({});
    if (url.pathname === "/fcm-loop" && request.method === "POST") return fcmLoop(await request.json());
    const m = /^\/ws\/([\w-]{1,64})$/.exec(url.pathname);
    if (m && request.headers.get("upgrade") === "websocket") {
      return env.ROOM.getByName(m[1]).fetch(request);
    }
    return new Response("not found", { status: 404 });
  },
};
