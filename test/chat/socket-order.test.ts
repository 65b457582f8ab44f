import { describe, expect, it } from "vitest";
import { HOLD_MS, SocketOrder } from "../../src/chat/socket-order";

// SocketOrder's hold on its own, with the clock passed in: the room tests drive it through real
// failures, but cannot wait 45 s for the hold to lapse.

/** An open server-side socket of a real pair (readyState OPEN once accepted). */
function openSocket(): WebSocket {
  const [, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  server.accept();
  return server;
}

describe("SocketOrder's hold after an UNAVAILABLE", () => {
  it("refuses later messages until HOLD_MS have passed, then lets them through and forgets the hold", () => {
    const order = new SocketOrder(() => {});
    const ws = openSocket();
    const t0 = 1_000_000;
    order.holdUntilResent(ws, "a", t0);
    expect(order.mustRefuse(ws, "b", t0)).toBe(true);
    expect(order.mustRefuse(ws, "b", t0 + HOLD_MS - 1)).toBe(true);
    // A client that never resends "a" (it gave up, or an old client that dropped it) is not
    // refused for ever.
    expect(order.mustRefuse(ws, "b", t0 + HOLD_MS)).toBe(false);
    // The lapsed hold is gone: a later message is not measured against it again.
    expect(order.mustRefuse(ws, "c", t0)).toBe(false);
  });

  it("is released by the resend of the refused message, whatever the time", () => {
    const order = new SocketOrder(() => {});
    const ws = openSocket();
    order.holdUntilResent(ws, "a", 0);
    expect(order.mustRefuse(ws, "a", 1)).toBe(false);
    expect(order.mustRefuse(ws, "b", 2)).toBe(false);
  });

  it("keeps the earliest refusal, with its own deadline, and holds only its socket", () => {
    const order = new SocketOrder(() => {});
    const ws = openSocket();
    const other = openSocket();
    order.holdUntilResent(ws, "a", 0);
    // A second refusal on the same socket (a later message whose write failed too) neither
    // replaces the client_id that releases it nor extends the deadline.
    order.holdUntilResent(ws, "b", 10_000);
    expect(order.mustRefuse(ws, "b", 20_000)).toBe(true);
    expect(order.mustRefuse(other, "x", 20_000)).toBe(false);
    expect(order.mustRefuse(ws, "b", HOLD_MS)).toBe(false);
  });
});
