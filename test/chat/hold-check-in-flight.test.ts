import { describe, expect, it } from "vitest";
import {
  type Frame,
  failInsertOf,
  msg,
  ownerWithScreenshot,
  slowAttachmentCheck,
  storedClientIds,
} from "./helpers";

// Regression tests from review s11 (fixed: the hold is re-checked after the attachment check, set after the flush, and a stored copy is acked instead). The text below describes the defect as found.
// Review s11 of 9824ea9. docs/chat-protocol.md ("Group commit"): "After a message of a socket is
// answered UNAVAILABLE ... every later message of that socket is answered UNAVAILABLE too until
// that one is sent again, so a message the client sent before it saw the error cannot be stored
// ahead of the resend." The hold is consulted only when a message's step STARTS (onMessage ->
// mustRefuse), not when a message with attachment_ids is finally accepted after its D1 check. A
// plain message W sits in the pending batch while the next message X (a screenshot) is on its
// check (SocketOrder lets X start at once: W's step was synchronous). W's write fails -> hold W;
// X's check then answers and X is accepted, acked and stored: ahead of W's resend.

describe("an UNAVAILABLE hold and a later message already on its attachment check", () => {
  it("a screenshot sent after a refused message is not stored ahead of that message's resend", async () => {
    const { id, a, o } = await ownerWithScreenshot();
    const recover = await failInsertOf(id, "w-1");
    await slowAttachmentCheck(id, 300);

    const shot = { type: "message", client_id: "x-2", body: "see screenshot", attachment_ids: [a.id] };
    o.send(msg("w-1", "it fails when I pay:"));
    o.send(shot);

    expect((await o.nextOf("error", (f) => f.client_id === "w-1")).code).toBe("UNAVAILABLE");
    const second: Frame = await o.next((f) => f.client_id === "x-2");
    await recover();

    // The client resends what was refused, in order, same client_ids (SupportChat's outbox).
    o.send(msg("w-1", "it fails when I pay:"));
    if (second.type === "error") o.send(shot);
    await o.nextOf("ack", (f) => f.client_id === "w-1");
    if (second.type === "error") await o.nextOf("ack", (f) => f.client_id === "x-2");

    // Now: ["x-2", "w-1"]: x-2 was accepted after its check although w-1 had been refused.
    expect(await storedClientIds(id)).toEqual(["w-1", "x-2"]);
    o.close();
  });
});
