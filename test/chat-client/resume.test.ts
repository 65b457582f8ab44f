import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SupportChat } from "../../packages/client/src/chat/support-chat";
import { LIMITS } from "../../src/chat/protocol";
import type { TicketRoom } from "../../src/chat/ticket-room";
import { openTicket, roomStub } from "../chat/helpers";
import { newCaller } from "../helpers/auth";
import { eventually } from "../helpers/eventually";
import { workerdTransport } from "./workerd-socket";

describe("SupportChat resume and ticket back-off", () => {
  it("catches up past the room's replay cap instead of skipping what it missed", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    // The agent wrote more than one replay's worth while the owner was away (seeded straight
    // into the room's storage: pacing 1,200 frames through the bucket would take ten minutes).
    const seeded = LIMITS.maxReplay + 200;
    await runInDurableObject(roomStub(id), (_: TicketRoom, state) => {
      for (let seq = 1; seq <= seeded; seq++)
        state.storage.sql.exec(
          "INSERT INTO messages (seq, id, client_id, sender_id, sender_role, body, attachments, created_at) VALUES (?, ?, ?, ?, 'admin', ?, '[]', ?)",
          seq,
          `m-${id}-${seq}`,
          `seed-${seq}`,
          agent.sub,
          `agent ${seq}`,
          Date.now(),
        );
    });
    const chat = new SupportChat({
      ticketId: id,
      auth: { mode: "bearer", token: () => owner.token },
      ...workerdTransport(),
    });
    const shown: number[] = [];
    chat.on("message", (m) => shown.push(m.seq));
    chat.send("owner after the gap");
    chat.connect();
    await eventually(
      async () => chat.outbox.length === 0 && chat.messages.length === seeded + 1,
      "all caught up",
    );
    const seqs = Array.from({ length: seeded + 1 }, (_, i) => i + 1);
    expect(chat.messages.map((m) => m.seq)).toEqual(seqs);
    expect(shown).toEqual(seqs);
    expect(chat.messages.at(-1)?.body).toBe("owner after the gap");
    chat.close();
  });

  it("waits out a 429 whatever form Retry-After takes, instead of asking again at once", async () => {
    const owner = await newCaller("user");
    for (const [header, atLeast] of [
      ["soon", 50],
      [new Date(Date.now() + 60_000).toUTCString(), 30_000],
    ] as const) {
      let calls = 0;
      const chat = new SupportChat({
        ticketId: "t-1",
        auth: { mode: "ticket", token: () => owner.token },
        ...workerdTransport(),
        fetch: async () => {
          calls++;
          return new Response(JSON.stringify({ error: { code: "RATE_LIMITED", message: "slow down" } }), {
            status: 429,
            headers: { "retry-after": header, "content-type": "application/json" },
          });
        },
      });
      const waits: Array<number | undefined> = [];
      chat.on("status", (s) => {
        if (s.status === "waiting") waits.push(s.delayMs);
      });
      chat.connect();
      await eventually(async () => waits.length > 0, "a wait");
      chat.close();
      expect(calls).toBe(1);
      expect(Number.isFinite(waits[0])).toBe(true);
      expect(waits[0]).toBeGreaterThanOrEqual(atLeast);
    }
  });

  it("opens one socket when the page goes offline and back while a ticket is being issued", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const transport = workerdTransport();
    const gates: Array<() => void> = [];
    let sockets = 0;
    let answered = 0;
    const chat = new SupportChat({
      ticketId: id,
      auth: { mode: "ticket", token: () => owner.token },
      ...transport,
      // Each ticket request hangs until the test lets it through.
      fetch: async (input, init) => {
        await new Promise<void>((r) => gates.push(r));
        const res = await transport.fetch(input, init);
        answered++;
        return res;
      },
      socket: (url, protocols) => {
        sockets++;
        return transport.socket(url, protocols);
      },
    });
    chat.connect();
    await eventually(async () => gates.length === 1, "first ticket request");
    chat.suspend(); // offline, then online again, before the first ticket came back
    chat.resume();
    await eventually(async () => gates.length === 2, "second ticket request");
    for (const open of gates) open();
    await eventually(async () => answered === 2, "both tickets issued");
    await eventually(async () => chat.status === "open" && chat.self, "welcome");
    // Give a second socket, if any, the time to be created and welcomed (not a timing assertion:
    // the count below must be 1 however long this takes).
    await eventually(async () => chat.participants.length === 1, "presence");
    const online = await runInDurableObject(
      roomStub(id),
      (_: TicketRoom, state) =>
        state.getWebSockets(`user:${owner.sub}`).filter((ws) => ws.readyState === 1).length,
    );
    expect(sockets).toBe(1);
    expect(online).toBe(1);
    chat.close();
  });
});
