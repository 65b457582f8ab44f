import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { join, msg, openTicket, roomStub } from "./helpers";

// From the hostile review of f30b8a1 (group commit). The batch shares ONE implicit transaction, and the per-frame
// catch keeps writing after a failed frame. SQLite answers some errors by rolling back the whole
// transaction, not just the statement: SQLITE_FULL (the very failure group-commit.test.ts names),
// SQLITE_IOERR and SQLITE_NOMEM do so for a single-row INSERT ... VALUES, which runs without a
// statement journal (sqlite3VdbeHalt: isSpecialError && !usesStmtJournal -> sqlite3RollbackAll).
// RAISE(ROLLBACK) in a trigger produces that same outcome on demand with a real SQLite error.
// Then the frames written earlier in the batch are gone, the frames after the failure are written
// in autocommit mode (outside any transaction, committed at once) with seqs that continue from
// the vanished ones, and the implicit commit at the end of the turn fails and resets the object.

const rows = (id: string) =>
  runInDurableObject(roomStub(id), (_o, state) =>
    state.storage.sql
      .exec<{ seq: number; client_id: string }>("SELECT seq, client_id FROM messages ORDER BY seq")
      .toArray(),
  );

describe("group commit: a write error that rolls back the batch's transaction", () => {
  it("never leaves a later frame of the batch stored without the earlier ones, and arrival order survives the resend", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    await runInDurableObject(roomStub(id), (_r, state) => {
      state.storage.sql.exec(
        "CREATE TRIGGER review_full BEFORE INSERT ON messages WHEN NEW.client_id = 'x-bad' BEGIN SELECT RAISE(ROLLBACK, 'database or disk is full'); END",
      );
    });
    // One client turn: the three frames land in one batch.
    o.send(msg("x-1"));
    o.send(msg("x-bad"));
    o.send(msg("x-2"));
    await new Promise((r) => setTimeout(r, 300));

    // Whatever survived must be a prefix of arrival order with contiguous seqs.
    // Before the fix: [{seq: 2, client_id: "x-2"}]: x-1 rolled back, x-2 autocommitted at seq 2.
    const after = await rows(id);
    expect(after.map((r) => r.seq)).toEqual(after.map((_, i) => i + 1));
    if (after.some((r) => r.client_id === "x-2")) expect(after.map((r) => r.client_id)).toContain("x-1");

    // The shipped client resends its unacked outbox in order on the new socket.
    o.close();
    const back = await join(owner, id);
    back.send(msg("x-1"));
    back.send(msg("x-2"));
    await back.nextOf("ack", (a) => a.client_id === "x-1");
    await back.nextOf("ack", (a) => a.client_id === "x-2");
    // Arrival order is x-1 then x-2 (docs: "in arrival order"); before the fix x-2 came first.
    expect((await rows(id)).map((r) => r.client_id)).toEqual(["x-1", "x-2"]);
    back.close();
  });
});
