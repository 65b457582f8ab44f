import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { roomStub } from "../chat/helpers";
import { type Caller, newCaller } from "../payments/helpers";
import { ChatClient } from "./chat-client";
import { sleep } from "./helpers";

type D1Message = { id: string; seq: number; client_id: string; sender_id: string };

async function d1Messages(ticketId: string): Promise<D1Message[]> {
  const { results } = await env.DB.prepare(
    "select id, seq, client_id, sender_id from chat_messages where ticket_id = ? order by seq",
  )
    .bind(ticketId)
    .all<D1Message>();
  return results;
}

/** Waits (bounded) until D1 holds `expected` messages, running the room's retry alarm if one is set. */
async function mirrored(ticketId: string, expected: number): Promise<D1Message[]> {
  let rows: D1Message[] = [];
  for (let i = 0; i < 60; i++) {
    rows = await d1Messages(ticketId);
    if (rows.length >= expected) return rows;
    if (i % 10 === 9) await runDurableObjectAlarm(roomStub(ticketId));
    await sleep(100);
  }
  return rows;
}

export type TicketFigures = { sent: number; acked: number; lost: number; duplicated: number };

/**
 * The "nothing lost" checks for one ticket:
 * - every client_id sent was acked, and every ack for it names the same id and seq;
 * - seqs are exactly 1..N, N = number of distinct messages;
 * - the room log (a fresh socket with ?since=0) and D1 each hold every message exactly once;
 * - every client's view (seq → id) is identical to the room's.
 */
export async function verifyTicket(
  ticketId: string,
  clients: ChatClient[],
  sentIds: Map<string, Set<string>>,
): Promise<TicketFigures> {
  let sent = 0;
  let acked = 0;
  let duplicated = 0;
  const truth = new Map<number, string>();
  for (const [sender, cids] of sentIds) {
    // One sender may use several sockets (tabs): its acks are merged.
    const tabs = clients.filter((c) => c.caller.sub === sender);
    for (const cid of cids) {
      sent++;
      const all = tabs.flatMap((c) => c.acks.get(cid) ?? []);
      const first = all[0];
      if (!first) continue;
      acked++;
      if (all.some((a) => a.id !== first.id || a.seq !== first.seq)) duplicated++;
      if (truth.has(first.seq) && truth.get(first.seq) !== first.id) duplicated++;
      truth.set(first.seq, first.id);
    }
  }
  const n = truth.size;
  expect([...truth.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));

  // The room's own log, as a late joiner replays it.
  const auditor = new ChatClient(await adminCaller(), ticketId, "auditor");
  await auditor.connect();
  await waitView(auditor, n);
  auditor.close();
  expect(auditor.view).toEqual(truth);

  const rows = await mirrored(ticketId, n);
  expect(rows.map((r) => r.seq)).toEqual([...truth.keys()].sort((a, b) => a - b));
  expect(new Map(rows.map((r) => [r.seq, r.id]))).toEqual(truth);
  expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);

  for (const c of clients) {
    expect(c.conflicts).toEqual([]);
    expect(c.view).toEqual(truth);
  }
  return { sent, acked, lost: sent - acked, duplicated };
}

let admin: Caller | null = null;
async function adminCaller(): Promise<Caller> {
  admin ??= await newCaller("admin");
  return admin;
}

/** Bounded wait for a client to have seen `n` messages. */
export async function waitView(c: ChatClient, n: number): Promise<void> {
  for (let i = 0; i < 100 && c.view.size < n; i++) await sleep(50);
}
