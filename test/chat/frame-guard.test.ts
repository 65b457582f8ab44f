import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { freshGuard, inspect, type Verdict } from "../../src/chat/frame-guard";
import { clientFrameSchema } from "../../src/chat/protocol";
import { assertProperty } from "../helpers/property";

/** What the guard answered before the hand-written fast path existed: zod decides alone. */
function zodVerdict(data: unknown): Verdict {
  const parsed = clientFrameSchema.safeParse(data);
  if (parsed.success) return { ok: true, frame: parsed.data };
  const clientId = (data as { client_id?: unknown }).client_id;
  return {
    ok: false,
    code: "VALIDATION_FAILED",
    message: "Frame failed validation",
    ...(typeof clientId === "string" ? { client_id: clientId.slice(0, 64) } : {}),
    details: parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
  };
}

const verdict = (data: unknown) => inspect(JSON.stringify(data), freshGuard(0), 0);

// Values around every boundary the message, read and typing frames have.
const clientIds = fc.oneof(
  fc.constantFrom("", "c-1", "a.b:c_d-9", "x".repeat(64), "x".repeat(65), "sp ace", "é", "a/b", "__proto__"),
  fc.string({ maxLength: 70 }),
);
const bodies = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "hi",
    "x".repeat(4000),
    "x".repeat(4001),
    "😀".repeat(2000),
    "😀".repeat(2001),
    // Unpaired surrogates: the fast path must refuse what the schema refuses (platform/text.ts).
    "a\ud800b",
    "\udc00",
    "😀".slice(0, 1),
    `${"x".repeat(3999)}\ud83d`,
  ),
  fc.string({ maxLength: 50 }),
);
const anyValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 5 }),
);
const frames = fc.oneof(
  fc.record(
    {
      type: fc.constant("message"),
      client_id: fc.oneof(clientIds, anyValue),
      body: fc.oneof(bodies, anyValue),
    },
    { requiredKeys: ["type"] },
  ),
  fc.record({
    type: fc.constant("message"),
    client_id: clientIds,
    body: bodies,
    attachments: fc.constant([]),
  }),
  fc.record({ type: fc.constant("message"), client_id: clientIds, body: bodies, extra: anyValue }),
  fc.record(
    {
      type: fc.constant("read"),
      up_to: fc.oneof(
        fc.constantFrom(0, -0, -1, 1.5, 2 ** 53 - 1, 2 ** 53, 1e300, "3"),
        fc.integer({ min: -5, max: 1e9 }),
      ),
      extra: anyValue,
    },
    { requiredKeys: ["type"] },
  ),
  fc.record({ type: fc.constant("typing"), extra: anyValue }, { requiredKeys: ["type"] }),
);

describe("frame guard fast path", () => {
  it("answers every message/read/typing frame exactly as the zod schema alone would", async () => {
    await assertProperty(
      fc.property(frames, (data) => {
        // Round-trip through JSON first: that is what the room parses (e.g. -0 arrives as 0).
        const wire = JSON.parse(JSON.stringify(data)) as unknown;
        expect(verdict(wire)).toEqual(zodVerdict(wire));
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts the common frames and still rejects their near misses with the schema's details", () => {
    expect(verdict({ type: "message", client_id: "c-1", body: "hi" })).toEqual({
      ok: true,
      frame: { type: "message", client_id: "c-1", body: "hi" },
    });
    expect(verdict({ type: "read", up_to: 3 })).toEqual({ ok: true, frame: { type: "read", up_to: 3 } });
    expect(verdict({ type: "typing" })).toEqual({ ok: true, frame: { type: "typing" } });
    const long = verdict({ type: "message", client_id: "c-2", body: "x".repeat(4001) });
    expect(long).toMatchObject({ ok: false, code: "VALIDATION_FAILED", client_id: "c-2" });
    expect(long).toEqual(zodVerdict({ type: "message", client_id: "c-2", body: "x".repeat(4001) }));
    expect(verdict({ type: "typing", x: 1 })).toMatchObject({ ok: false, code: "VALIDATION_FAILED" });
  });
});
