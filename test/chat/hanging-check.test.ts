import { describe, expect, it } from "vitest";
import { CLOSE, LIMITS } from "../../src/chat/protocol";
import { interceptRoomSelects, msg, ownerWithScreenshot } from "./helpers";

// Regression tests from review s10 (fixed: SocketOrder holds, closeRoom ends queues, the check has a deadline). The text below describes the defect as found.
// SocketOrder holds everything a socket sends after a message with attachment_ids until its D1
// check answers, and that check has no deadline (readyAttachments is awaited as is). Before
// f321aed only the screenshot itself waited; now one D1 query that hangs (a stalled connection,
// a D1 that is overloaded) stalls the whole socket: later plain messages are never acked, reads
// never applied, and the room's own 1009/1008 closes for a hostile client's frames never go out,
// for as long as D1 does not answer. The rate-limit binding got a deadline (LIMIT_TIMEOUT_MS,
// 3 s) for exactly this; the bound asserted here is a generous 10 s.

/** The room's D1 queries hang: no answer for a minute (then a D1 error). */
const hangD1 = (ticketId: string) => {
  const hanging = () =>
    new Promise((_, reject) => setTimeout(() => reject(new Error("D1_ERROR: timed out")), 60_000));
  return interceptRoomSelects(ticketId, () => () => ({ from: () => ({ where: hanging }) }));
};

const BOUND_MS = 10_000;

describe("a D1 attachment check that hangs", () => {
  it("does not hold the socket's later plain message past a bound", { timeout: 20_000 }, async () => {
    const { id, a, o } = await ownerWithScreenshot();
    await hangD1(id);
    o.send({ type: "message", client_id: "h-1", body: "see screenshot", attachment_ids: [a.id] });
    o.send(msg("h-2", "plain text, nothing to check"));
    // Answered within the bound: h-2 acked, or the screenshot refused (UNAVAILABLE) so the client can move on.
    const answer = await o.next(
      (f) => (f.type === "ack" && f.client_id === "h-2") || (f.type === "error" && f.client_id === "h-1"),
      BOUND_MS,
    );
    expect(answer).toBeTruthy();
    o.close();
  });

  it("does not hold the room's 1009 close of a hostile client's oversized frames past a bound", {
    timeout: 20_000,
  }, async () => {
    const { id, a, o } = await ownerWithScreenshot();
    await hangD1(id);
    o.send({ type: "message", client_id: "h-3", body: "see screenshot", attachment_ids: [a.id] });
    for (let i = 0; i < 5; i++) o.send("x".repeat(LIMITS.maxFrameBytes + 1));
    expect((await o.closed(BOUND_MS)).code).toBe(CLOSE.tooBig);
  });
});
