import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Deps } from "../../src/platform/deps";
import { msg, ownerWithScreenshot, roomStub, storedClientIds } from "./helpers";

// Review s12 of ec53e9a: the split moved the room's read of `deps.db` (a getter that builds the
// drizzle client) out of the attachment check's try. A client that cannot be built then escaped
// the check: the socket got no answer for its message and no hold, where before it was answered
// UNAVAILABLE like any D1 failure.

/** From now on, building the room's D1 client throws (as a missing or broken binding would). */
const dbClientThrows = (ticketId: string) =>
  runInDurableObject(roomStub(ticketId), (room) => {
    const r = room as unknown as { deps: () => Deps };
    const real = r.deps.bind(room);
    r.deps = () => {
      const d = real();
      return new Proxy(d, {
        get(target, key, receiver) {
          if (key === "db") throw new Error("D1 binding unavailable");
          return Reflect.get(target, key, receiver);
        },
      });
    };
  });

describe("an attachment check whose D1 client cannot be built", () => {
  it("answers UNAVAILABLE with the client_id and holds the socket's later message", async () => {
    const { id, a, o } = await ownerWithScreenshot();
    await dbClientThrows(id);
    o.send({ type: "message", client_id: "c-1", body: "see screenshot", attachment_ids: [a.id] });
    const refused = await o.nextOf("error", (f) => f.client_id === "c-1");
    expect(refused.code).toBe("UNAVAILABLE");
    // Sent before the client saw the error: storing it now would put it ahead of the resend.
    o.send(msg("c-2"));
    expect((await o.nextOf("error", (f) => f.client_id === "c-2")).code).toBe("UNAVAILABLE");
    expect(await storedClientIds(id)).toEqual([]);
    o.close();
  });
});
