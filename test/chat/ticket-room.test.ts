import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { join, msg, openTicket, roomStub } from "./helpers";

describe("TicketRoom conversation", () => {
  it("orders, acks and broadcasts across two participants and three sockets", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const ownerTab1 = await join(owner, id);
    const ownerTab2 = await join(owner, id);
    const agentSock = await join(agent, id);

    ownerTab1.send(msg("o-1", "first"));
    agentSock.send(msg("a-1", "second"));
    ownerTab1.send(msg("o-2", "third"));

    const ack1 = await ownerTab1.nextOf("ack", (f) => f.client_id === "o-1");
    const ackA = await agentSock.nextOf("ack", (f) => f.client_id === "a-1");
    const ack2 = await ownerTab1.nextOf("ack", (f) => f.client_id === "o-2");
    expect(new Set([ack1.seq, ackA.seq, ack2.seq])).toEqual(new Set([1, 2, 3]));
    expect(ack1.seq as number).toBeLessThan(ack2.seq as number);

    // The owner's other tab sees all three in seq order, including the owner's own messages.
    const tab2 = [
      await ownerTab2.nextOf("message"),
      await ownerTab2.nextOf("message"),
      await ownerTab2.nextOf("message"),
    ];
    expect(tab2.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(tab2.find((m) => m.client_id === "o-1")).toMatchObject({
      body: "first",
      sender_id: owner.sub,
      sender_role: "user",
      id: ack1.id,
    });
    // The agent gets the owner's two; its own comes back only as an ack.
    const agentSaw = [await agentSock.nextOf("message"), await agentSock.nextOf("message")];
    expect(agentSaw.map((m) => m.client_id)).toEqual(["o-1", "o-2"]);
    // The sending socket gets an ack, not an echo.
    const tab1Msgs = ownerTab1.seen.filter((f) => f.type === "message");
    expect(tab1Msgs.map((m) => m.client_id)).toEqual(["a-1"]);
    for (const s of [ownerTab1, ownerTab2, agentSock]) s.close();
  });

  it("answers a resent client_id with the same ack and stores no duplicate", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const a = await join(owner, id);
    const watcher = await join(agent, id);
    a.send(msg("dup-1", "once"));
    const first = await a.nextOf("ack");
    a.send(msg("dup-1", "once"));
    const second = await a.nextOf("ack");
    expect(second).toMatchObject({ client_id: "dup-1", id: first.id, seq: first.seq, duplicate: true });
    a.send(msg("dup-2", "next"));
    const third = await a.nextOf("ack");
    expect(third.seq).toBe((first.seq as number) + 1);
    await watcher.nextOf("message", (m) => m.client_id === "dup-2");
    expect(watcher.seen.filter((f) => f.type === "message").map((m) => m.client_id)).toEqual([
      "dup-1",
      "dup-2",
    ]);
    a.close();
    watcher.close();
  });

  it("replays what was missed with ?since= and then goes live", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const ag = await join(agent, id);
    o.send(msg("r-1"));
    await o.nextOf("ack");
    await ag.nextOf("message");
    ag.close();
    o.send(msg("r-2"));
    o.send(msg("r-3"));
    await o.nextOf("ack", (f) => f.client_id === "r-3");

    const back = await join(agent, id, "?since=1");
    const replay = [await back.nextOf("message"), await back.nextOf("message")];
    expect(replay.map((m) => [m.seq, m.client_id])).toEqual([
      [2, "r-2"],
      [3, "r-3"],
    ]);
    o.send(msg("r-4"));
    expect(await back.nextOf("message")).toMatchObject({ seq: 4, client_id: "r-4" });
    o.close();
    back.close();
  });

  it("keeps the same sockets working after the object is evicted (hibernation)", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const ag = await join(agent, id);
    o.send(msg("h-1"));
    await o.nextOf("ack");
    await ag.nextOf("message");

    await evictDurableObject(roomStub(id));

    ag.send(msg("h-2", "after eviction"));
    expect(await ag.nextOf("ack")).toMatchObject({ client_id: "h-2", seq: 2 });
    expect(await o.nextOf("message")).toMatchObject({ client_id: "h-2", seq: 2, sender_id: agent.sub });
    // Dedupe and identity survived too: they live in SQLite and the socket attachment.
    o.send(msg("h-1"));
    expect(await o.nextOf("ack")).toMatchObject({ seq: 1, duplicate: true });
    // The ping/pong auto-response needs no instance at all.
    await evictDurableObject(roomStub(id));
    o.send("ping");
    await o.nextOf("pong");
    o.close();
    ag.close();
  });

  it("rebuilds who is online from the runtime after an eviction (the in-memory socket registry)", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const ag = await join(agent, id);
    await o.nextOf("presence", (f) => f.user_id === agent.sub);

    await evictDurableObject(roomStub(id));

    // A newcomer's welcome lists the sockets the evicted instance had accepted.
    const late = await join(await newCaller("admin"), id);
    const welcome = late.seen.find((f) => f.type === "welcome");
    expect(
      ((welcome?.participants ?? []) as Array<{ user_id: string }>).map((p) => p.user_id).sort(),
    ).toEqual(expect.arrayContaining([owner.sub, agent.sub]));
    // Broadcast reaches the sockets from before the eviction, and a close from one of them is
    // seen as that user going offline.
    late.send(msg("after-1"));
    await late.nextOf("ack");
    expect(await o.nextOf("message")).toMatchObject({ client_id: "after-1" });
    expect(await ag.nextOf("message")).toMatchObject({ client_id: "after-1" });
    ag.close();
    expect(await o.nextOf("presence", (f) => f.user_id === agent.sub && f.status === "offline")).toBeTruthy();
    o.close();
    late.close();
  });

  it("keeps a connection's strikes across an eviction", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const s = await join(owner, id);
    for (let i = 0; i < 9; i++) s.send("not json");
    for (let i = 0; i < 9; i++) await s.nextOf("error");
    await evictDurableObject(roomStub(id));
    // The tenth rejected frame inside the window closes the connection, eviction or not.
    s.send("not json");
    expect((await s.closed()).code).toBe(1008);
  });

  it("broadcasts read receipts, presence and welcome participants", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const ag = await join(agent, id);
    expect(await o.nextOf("presence")).toMatchObject({ user_id: agent.sub, status: "online", role: "admin" });
    const welcome = ag.seen.find((f) => f.type === "welcome");
    expect(welcome).toMatchObject({ ticket_id: id, you: { user_id: agent.sub, role: "admin" }, last_seq: 0 });
    expect(
      ((welcome?.participants ?? []) as Array<{ user_id: string }>).map((p) => p.user_id).sort(),
    ).toEqual([owner.sub, agent.sub].sort());

    ag.send(msg("m-1", "we are on it"));
    await o.nextOf("message");
    o.send({ type: "read", up_to: 1 });
    const receipt = await ag.nextOf("read");
    expect(receipt).toMatchObject({ user_id: owner.sub, up_to: 1 });
    expect(Date.parse(receipt.read_at as string)).not.toBeNaN();

    o.send({ type: "typing" });
    expect(await ag.nextOf("typing")).toMatchObject({ user_id: owner.sub });
    o.send({ type: "typing" }); // throttled: no second typing frame
    o.send(msg("m-2"));
    await ag.nextOf("message", (m) => m.client_id === "m-2");
    expect(ag.seen.filter((f) => f.type === "typing")).toHaveLength(1);

    ag.close();
    expect(await o.nextOf("presence")).toMatchObject({ user_id: agent.sub, status: "offline" });
    o.close();
  });
});
