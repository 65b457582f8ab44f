import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { failInsertOf, join, msg, openTicket, storedClientIds } from "./helpers";

// After a message of a socket is answered UNAVAILABLE, the socket's later messages are refused
// too until it is resent (SocketOrder.holdUntilResent): a message the client sent before it saw
// the error, in a later batch, would otherwise be stored ahead of the resend.

describe("UNAVAILABLE holds the socket's later messages until the refused one is resent", () => {
  it("refuses a later batch's message, then stores both in order once the first is resent", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const recover = await failInsertOf(id, "h-1");
    o.send(msg("h-1"));
    expect((await o.nextOf("error", (f) => f.client_id === "h-1")).code).toBe("UNAVAILABLE");
    await recover();

    o.send(msg("h-2")); // sent as if before the error arrived: storing it now would put it first
    expect((await o.nextOf("error", (f) => f.client_id === "h-2")).code).toBe("UNAVAILABLE");
    expect(await storedClientIds(id)).toEqual([]);

    o.send(msg("h-1"));
    o.send(msg("h-2"));
    await o.nextOf("ack", (f) => f.client_id === "h-1");
    await o.nextOf("ack", (f) => f.client_id === "h-2");
    expect(await storedClientIds(id)).toEqual(["h-1", "h-2"]);

    o.send(msg("h-3")); // the hold ended with the resend
    await o.nextOf("ack", (f) => f.client_id === "h-3");
    o.close();
  });

  it("holds only the socket that was refused: another socket of the same user is stored at once", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const a = await join(owner, id);
    const b = await join(owner, id);
    await failInsertOf(id, "a-1");
    a.send(msg("a-1"));
    await a.nextOf("error", (f) => f.client_id === "a-1");
    b.send(msg("b-1"));
    await b.nextOf("ack", (f) => f.client_id === "b-1");
    expect(await storedClientIds(id)).toEqual(["b-1"]);
    a.close();
    b.close();
  });
});
