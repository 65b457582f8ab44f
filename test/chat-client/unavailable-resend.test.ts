import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SupportChat } from "../../packages/client/src/chat/support-chat";
import { failInsertOf, openTicket, roomStub, storedClientIds } from "../chat/helpers";
import { newCaller } from "../helpers/auth";
import { eventually } from "../helpers/eventually";
import { workerdTransport } from "./workerd-socket";

// A failed write makes the room answer the frame and every later message frame of its batch
// `error UNAVAILABLE` ("resend, same client_id": docs/chat-protocol.md). SupportChat used to drop
// any message answered with an error naming its client_id unless it was RATE_LIMITED, so one
// transient storage failure lost a batch of messages for good. Now they stay in the outbox and go
// again, in order, after a pause.

async function chatWithFailingFirstWrite() {
  const owner = await newCaller("user");
  const { id } = await openTicket(owner);
  const chat = new SupportChat({
    ticketId: id,
    auth: { mode: "bearer", token: () => owner.token },
    ...workerdTransport(() => () => false),
    newClientId: (() => {
      let n = 0;
      return () => `u-${++n}`;
    })(),
  });
  const errors: Array<{ code: string; client_id?: string }> = [];
  chat.on("error", (e) => errors.push(e));
  chat.connect();
  await eventually(async () => chat.status === "open" && chat.self, "welcome");

  // A storage failure for u-1's insert (statement-level, as SQLITE_FULL with a journal is).
  const recover = await failInsertOf(id, "u-1");
  chat.send("first");
  chat.send("second"); // same batch: answered UNAVAILABLE because u-1 failed
  await eventually(
    async () => errors.filter((e) => e.code === "UNAVAILABLE").length >= 2,
    "both UNAVAILABLE",
  );
  return { id, chat, errors, recover };
}
describe("UNAVAILABLE from a failed batch write and SupportChat's outbox", () => {
  it("keeps both messages and stores them by its own resend on the same socket, in order", async () => {
    const { id, chat, recover } = await chatWithFailingFirstWrite();
    await recover();
    // docs: "nothing stored or acked; resend (same client_id)". The client must still hold both.
    expect(chat.outbox.map((p) => p.client_id)).toEqual(["u-1", "u-2"]);
    await eventually(async () => chat.outbox.length === 0, "outbox drained by the paced resend", {
      tries: 60,
    });
    expect(await storedClientIds(id)).toEqual(["u-1", "u-2"]);
    chat.close();
  });

  it("keeps retrying while the storage keeps failing, and is stored after a reconnect once it recovers", async () => {
    const { id, chat, errors, recover } = await chatWithFailingFirstWrite();
    // Still failing: the paced resend is answered UNAVAILABLE again, and nothing leaves the outbox.
    await eventually(
      async () => errors.filter((e) => e.code === "UNAVAILABLE").length >= 3,
      "a resend, refused",
      {
        tries: 40,
      },
    );
    expect(chat.outbox.map((p) => p.client_id)).toEqual(["u-1", "u-2"]);
    expect(await storedClientIds(id)).toEqual([]);
    await recover();

    // A new socket resends the outbox too (after the pause still running).
    await runInDurableObject(roomStub(id), (_r, state) => {
      for (const ws of state.getWebSockets()) ws.close(1012, "service restart");
    });
    await eventually(
      async () => (await storedClientIds(id)).length === 2,
      "both messages stored after the resend",
      {
        tries: 120,
      },
    );
    expect(await storedClientIds(id)).toEqual(["u-1", "u-2"]);
    chat.close();
  });
});
