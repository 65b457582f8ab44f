import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { join, msg, openTicket } from "./helpers";

// Regression tests from review s10 (fixed: SocketOrder holds, closeRoom ends queues, the check has a deadline). The text below describes the defect as found.
// docs/chat-protocol.md ("Group commit"): "Before an error or a close for a bad frame, the room
// first writes and answers the frames it already accepted ... so their acks are not overtaken."
// That holds for the guard's errors (SocketOrder step → flushPending), but the answers a message
// with attachment_ids gets straight from onMessage/uploadedFiles skip the batch: a
// VALIDATION_FAILED for too many attachments (checked before any await) and a duplicate ack for a
// resent screenshot both go out before the ack of a plain message the same socket sent first.

const link = (n: number) => ({
  url: `https://example.com/${n}.png`,
  name: `${n}.png`,
  content_type: "image/png",
  size: 10,
});

describe("answers to a message with attachment_ids and the acks of frames accepted before it", () => {
  it("an error for too many attachments does not overtake the ack of the message sent just before it", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    o.send(msg("e-1", "first"));
    o.send({
      type: "message",
      client_id: "e-2",
      body: "six files",
      attachments: [link(1), link(2), link(3)],
      attachment_ids: [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()],
    });
    await o.nextOf("ack", (f) => f.client_id === "e-1");
    await o.nextOf("error", (f) => f.client_id === "e-2");
    const order = o.seen
      .filter((f) => f.type === "ack" || f.type === "error")
      .map((f) => `${f.type}:${f.client_id}`);
    expect(order).toEqual(["ack:e-1", "error:e-2"]);
    o.close();
  });
});
