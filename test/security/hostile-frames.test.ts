import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Sock } from "../chat/helpers";
import { upgrade } from "../helpers/http";
import { assertProperty } from "../helpers/property";
import {
  type Callers,
  changedTables,
  createTicket,
  fingerprint,
  type Identity,
  makeCallers,
  settle,
  warm,
} from "./fixtures";
import { deepNesting, hostileValue } from "./hostile-arbitraries";

/**
 * Property over every client frame type (message, read, typing) plus unknown types and
 * non-JSON: the room answers a rejected frame with an `error` frame {code, message}, never
 * drops or 1011-closes the socket, and a rejected frame changes nothing in D1.
 * (Rate limits, size caps and strikes themselves are covered in test/chat/limits.test.ts.)
 */

const RUNS = 120;
// Each case gets its own socket: a fresh token bucket and strike count per connection. Upgrades
// are rate-limited per user (60 per 60 s on AUTH_RATE_LIMITER), so the sockets rotate over the
// ticket's owner and five admins (agents may join any room), each well under the limit.
const AGENTS = 5;

let c: Callers;
let joiners: Identity[] = [];
let ticketId = "";
let cases = 0;
let opened = 0;

const validMessage = () => ({ type: "message", client_id: `c-${crypto.randomUUID()}`, body: "hi" });
const BASES: Record<string, Record<string, unknown>> = {
  message: validMessage(),
  read: { type: "read", up_to: 1 },
  typing: { type: "typing" },
};

const frame = fc.oneof(
  // A known type with one field made hostile (or an unknown field added).
  fc
    .record({
      type: fc.constantFrom("message", "read", "typing"),
      field: fc.constantFrom("client_id", "body", "attachments", "up_to", "type", "extra"),
      value: hostileValue,
    })
    .map(({ type, field, value }) => JSON.stringify({ ...BASES[type], [field]: value })),
  // Unknown and missing types.
  fc
    .oneof(fc.string({ maxLength: 20 }), fc.constantFrom(null, 1, "MESSAGE", "__proto__", "welcome", "ack"))
    .map((type) => JSON.stringify({ type, body: "x" })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  deepNesting.filter((s) => s.length < 60_000),
);

async function open(): Promise<Sock> {
  const who = joiners[opened++ % joiners.length] ?? c.user;
  const res = await upgrade(`/ws/support/${ticketId}`, who.headers);
  if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade ${res.status}`);
  res.webSocket.accept();
  const s = new Sock(res.webSocket, res);
  await s.nextOf("welcome");
  return s;
}

describe("hostile WebSocket frames", () => {
  beforeAll(async () => {
    vi.spyOn(console, "log").mockImplementation(() => {});
    c = await makeCallers();
    ticketId = await createTicket(c.user);
    const agents = await Promise.all(Array.from({ length: AGENTS }, () => makeCallers()));
    joiners = [c.user, ...agents.map((a) => a.admin)];
    // Recorded in the users directory now, so no first-request write lands inside a case.
    await warm(...joiners);
  });

  afterAll(() => {
    vi.restoreAllMocks();
    console.log(`hostile frames: ${cases} fuzz cases run over message, read, typing and unknown types`);
  });

  it("rejects every hostile frame with an error frame, keeps the socket, and changes nothing", async () => {
    await assertProperty(
      fc.asyncProperty(frame, async (raw) => {
        const s = await open();
        try {
          const before = await fingerprint();
          const marker = `sentinel-${crypto.randomUUID()}`;
          s.send(raw);
          // Frames are handled in order, so once the sentinel's own error (it carries our
          // client_id) arrives, everything `raw` caused is already in the buffer.
          s.send({ type: "message", client_id: marker, body: 0 });
          await s.next((f) => f.type === "error" && f.client_id === marker);
          cases++;
          const where = raw.slice(0, 200);
          expect(s.closeEvent, where).toBeNull();
          const replies = s.frames.filter((f) => f.type === "ack" || f.type === "error");
          if (replies.some((f) => f.type === "ack")) return void (await settle());
          const error = replies.find((f) => f.type === "error");
          // No reply at all: an accepted read receipt or typing indicator, which may write.
          if (!error) return void (await settle());
          expect(error, where).toMatchObject({ code: expect.any(String), message: expect.any(String) });
          expect(changedTables(before, await fingerprint()), where).toEqual([]);
        } finally {
          s.close();
        }
      }),
      { numRuns: RUNS, fixedRuns: Math.ceil(RUNS / 2) },
    );
  }, 60_000);

  it("closes a frame over the size cap with 1009, not an error", async () => {
    const s = await open();
    s.send(JSON.stringify({ ...validMessage(), body: "x".repeat(70_000) }));
    expect((await s.closed()).code).toBe(1009);
    cases++;
  });
});
