import { describe, expect, it } from "vitest";
import { freshGuard, inspect } from "../../src/chat/frame-guard";
import { CLOSE, LIMITS } from "../../src/chat/protocol";
import { newCaller } from "../helpers/auth";
import { join, openTicket } from "./helpers";

// The limits table closes a frame "> 64 KiB" with 1009, and LIMITS.maxFrameBytes is 64 * 1024
// bytes. The guard used to measure a text frame as `raw.length`, UTF-16 code units, so a frame of
// 'é' (2 bytes in UTF-8) or CJK (3 bytes) passed at up to 2-3x the cap and was JSON-parsed.

const bytes = (s: string) => new TextEncoder().encode(s).byteLength;
const closes = (raw: string) => "close" in inspect(raw, freshGuard(0), 0);

describe("the frame size cap counts UTF-8 bytes", () => {
  it("a 96 KiB text frame of 2-byte characters is closed 1009, not parsed", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const frame = JSON.stringify({ type: "message", client_id: "big-1", body: "é".repeat(48 * 1024) });
    expect(bytes(frame)).toBeGreaterThan(LIMITS.maxFrameBytes);
    o.send(frame);
    expect((await o.closed()).code).toBe(CLOSE.tooBig);
  });

  it("closes at one byte over the cap and not at the cap, whatever the characters", () => {
    const cap = LIMITS.maxFrameBytes;
    for (const ch of ["a", "é", "中", "😀"]) {
      const width = bytes(ch);
      const fits = ch.repeat(Math.floor(cap / width));
      const pad = "a".repeat(cap - bytes(fits));
      expect(bytes(fits + pad)).toBe(cap);
      expect(closes(fits + pad), `${ch} at the cap`).toBe(false);
      expect(closes(`${fits + pad}a`), `${ch} one byte over`).toBe(true);
    }
    expect("close" in inspect(new ArrayBuffer(cap + 1), freshGuard(0), 0)).toBe(true);
    expect("close" in inspect(new ArrayBuffer(cap), freshGuard(0), 0)).toBe(false);
  });
});
