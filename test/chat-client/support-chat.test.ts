import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SupportChat } from "../../packages/client/src/chat/support-chat";
import type { TicketRoom } from "../../src/chat/ticket-room";
import { openTicket, roomStub } from "../chat/helpers";
import { newCaller } from "../helpers/auth";
import { eventually } from "../helpers/eventually";
import { workerdTransport } from "./workerd-socket";

type Caller = Awaited<ReturnType<typeof newCaller>>;

/** Closes `userId`'s sockets from the room's side, as a restart or a dropped link would. */
const killSockets = (ticketId: string, userId: string) =>
  runInDurableObject(roomStub(ticketId), (_: TicketRoom, state) => {
    const sockets = state.getWebSockets(`user:${userId}`);
    for (const ws of sockets) ws.close(1012, "service restart");
    return sockets.length;
  });

/** What the room stored, per client_id: the server-side truth the clients must agree with. */
const stored = (ticketId: string) =>
  runInDurableObject(roomStub(ticketId), (_: TicketRoom, state) =>
    state.storage.sql
      .exec<{ client_id: string; n: number; seq: number }>(
        "SELECT client_id, COUNT(*) AS n, MIN(seq) AS seq FROM messages GROUP BY sender_id, client_id ORDER BY seq",
      )
      .toArray(),
  );

/** A client plus a log of every message event it emitted, to catch a message shown twice. */
function client(
  caller: Caller,
  ticketId: string,
  mode: "bearer" | "ticket",
  drop: () => (data: string) => boolean = () => () => false,
) {
  // Readable, per-sender client_ids (the room's dedup key is sender + client_id).
  const prefix = caller.sub.slice(0, 8);
  const chat = new SupportChat({
    ticketId,
    auth: { mode, token: () => caller.token },
    ...workerdTransport(drop),
    newClientId: (() => {
      let n = 0;
      return () => `${prefix}-${++n}`;
    })(),
  });
  const shown: number[] = [];
  chat.on("message", (m) => shown.push(m.seq));
  return { chat, shown };
}

const opened = (chat: SupportChat) => eventually(async () => chat.status === "open" && chat.self, "welcome");

describe("SupportChat through the real room", () => {
  it("ends with every message once, in seq order, after sockets die mid-stream and acks are lost", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    // The owner's first socket loses every ack on the way in: its messages are stored but it
    // cannot know, so they stay in its outbox until the reconnect settles them.
    let loseAcks = true;
    const o = client(owner, id, "ticket", () => {
      const lossy = loseAcks;
      return (data) => lossy && data.includes('"type":"ack"');
    });
    const a = client(agent, id, "bearer");
    o.chat.connect();
    a.chat.connect();
    await opened(o.chat);
    await opened(a.chat);

    for (let i = 1; i <= 12; i++) a.chat.send(`agent ${i}`);
    for (let i = 1; i <= 3; i++) o.chat.send(`owner ${i}`);
    await eventually(
      async () =>
        (await stored(id)).filter((r) => r.client_id.startsWith(owner.sub.slice(0, 8))).length === 3,
      "the owner's first three stored",
    );
    expect(o.chat.outbox.map((p) => p.body)).toEqual(["owner 1", "owner 2", "owner 3"]);

    // Mid-stream (the agent's twelve are still being paced out): the owner's socket dies.
    loseAcks = false;
    expect(await killSockets(id, owner.sub)).toBe(1);
    // Written while the owner is away: queued, sent after the reconnect.
    o.chat.send("owner 4");
    o.chat.send("owner 5");
    for (let i = 13; i <= 16; i++) a.chat.send(`agent ${i}`);
    // And the agent's socket dies too, with its stream half out.
    await killSockets(id, agent.sub);
    for (let i = 17; i <= 20; i++) a.chat.send(`agent ${i}`);

    const total = 25;
    for (const c of [o, a]) {
      await eventually(
        async () => c.chat.outbox.length === 0 && c.chat.messages.length === total,
        "outbox drained and every message seen",
      );
    }
    const rows = await stored(id);
    expect(rows).toHaveLength(total);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const seqs = Array.from({ length: total }, (_, i) => i + 1);
    for (const c of [o, a]) {
      expect(c.chat.messages.map((m) => m.seq)).toEqual(seqs);
      // Each message was shown once: the replayed copies and duplicate acks added nothing. (The
      // owner learns of its ack-less messages from the replay, so its events are not in order.)
      expect([...c.shown].sort((x, y) => x - y)).toEqual(seqs);
      // Both sides agree on what each seq holds, and it is what the room stored.
      expect(c.chat.messages.map((m) => m.client_id)).toEqual(rows.map((r) => r.client_id));
    }
    expect(a.shown).toEqual(seqs);
    expect(o.chat.messages.filter((m) => m.sender_id === owner.sub).map((m) => m.body)).toEqual([
      "owner 1",
      "owner 2",
      "owner 3",
      "owner 4",
      "owner 5",
    ]);
    o.chat.close();
    a.chat.close();
  });

  it("moves ticks sent → acked → read, and sees typing and presence", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = client(owner, id, "bearer");
    const ticks: string[] = [];
    o.chat.on("tick", (t) => ticks.push(`${t.client_id}:${t.tick}`));
    const presence: string[] = [];
    o.chat.on("presence", (p) => presence.push(`${p.user_id}:${p.status}`));
    const typing: string[] = [];
    o.chat.on("typing", (t) => typing.push(t.user_id));
    o.chat.connect();
    await opened(o.chat);

    const a = client(agent, id, "ticket");
    a.chat.connect();
    await opened(a.chat);
    await eventually(async () => presence.includes(`${agent.sub}:online`), "agent online");
    expect(o.chat.participants.map((p) => p.user_id).sort()).toEqual([owner.sub, agent.sub].sort());

    const cid = o.chat.send("hello");
    await eventually(async () => a.chat.messages.length === 1, "agent got it");
    a.chat.typing();
    a.chat.markRead();
    await eventually(async () => o.chat.tickOf({ client_id: cid, seq: 1 }) === "read", "read tick");
    expect(ticks).toEqual([`${cid}:sent`, `${cid}:acked`, `${cid}:read`]);
    await eventually(async () => typing.includes(agent.sub), "typing");

    a.chat.close();
    await eventually(async () => presence.includes(`${agent.sub}:offline`), "agent offline");
    expect(o.chat.participants.map((p) => p.user_id)).toEqual([owner.sub]);
    o.chat.close();
  });

  it("pages back through the REST history, then resumes after it without a duplicate", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const first = client(owner, id, "bearer");
    first.chat.connect();
    await opened(first.chat);
    for (let i = 1; i <= 7; i++) first.chat.send(`m${i}`);
    await eventually(async () => first.chat.outbox.length === 0, "all acked");
    first.chat.close();

    const later = client(owner, id, "bearer");
    // The mirror to D1 lags the room; wait until the newest page has the newest message.
    await eventually(async () => {
      const probe = client(owner, id, "bearer");
      await probe.chat.loadOlder(1);
      return probe.chat.lastSeq === 7;
    }, "history mirrored");
    expect(await later.chat.loadOlder(3)).toBe(3);
    expect(later.chat.messages.map((m) => m.seq)).toEqual([5, 6, 7]);
    later.chat.connect();
    await opened(later.chat);
    first.chat.connect(); // a closed client stays closed
    expect(first.chat.status).toBe("closed");
    expect(await later.chat.loadOlder(3)).toBe(3);
    expect(await later.chat.loadOlder(3)).toBe(1);
    expect(later.chat.hasOlder).toBe(false);
    expect(later.chat.messages.map((m) => m.body)).toEqual(["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
    expect(later.shown.sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    later.chat.close();

    // The other way round: everything replayed first (since=0), then a REST page that
    // overlaps it entirely adds nothing and announces nothing.
    const replayed = client(owner, id, "bearer");
    replayed.chat.connect();
    await eventually(async () => replayed.chat.messages.length === 7, "replay of all seven");
    expect(await replayed.chat.loadOlder(50)).toBe(0);
    expect(replayed.shown).toEqual([1, 2, 3, 4, 5, 6, 7]);
    replayed.chat.close();
  });

  it("uploads a file, sends it as attachment_ids, and the other side downloads the same bytes", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const a = client(owner, id, "bearer");
    const b = client(agent, id, "bearer");
    a.chat.connect();
    b.chat.connect();
    await opened(a.chat);
    await opened(b.chat);
    const bytes = new TextEncoder().encode("stack trace: card_declined\n");
    const file = await a.chat.upload(new Blob([bytes], { type: "text/plain" }), "trace.txt");
    expect(file).toMatchObject({ name: "trace.txt", content_type: "text/plain", size: bytes.length });
    a.chat.send("", [file]);
    const got = await eventually(async () => b.chat.messages[0], "the agent gets the message");
    expect(got.attachments).toEqual([file]);
    const blob = await b.chat.download(got.attachments[0] as (typeof got.attachments)[number]);
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(bytes);
    // An upload the platform refuses is an Error with its status and code, and nothing is sent.
    const svg = new Blob(["<svg><script>alert(1)</script></svg>"], { type: "image/svg+xml" });
    await expect(a.chat.upload(svg, "x.svg")).rejects.toThrow(/415 UNSUPPORTED_MEDIA_TYPE/);
    a.chat.close();
    b.chat.close();
  });

  it("gives up, without retrying, when the ticket is closed or the socket is refused", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = client(owner, id, "bearer");
    const closed: number[] = [];
    o.chat.on("closed", (c) => closed.push(c.code));
    o.chat.connect();
    await opened(o.chat);
    const res = await workerdTransport().fetch(`http://platform.test/api/v1/support/tickets/${id}`, {
      method: "PATCH",
      headers: agent.headers,
      body: JSON.stringify({ status: "closed" }),
    });
    expect(res.status).toBe(200);
    await eventually(async () => closed.length > 0, "closed event");
    expect(closed).toEqual([4000]);
    expect(o.chat.status).toBe("closed");

    // Someone else's ticket: the connect ticket is refused (404) and the client stops.
    const stranger = await newCaller("user");
    const s = client(stranger, id, "ticket");
    const refused: Array<{ code: number; reason: string }> = [];
    s.chat.on("closed", (c) => refused.push(c));
    s.chat.connect();
    await eventually(async () => refused.length > 0, "refusal");
    expect(refused[0]?.reason).toMatch(/^connect ticket refused: 404/);
  });
});
