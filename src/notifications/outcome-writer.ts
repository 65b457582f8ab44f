import type { Db } from "../platform/types";
import { recordOutcomes, type SendResult } from "./deliveries.service";

type Entry = { result: SendResult; done: (err: unknown) => void };

/**
 * Writes each send's outcome as soon as its FCM request has answered, so a retry of the job
 * can see it (a delivery already `sent` is never sent again). Outcomes that arrive while a
 * write is in flight are written together by the next one (group commit): a send waits for
 * at most one write ahead of its own, and a job of 50 sends costs a handful of D1 queries
 * instead of one per send, far below the 1,000 D1 queries an invocation may make.
 */
export function createOutcomeWriter(db: Db, claimToken: string) {
  const waiting: Entry[] = [];
  let writing = false;

  /** Writes a group; settles every entry only on success or when it is a single one. */
  async function attempt(group: Entry[]): Promise<boolean> {
    try {
      await recordOutcomes(
        db,
        group.map((e) => e.result),
        claimToken,
      );
      for (const e of group) e.done(null);
      return true;
    } catch (err) {
      if (group.length === 1) group[0]?.done(err ?? new Error("outcome write failed"));
      return false;
    }
  }

  async function drain(): Promise<void> {
    writing = true;
    while (waiting.length > 0) {
      const group = waiting.splice(0, waiting.length);
      if (!(await attempt(group)) && group.length > 1) {
        // One row D1 refuses must not keep the others of its group unrecorded.
        for (const e of group) await attempt([e]);
      }
    }
    writing = false;
  }

  /** Resolves once the outcome is in D1; rejects with the D1 error if the write failed. */
  return function write(result: SendResult): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      waiting.push({ result, done: (err) => (err === null ? resolve() : reject(err)) });
      if (!writing) void drain();
    });
  };
}
