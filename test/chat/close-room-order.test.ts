import { describe, expect, it } from "vitest";
import { CLOSE, LIMITS } from "../../src/chat/protocol";
import { newCaller } from "../helpers/auth";
import { api } from "../helpers/http";
import {
  type Caller,
  inRoomWithSocket,
  msg,
  ownerWithOneMessage,
  ownerWithScreenshot,
  slowAttachmentCheck,
  storedClientIds,
} from "./helpers";

// Regression tests from review s10 (fixed: SocketOrder holds, closeRoom ends queues, the check has a deadline). The text below describes the defect as found.
// docs/chat-protocol.md ("Sending"): whatever a socket sends after a message with attachment_ids
// waits for its check, "so ... the screenshot's ack comes before any close. Frames after a close
// the room decided are dropped." SocketOrder only knows the closes it makes itself (1008/1009,
// closeFor). The room's other close, 4000 when the ticket is closed (closeRoom, from PATCH
// status=closed), neither waits for a check in flight nor ends the socket's queue: the screenshot
// and the caption behind it are stored after the 4000 close, their acks go to a closed socket
// (the shipped client takes 4000 as final and shows them unsent), and a frame the runtime still
// delivers after that close is stored in the closed ticket too.

const closeTicket = async (admin: Caller, id: string) => {
  const res = await api(`/api/v1/support/tickets/${id}`, {
    method: "PATCH",
    headers: admin.headers,
    body: JSON.stringify({ status: "closed" }),
  });
  expect(res.status).toBe(200);
};

describe("the room's 4000 close (ticket closed) and SocketOrder", () => {
  it("every message the room stores was acked before the 4000 close (or is not stored)", async () => {
    const admin = await newCaller("admin");
    const { id, a, o } = await ownerWithScreenshot();
    await slowAttachmentCheck(id, 400);

    o.send({ type: "message", client_id: "k-1", body: "see screenshot", attachment_ids: [a.id] });
    o.send(msg("k-2", "the caption"));
    await new Promise((r) => setTimeout(r, 50));
    await closeTicket(admin, id); // while k-1's check is in flight

    expect((await o.closed()).code).toBe(CLOSE.ticketClosed);
    const ackedBeforeClose = o.seen.filter((f) => f.type === "ack").map((f) => f.client_id);
    await new Promise((r) => setTimeout(r, 700)); // the check has answered by now
    expect(await storedClientIds(id)).toEqual(ackedBeforeClose);
  });

  it("(control, passes) a frame delivered after the room's own 1009 close is dropped", async () => {
    const { id } = await ownerWithOneMessage("before");
    await inRoomWithSocket(id, async (room, ws) => {
      await room.webSocketMessage(ws, "x".repeat(LIMITS.maxFrameBytes + 1));
      await room.webSocketMessage(ws, JSON.stringify(msg("after-close")));
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(await storedClientIds(id)).toEqual(["before"]);
  });

  it("a frame delivered after the room's 4000 close is dropped, like one after its 1009/1008", async () => {
    const { id } = await ownerWithOneMessage("before");
    await inRoomWithSocket(id, async (room, ws) => {
      await room.closeRoom("ticket closed");
      // A client that does not honour the close keeps sending; the runtime still delivers it.
      await room.webSocketMessage(ws, JSON.stringify(msg("after-close")));
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(await storedClientIds(id)).toEqual(["before"]);
  });
});
