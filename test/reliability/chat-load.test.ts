import { describe, expect, it } from "vitest";
import { openTicket } from "../chat/helpers";
import { type Caller, newCaller } from "../payments/helpers";
import { ChatClient } from "./chat-client";
import { type TicketFigures, verifyTicket, waitView } from "./chat-verify";

/**
 * Load with nothing lost, at test scale: 10 sockets over 2 tickets send 500 messages, every
 * 7th resent at once with the same client_id, and every other client dropping its connection
 * mid-run and resuming with ?since=. (bench/chat-nothing-lost.mjs runs the same at 50 × 5,000.)
 */
const TICKETS = 2;
const PER_TICKET = 5;
const PER_CLIENT = 50;

describe("chat under load", () => {
  it("500 messages: each acked once, once in D1, the same order at every receiver", async () => {
    let resent = 0;
    let reconnects = 0;
    const totals: TicketFigures = { sent: 0, acked: 0, lost: 0, duplicated: 0 };

    const runTicket = async (t: number) => {
      const owner = await newCaller("user");
      const { id } = await openTicket(owner);
      // The owner on two tabs plus three agents.
      const people: Caller[] = [owner, owner, await newCaller("admin"), await newCaller("admin")];
      people.push(await newCaller("admin"));
      const clients = people.slice(0, PER_TICKET).map((p, i) => new ChatClient(p, id, `t${t}c${i}`));
      for (const c of clients) await c.connect();
      const sentIds = new Map<string, Set<string>>();

      await Promise.all(
        clients.map(async (c, i) => {
          const mine = sentIds.get(c.caller.sub) ?? new Set<string>();
          sentIds.set(c.caller.sub, mine);
          for (let k = 0; k < PER_CLIENT; k++) {
            const cid = `${c.name}-${k}`;
            mine.add(cid);
            await c.send(cid, `message ${k} from ${c.name}`);
            if (k % 7 === 3) {
              resent++;
              await c.send(cid, `message ${k} from ${c.name}`);
            }
            if (i % 2 === 1 && k === 20 + i * 4) {
              reconnects++;
              await c.reconnect();
            }
          }
          await c.settle();
        }),
      );
      const total = PER_TICKET * PER_CLIENT;
      for (const c of clients) await waitView(c, total);
      const figures = await verifyTicket(id, clients, sentIds);
      for (const c of clients) {
        c.close();
        // Acks are the only confirmation a sender gets; a resend's ack is flagged duplicate.
        for (const list of c.acks.values())
          expect(list.filter((a) => !a.duplicate).length).toBeLessThanOrEqual(1);
      }
      return figures;
    };

    const results = await Promise.all(Array.from({ length: TICKETS }, (_, t) => runTicket(t)));
    for (const f of results) {
      totals.sent += f.sent;
      totals.acked += f.acked;
      totals.lost += f.lost;
      totals.duplicated += f.duplicated;
    }
    console.log(
      `[reliability] chat load: ${TICKETS * PER_TICKET} clients, ${TICKETS} tickets, ${JSON.stringify(totals)}, resent ${resent}, reconnects ${reconnects}`,
    );
    expect(totals).toEqual({ sent: 500, acked: 500, lost: 0, duplicated: 0 });
    expect(resent).toBeGreaterThan(0);
    expect(reconnects).toBe(4);
  }, 90_000);
});
