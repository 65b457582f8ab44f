import { describe, expect, it } from "vitest";
import type { LiveFrame as ClientLiveFrame, RoomFrame } from "../../packages/client/src/chat/wire";
import {
  MAX_BODY_CHARS,
  MAX_REPLAY,
  ROOM_BUCKET,
  TYPING_THROTTLE_MS,
} from "../../packages/client/src/chat/wire";
import type { LiveFrame } from "../../src/chat/live-channel";
import { LIMITS, type ServerFrame } from "../../src/chat/protocol";

// The client keeps its own copy of the wire types so it has no server dependency. These
// assignments make `tsc -p test` fail the day the server sends a frame the client cannot type.
const room = (f: ServerFrame): RoomFrame => f;
const live = (f: LiveFrame): ClientLiveFrame => f;

describe("chat client wire contract", () => {
  it("paces and validates with the room's own numbers", () => {
    expect(ROOM_BUCKET).toEqual({ capacity: LIMITS.bucketCapacity, refillPerSec: LIMITS.bucketRefillPerSec });
    expect(TYPING_THROTTLE_MS).toBe(LIMITS.typingThrottleMs);
    expect(MAX_BODY_CHARS).toBe(LIMITS.maxBodyChars);
    expect(MAX_REPLAY).toBe(LIMITS.maxReplay);
    expect(room({ type: "typing", user_id: "u" })).toEqual({ type: "typing", user_id: "u" });
    expect(live({ type: "error", code: "UNKNOWN_TYPE", message: "m" }).type).toBe("error");
  });
});
