import { describe, expect, it } from "vitest";
import {
  d1Lost,
  type Frame,
  failInsertOf,
  interceptRoomSelects,
  msg,
  ownerWithScreenshot,
  storedClientIds,
} from "./helpers";

// Regression tests from review s11 (fixed: the hold is re-checked after the attachment check, set after the flush, and a stored copy is acked instead). The text below describes the defect as found.
// Review s11 of 9824ea9: SocketOrder's hold must be on the EARLIEST message of the socket that was
// refused ("The earliest refusal holds"), because the client resends its outbox in order and the
// hold is released only by that client_id.

describe("the hold's client_id", () => {
  // uploadedFiles' fail(): holdUntilResent(X) runs BEFORE answerNow() flushes the pending batch.
  // If that batch holds the socket's earlier message W and W's write fails, unavailable(W) finds
  // the socket already held (on X) and keeps X. The client resends W first: refused; X next:
  // releases the hold and is stored; W comes after it. (Or, if the client waits for W, the
  // socket refuses everything for 45 s.)
  it("holds the earlier message when a batch write and a later check fail together", async () => {
    const { id, a, o } = await ownerWithScreenshot();
    const recover = await failInsertOf(id, "w-1");
    await interceptRoomSelects(id, (n) => (n === 1 ? d1Lost : undefined));
    const shot = { type: "message", client_id: "x-2", body: "see screenshot", attachment_ids: [a.id] };
    o.send(msg("w-1", "it fails when I pay:"));
    o.send(shot);
    expect((await o.nextOf("error", (f) => f.client_id === "w-1")).code).toBe("UNAVAILABLE");
    expect((await o.nextOf("error", (f) => f.client_id === "x-2")).code).toBe("UNAVAILABLE");
    await recover();

    // SupportChat after its pause: the outbox in order, in one burst (the pacer has tokens).
    o.send(msg("w-1", "it fails when I pay:"));
    o.send(shot);
    const w: Frame = await o.next((f) => f.client_id === "w-1");
    await o.next((f) => f.client_id === "x-2");
    if (w.type === "error") {
      o.send(msg("w-1", "it fails when I pay:"));
      await o.nextOf("ack", (f) => f.client_id === "w-1");
    }
    // Now: ["x-2", "w-1"] (w-1 refused by the hold on x-2, which x-2's resend released).
    expect(await storedClientIds(id)).toEqual(["w-1", "x-2"]);
    expect(w.type).toBe("ack");
    o.close();
  });

  // Two copies of one message on a socket (SupportChat resends everything unacked after a
  // RATE_LIMITED, including frames still in flight). Copy 1 passes its check and is accepted;
  // copy 2 starts its check before copy 1 is written (byClientId finds nothing), its check fails,
  // and fail() holds the socket on x-1 and then flushes copy 1: the client gets `ack x-1` and
  // then `error UNAVAILABLE x-1`. SupportChat settles x-1 on the ack and never sends it again, so
  // nothing releases the hold: every new message of the socket is refused for 45 s.
  it("does not hold a socket on a client_id it has just stored and acked", async () => {
    const { id, a, o } = await ownerWithScreenshot();
    await interceptRoomSelects(id, (n) => (n === 2 ? d1Lost : undefined));
    const shot = { type: "message", client_id: "x-1", body: "see screenshot", attachment_ids: [a.id] };
    o.send(shot);
    o.send(shot);
    await o.nextOf("ack", (f) => f.client_id === "x-1");
    const copy2 = await o.next((f) => f.client_id === "x-1"); // the second copy's answer
    expect.soft(copy2).toMatchObject({ type: "ack", duplicate: true }); // now: error UNAVAILABLE
    expect(await storedClientIds(id)).toEqual(["x-1"]);

    o.send(msg("y-2", "a new message, nothing unstored before it"));
    const y = await o.next((f) => f.client_id === "y-2");
    expect(y.type).toBe("ack"); // now: error UNAVAILABLE (and so for every message for 45 s)
    o.close();
  });
});
