import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { type BodyOf, bodyOf } from "../helpers/body";
import { api, expectEnvelope, postJson } from "../helpers/http";
import { openApiDoc } from "../helpers/openapi";
import { openTicket } from "./helpers";

type Tickets = BodyOf<"GET /support/tickets", 200>;
type Messages = BodyOf<"GET /support/tickets/:id/messages", 200>;

const patch = (id: string, body: unknown, headers: Record<string, string>) =>
  api(`/api/v1/support/tickets/${id}`, { method: "PATCH", headers, body: JSON.stringify(body) });

async function seedMessages(ticketId: string, n: number, readUpTo = 0) {
  const stmts = Array.from({ length: n }, (_, i) =>
    env.DB.prepare(
      "INSERT INTO chat_messages (id, ticket_id, seq, sender_id, sender_role, body, attachments, client_id, read_at, created_at) VALUES (?, ?, ?, 's', 'admin', ?, '[]', ?, ?, ?)",
    ).bind(
      crypto.randomUUID(),
      ticketId,
      i + 1,
      `m${i + 1}`,
      `c${i + 1}`,
      i + 1 <= readUpTo ? 1_700_000_000_000 : null,
      1_700_000_000_000 + i,
    ),
  );
  await env.DB.batch(stmts);
}

describe("support tickets", () => {
  it("creates, reads and lists own tickets; others get 404", async () => {
    const owner = await newCaller("user");
    const other = await newCaller("user");
    const res = await postJson("/api/v1/support/tickets", { subject: "Card declined" }, owner.headers);
    expect(res.status).toBe(201);
    const t = await bodyOf(res, "POST /support/tickets", 201);
    expect(t).toMatchObject({
      user_id: owner.sub,
      status: "open",
      subject: "Card declined",
      merchant_id: null,
    });
    expect((await api(`/api/v1/support/tickets/${t.id}`, { headers: owner.headers })).status).toBe(200);
    await expectEnvelope(await api(`/api/v1/support/tickets/${t.id}`, { headers: other.headers }), 404);
    await expectEnvelope(
      await api(`/api/v1/support/tickets/${t.id}/messages`, { headers: other.headers }),
      404,
    );
    const mine = await bodyOf(
      await api("/api/v1/support/tickets", { headers: owner.headers }),
      "GET /support/tickets",
      200,
    );
    expect(mine.items.map((x) => x.id)).toEqual([t.id]);
    const theirs = await bodyOf(
      await api("/api/v1/support/tickets", { headers: other.headers }),
      "GET /support/tickets",
      200,
    );
    expect(theirs.items).toEqual([]);
  });

  it("validates input and requires auth", async () => {
    const owner = await newCaller("user");
    await expectEnvelope(await postJson("/api/v1/support/tickets", { subject: "" }, owner.headers), 400);
    await expectEnvelope(
      await postJson("/api/v1/support/tickets", { subject: "x", extra: 1 }, owner.headers),
      400,
    );
    await expectEnvelope(await postJson("/api/v1/support/tickets", { subject: "x" }), 401);
    await expectEnvelope(await api("/api/v1/support/tickets/not-a-uuid", { headers: owner.headers }), 400);
    await expectEnvelope(await api("/api/v1/support/tickets?status=weird", { headers: owner.headers }), 400);
  });

  it("pins a merchant's ticket to its own merchant", async () => {
    const m = await newCaller("merchant", crypto.randomUUID());
    const t = await openTicket(m);
    expect(t).toMatchObject({ merchant_id: m.merchantId });
    const res = await postJson("/api/v1/support/tickets", { subject: "x", merchant_id: "other" }, m.headers);
    await expectEnvelope(res, 403, "FORBIDDEN");
  });

  it("lets only admins change status; admins see all tickets filtered by status", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    await expectEnvelope(await patch(id, { status: "resolved" }, owner.headers), 403);
    await expectEnvelope(await patch(id, { status: "bogus" }, admin.headers), 400);
    await expectEnvelope(await patch(crypto.randomUUID(), { status: "resolved" }, admin.headers), 404);
    const res = await patch(id, { status: "pending" }, admin.headers);
    expect(await res.json()).toMatchObject({ id, status: "pending" });
    expect((await patch(id, { status: "pending" }, admin.headers)).status).toBe(200);
    const pending = await bodyOf(
      await api("/api/v1/support/tickets?status=pending&limit=100", { headers: admin.headers }),
      "GET /support/tickets",
      200,
    );
    expect(pending.items.some((t) => t.id === id)).toBe(true);
    expect(pending.items.every((t) => t.status === "pending")).toBe(true);
    const events = await env.DB.prepare(
      "SELECT type FROM domain_events WHERE type = 'ticket.status_changed' AND json_extract(payload, '$.ticket_id') = ?",
    )
      .bind(id)
      .all();
    expect(events.results).toHaveLength(1);
  });

  it("paginates a user's tickets with a cursor", async () => {
    const owner = await newCaller("user");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await openTicket(owner, { subject: `t${i}` })).id);
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const page: Tickets = await bodyOf(
        await api(`/api/v1/support/tickets?limit=2${q}`, { headers: owner.headers }),
        "GET /support/tickets",
        200,
      );
      seen.push(...page.items.map((t) => t.id));
      cursor = page.next_cursor;
    }
    expect(new Set(seen)).toEqual(new Set(ids));
    expect(seen).toHaveLength(5);
  });
});

describe("GET /support/tickets/{id}/messages", () => {
  it("pages through history by seq, newest first by default, with read_at", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    await seedMessages(id, 7, 3);
    const seqs: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : "";
      const res = await api(`/api/v1/support/tickets/${id}/messages?limit=3${q}`, { headers: owner.headers });
      expect(res.status).toBe(200);
      const page: Messages = await bodyOf(res, "GET /support/tickets/:id/messages", 200);
      seqs.push(...page.items.map((m) => m.seq));
      if (page.items[0]?.seq === 3)
        expect(page.items[0].read_at).toBe(new Date(1_700_000_000_000).toISOString());
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(seqs).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(pages).toBe(3);

    const asc = await bodyOf(
      await api(`/api/v1/support/tickets/${id}/messages?order=asc&limit=4`, { headers: owner.headers }),
      "GET /support/tickets/:id/messages",
      200,
    );
    expect(asc.items.map((m) => [m.seq, m.read_at !== null])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, false],
    ]);
    const rest = await bodyOf(
      await api(`/api/v1/support/tickets/${id}/messages?order=asc&limit=4&cursor=${asc.next_cursor}`, {
        headers: owner.headers,
      }),
      "GET /support/tickets/:id/messages",
      200,
    );
    expect(rest.items.map((m) => m.seq)).toEqual([5, 6, 7]);
    expect(rest.next_cursor).toBeNull();
  });

  it("lets an admin read any ticket's history and rejects a bad cursor", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    await seedMessages(id, 2);
    const page = await bodyOf(
      await api(`/api/v1/support/tickets/${id}/messages`, { headers: admin.headers }),
      "GET /support/tickets/:id/messages",
      200,
    );
    expect(page.items).toHaveLength(2);
    await expectEnvelope(
      await api(`/api/v1/support/tickets/${id}/messages?cursor=%%%`, { headers: admin.headers }),
      400,
      "VALIDATION_FAILED",
    );
  });
});

describe("OpenAPI", () => {
  it("documents the chat endpoints", async () => {
    const doc = await openApiDoc();
    expect(Object.keys(doc.paths["/api/v1/support/tickets"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/api/v1/support/tickets/{id}"] ?? {}).sort()).toEqual([
      "delete",
      "get",
      "patch",
    ]);
    expect(doc.paths["/api/v1/support/tickets/{id}/messages"]?.get).toBeDefined();
    const upload = doc.paths["/api/v1/support/tickets/{id}/attachments"]?.post;
    expect(Object.keys(upload?.requestBody?.content ?? {})).toContain("image/png");
    expect(upload?.responses?.["413"] && upload.responses["415"] && upload.responses["422"]).toBeTruthy();
    expect(doc.paths["/api/v1/support/tickets/{id}/attachments/{attachment_id}"]?.get).toBeDefined();
    expect(doc.paths["/api/v1/realtime/tickets"]?.post).toBeDefined();
  });
});
