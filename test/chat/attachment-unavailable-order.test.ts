import { describe, expect, it } from "vitest";
import {
  d1Lost,
  type Frame,
  interceptRoomSelects,
  msg,
  ownerWithScreenshot,
  storedClientIds,
} from "./helpers";

// Regression tests from review s10 (fixed: SocketOrder holds, closeRoom ends queues, the check has a deadline). The text below describes the defect as found.
// docs/chat-protocol.md ("Sending"): "Frames from the same socket keep their order: whatever the
// socket sends after it ... waits for the check, so a caption sent after its screenshot is stored
// after it." And for a failed write: "it and every later message frame get error UNAVAILABLE
// (resend them, in order) ... a later frame written after that would commit on its own ahead of
// the resends." When the attachment check itself fails (D1 down: UNAVAILABLE, "resend the
// message"), SocketOrder lets the caption queued behind the screenshot go on and be stored, so the
// screenshot's resend lands after its caption: the order the commit promises is lost on exactly
// the failure path that asks the client to resend.

describe("an attachment check that fails (UNAVAILABLE) and the frames queued behind it", () => {
  it("a caption sent after its screenshot is still stored after it once the client resends what was refused", async () => {
    const { id, a, o } = await ownerWithScreenshot();
    await interceptRoomSelects(id, (n) => (n === 1 ? d1Lost : undefined)); // one dropped D1 connection

    const shot = { type: "message", client_id: "shot-1", body: "see screenshot", attachment_ids: [a.id] };
    o.send(shot);
    o.send(msg("caption-2", "as you can see, it failed"));

    const e1 = await o.nextOf("error", (f) => f.client_id === "shot-1");
    expect(e1.code).toBe("UNAVAILABLE");
    // The caption is answered one way or the other: stored (ack) or refused with it (UNAVAILABLE).
    const second: Frame = await o.next((f) => f.client_id === "caption-2");

    // The client does what the protocol asks: resend what was refused, in order, same client_ids.
    o.send(shot);
    if (second.type === "error") o.send(msg("caption-2", "as you can see, it failed"));
    await o.nextOf("ack", (f) => f.client_id === "shot-1");
    if (second.type === "error") await o.nextOf("ack", (f) => f.client_id === "caption-2");

    expect(await storedClientIds(id)).toEqual(["shot-1", "caption-2"]);
    o.close();
  });
});
