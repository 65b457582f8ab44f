import { describe, expect, it } from "vitest";
import { CLOSE, LIMITS } from "../../src/chat/protocol";
import { msg, ownerWithScreenshot, storedClientIds } from "./helpers";

// A message frame that names attachment_ids is checked against D1 (an await) before the room
// accepts it into the batch; a frame without them used to be accepted at once. So a plain message
// sent after a screenshot was stored first, and a close for a bad frame sent after it went out
// before its ack (or the message was stored after the close, unacked). SocketOrder keeps each
// socket's frames in arrival order across that await.

describe("group commit and messages with attachment_ids", () => {
  it("keeps one socket's arrival order: the screenshot sent first gets the lower seq", async () => {
    const { id, a, o } = await ownerWithScreenshot();
    o.send({ type: "message", client_id: "p-1", body: "see screenshot", attachment_ids: [a.id] });
    o.send(msg("p-2", "as you can see, it failed"));
    await o.nextOf("ack", (f) => f.client_id === "p-1");
    await o.nextOf("ack", (f) => f.client_id === "p-2");
    expect(await storedClientIds(id)).toEqual(["p-1", "p-2"]);
    o.close();
  });

  it("a close for an oversized frame comes after the ack of the attachment message sent before it", async () => {
    const { id, a, o } = await ownerWithScreenshot();
    o.send({ type: "message", client_id: "q-1", body: "see screenshot", attachment_ids: [a.id] });
    o.send("x".repeat(LIMITS.maxFrameBytes + 1));
    o.send(msg("q-2", "sent after the bad frame")); // the room has closed the socket by then: dropped
    expect((await o.closed()).code).toBe(CLOSE.tooBig);
    await new Promise((r) => setTimeout(r, 200));
    // q-1 is stored (it arrived first) ...
    expect(await storedClientIds(id)).toEqual(["q-1"]);
    // ... so its ack must have preceded the close, which the shipped client takes as final.
    expect(o.seen.filter((f) => f.type === "ack").map((f) => f.client_id)).toEqual(["q-1"]);
  });
});
