import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { openTicket, roomStub } from "../chat/helpers";
import { newCaller } from "../payments/helpers";
import { ChatClient } from "./chat-client";
import { verifyTicket, waitView } from "./chat-verify";
import { sleep } from "./helpers";

describe("a TicketRoom evicted during a burst", () => {
  it("every message acked exactly once, once in the room log and in D1, same order everywhere", async () => {
    const owner = await newCaller("user");
    const agent = await newCaller("admin");
    const { id } = await openTicket(owner);
    const ownerTab = new ChatClient(owner, id, "owner");
    const ownerOtherTab = new ChatClient(owner, id, "owner-tab-2");
    const agentSock = new ChatClient(agent, id, "agent");
    for (const c of [ownerTab, ownerOtherTab, agentSock]) await c.connect();

    const sentIds = new Map<string, Set<string>>([
      [owner.sub, new Set()],
      [agent.sub, new Set()],
    ]);
    let sent = 0;
    const burst = async (c: ChatClient, prefix: string) => {
      for (let i = 0; i < 12; i++) {
        const cid = `${prefix}-${i}`;
        sentIds.get(c.caller.sub)?.add(cid);
        await c.send(cid, `${prefix} message ${i}`);
        sent++;
      }
    };
    const evicted = (async () => {
      while (sent < 8) await sleep(5);
      // Sends are in flight (most not yet acked) when the object goes away.
      await evictDurableObject(roomStub(id));
    })();
    await Promise.all([burst(ownerTab, "o"), burst(agentSock, "a"), evicted]);
    await Promise.all([ownerTab.settle(), agentSock.settle()]);
    await waitView(ownerOtherTab, 24);

    const figures = await verifyTicket(id, [ownerTab, ownerOtherTab, agentSock], sentIds);
    console.log(`[reliability] DO eviction during a burst: ${JSON.stringify(figures)}`);
    expect(figures).toEqual({ sent: 24, acked: 24, lost: 0, duplicated: 0 });
    for (const c of [ownerTab, ownerOtherTab, agentSock]) c.close();
  });
});
