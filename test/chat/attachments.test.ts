import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ATTACHMENT_LIMITS, objectKey, sweepAttachments } from "../../src/chat/attachments.service";
import { newCaller } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { testDeps } from "../helpers/deps";
import { eventually } from "../helpers/eventually";
import { api, expectEnvelope } from "../helpers/http";
import { join, openTicket } from "./helpers";

type Caller = Awaited<ReturnType<typeof newCaller>>;

/** A real 1×1 PNG (decodable, so the browser test can preview it too). */
const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="),
  (ch) => ch.charCodeAt(0),
);
const text = (s: string) => new TextEncoder().encode(s);
const PDF = text("%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n");

function upload(
  who: Caller,
  ticketId: string,
  body: BodyInit,
  opts: { type?: string; filename?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { authorization: `Bearer ${who.token}`, ...opts.headers };
  if (opts.type !== undefined) headers["content-type"] = opts.type;
  const q = encodeURIComponent(opts.filename ?? "shot.png");
  return api(`/api/v1/support/tickets/${ticketId}/attachments?filename=${q}`, {
    method: "POST",
    headers,
    body,
  });
}

async function uploaded(
  who: Caller,
  ticketId: string,
  bytes: Uint8Array = PNG,
  type = "image/png",
  filename = "shot.png",
) {
  return bodyOf(
    await upload(who, ticketId, bytes, { type, filename }),
    "POST /support/tickets/:id/attachments",
    201,
  );
}

const download = (who: Caller, ticketId: string, id: string, headers: Record<string, string> = {}) =>
  api(`/api/v1/support/tickets/${ticketId}/attachments/${id}`, {
    headers: { authorization: `Bearer ${who.token}`, ...headers },
  });

const rowsOf = (ticketId: string) =>
  env.DB.prepare("SELECT id, status, size FROM chat_attachments WHERE ticket_id = ? ORDER BY created_at")
    .bind(ticketId)
    .all<{ id: string; status: string; size: number }>()
    .then((r) => r.results);

/** A row written straight to D1 (budget and state fixtures); with an object when `bytes` is given. */
async function seedRow(
  ticketId: string,
  status: string,
  size: number,
  opts: { at?: number; bytes?: Uint8Array } = {},
) {
  const id = crypto.randomUUID();
  const at = opts.at ?? Date.now();
  await env.DB.prepare(
    `INSERT INTO chat_attachments (id, ticket_id, uploader_id, name, content_type, size, sha256, status, created_at, updated_at)
     VALUES (?, ?, 'seed', 'seed.png', 'image/png', ?, 'x', ?, ?, ?)`,
  )
    .bind(id, ticketId, size, status, at, at)
    .run();
  if (opts.bytes) await env.ATTACHMENTS.put(objectKey(ticketId, id), opts.bytes);
  return id;
}

/** A ReadableStream of `total` bytes with no known length (a chunked upload). */
function streamOf(total: number, chunk = 1024 * 1024): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(ctrl) {
      if (sent >= total) return ctrl.close();
      const n = Math.min(chunk, total - sent);
      const part = new Uint8Array(n).fill(0x61);
      sent += n;
      ctrl.enqueue(part);
    },
  });
}

describe("chat attachments", () => {
  it("uploads a png, sends it in a message, and participants download it", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id: ticketId } = await openTicket(owner);
    const a = await uploaded(owner, ticketId, PNG, "image/png", "Écran 1 d'erreur.png");
    expect(a).toMatchObject({
      ticket_id: ticketId,
      uploader_id: owner.sub,
      content_type: "image/png",
      size: PNG.length,
    });
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", PNG));
    expect(a.sha256).toBe(Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
    expect(await rowsOf(ticketId)).toEqual([{ id: a.id, status: "ready", size: PNG.length }]);

    const o = await join(owner, ticketId);
    const s = await join(admin, ticketId);
    o.send({ type: "message", client_id: "c1", body: "see screenshot", attachment_ids: [a.id] });
    const ack = await o.nextOf("ack");
    const seen = await s.nextOf("message");
    const expected = {
      id: a.id,
      url: `/api/v1/support/tickets/${ticketId}/attachments/${a.id}`,
      name: a.name,
      content_type: "image/png",
      size: PNG.length,
    };
    expect(seen.attachments).toEqual([expected]);
    // A resend of the same client_id is acked as the duplicate it is.
    o.send({ type: "message", client_id: "c1", body: "see screenshot", attachment_ids: [a.id] });
    expect(await o.nextOf("ack")).toMatchObject({ id: ack.id, duplicate: true });

    const history = await eventually(async () => {
      const page = await bodyOf(
        await api(`/api/v1/support/tickets/${ticketId}/messages`, { headers: admin.headers }),
        "GET /support/tickets/:id/messages",
        200,
      );
      return page.items.length === 1 ? page.items : null;
    }, "the message mirrored to D1");
    expect(history[0]?.attachments).toEqual([expected]);

    for (const who of [owner, admin]) {
      const res = await download(who, ticketId, a.id);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/png");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; sandbox");
      expect(res.headers.get("cache-control")).toBe("private, max-age=300");
      expect(res.headers.get("content-disposition")).toBe(
        `inline; filename="_cran 1 d'erreur.png"; filename*=UTF-8''%C3%89cran%201%20d%27erreur.png`,
      );
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG);
    }
    const etag = (await download(owner, ticketId, a.id)).headers.get("etag") ?? "";
    const again = await download(owner, ticketId, a.id, { "if-none-match": etag });
    expect(again.status).toBe(304);
    o.close();
    s.close();
  });

  it("serves text and pdf as downloads, never inline", async () => {
    const owner = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    const t = await uploaded(
      owner,
      ticketId,
      text("error: card_declined\n"),
      "text/plain; charset=utf-8",
      "log.txt",
    );
    const res = await download(owner, ticketId, t.id);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; /);
    expect(await res.text()).toBe("error: card_declined\n");
    const p = await uploaded(owner, ticketId, PDF, "application/octet-stream", "invoice.pdf");
    expect(p.content_type).toBe("application/pdf");
    expect((await download(owner, ticketId, p.id)).headers.get("content-disposition")).toMatch(
      /^attachment; /,
    );
  });

  it("answers 404 to a stranger and for another ticket's attachment", async () => {
    const owner = await newCaller("user");
    const stranger = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    const { id: otherTicket } = await openTicket(owner);
    const a = await uploaded(owner, ticketId);
    await expectEnvelope(await download(stranger, ticketId, a.id), 404, "NOT_FOUND");
    await expectEnvelope(await download(owner, otherTicket, a.id), 404, "NOT_FOUND");
    await expectEnvelope(await download(owner, ticketId, crypto.randomUUID()), 404, "NOT_FOUND");
    await expectEnvelope(await upload(stranger, ticketId, PNG, { type: "image/png" }), 404, "NOT_FOUND");
    expect(await rowsOf(ticketId)).toHaveLength(1);
  });

  it("refuses too large uploads, declared or counted, with 413 and writes nothing", async () => {
    const owner = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    const over = new Uint8Array(ATTACHMENT_LIMITS.maxBytes + 1).fill(0x61);
    await expectEnvelope(
      await upload(owner, ticketId, over, { type: "text/plain", filename: "big.txt" }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    // No Content-Length at all: the count while reading stops it.
    const streamed = await upload(owner, ticketId, streamOf(ATTACHMENT_LIMITS.maxBytes + 1), {
      type: "text/plain",
      filename: "big.txt",
    });
    await expectEnvelope(streamed, 413, "PAYLOAD_TOO_LARGE");
    expect(await rowsOf(ticketId)).toEqual([]);
    // Just under the cap, streamed, is fine (the API-wide 256 KB limit does not apply here).
    const ok = await upload(owner, ticketId, streamOf(ATTACHMENT_LIMITS.maxBytes), { filename: "ok.txt" });
    expect(ok.status).toBe(201);
  });

  it("refuses SVG, HTML and executables with 415 whatever they are declared as", async () => {
    const owner = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    const svg = text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const html = text("  <!doctype html><script>alert(document.cookie)</script>");
    const exe = Uint8Array.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00]);
    const cases: Array<[Uint8Array, string | undefined, string]> = [
      [svg, "image/svg+xml", "x.svg"],
      [svg, undefined, "x.png"],
      [svg, "text/plain", "x.txt"],
      [html, "text/html", "x.html"],
      [html, "text/plain", "x.txt"],
      [exe, "application/octet-stream", "x.txt"],
      [exe, "application/x-msdownload", "x.exe"],
    ];
    for (const [bytes, type, filename] of cases) {
      const res = await upload(owner, ticketId, bytes, { ...(type ? { type } : {}), filename });
      await expectEnvelope(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
    expect(await rowsOf(ticketId)).toEqual([]);
  });

  it("answers 422 when the declared type contradicts the bytes or the filename is bad", async () => {
    const owner = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    const mismatch = await upload(owner, ticketId, PDF, { type: "image/png", filename: "x.png" });
    const body = await expectEnvelope(mismatch, 422, "UNPROCESSABLE");
    expect(body.error.message).toContain("application/pdf");
    // Bidi overrides and invisible characters spoof the shown name: "invoice\u202Etxt.png" (a
    // png) reads as "invoicegnp.txt"; C1 controls and line separators break the line it is on.
    const spoofs = ["invoice\u202Etxt.png", "a\u2066b.png", "a\u200Bb.png", "a\u0085.png", "a\u2028.png"];
    for (const filename of ["../etc/x.png", "x.html", ".png", "a\u0000.png", "shot.pdf", ...spoofs]) {
      await expectEnvelope(
        await upload(owner, ticketId, PNG, { type: "image/png", filename }),
        422,
        "UNPROCESSABLE",
      );
    }
    await expectEnvelope(
      await upload(owner, ticketId, new Uint8Array(), { filename: "x.txt" }),
      422,
      "UNPROCESSABLE",
    );
    expect(await rowsOf(ticketId)).toEqual([]);
  });

  it("upload rate limit: 20 a minute per user, then 429 with nothing written", async () => {
    const owner = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const res = await upload(owner, ticketId, text(`line ${i}\n`), { filename: `n${i}.txt` });
      statuses.push(res.status);
      if (res.status === 429) {
        const body = await expectEnvelope(res, 429, "RATE_LIMITED");
        expect(body.error.code).toBe("RATE_LIMITED");
        expect(res.headers.get("retry-after")).not.toBeNull();
      } else await res.body?.cancel();
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses[20]).toBe(429);
    expect(await rowsOf(ticketId)).toHaveLength(20);
  });

  it("holds the per-ticket file budget under parallel uploads", async () => {
    const owner = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    const seeded = Array.from({ length: ATTACHMENT_LIMITS.perTicketFiles - 2 }, () =>
      env.DB.prepare(
        `INSERT INTO chat_attachments (id, ticket_id, uploader_id, name, content_type, size, sha256, status, created_at, updated_at)
         VALUES (?, ?, 'seed', 'seed.png', 'image/png', 1, 'x', 'ready', 1, 1)`,
      ).bind(crypto.randomUUID(), ticketId),
    );
    await env.DB.batch(seeded);
    // Different uploaders, so the per-user rate limit is not what decides.
    const uploaders = [owner, ...(await Promise.all(Array.from({ length: 5 }, () => newCaller("admin"))))];
    const results = await Promise.all(uploaders.map((u) => upload(u, ticketId, PNG, { type: "image/png" })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) await expectEnvelope(r, 409, "CONFLICT");
    expect(await rowsOf(ticketId)).toHaveLength(ATTACHMENT_LIMITS.perTicketFiles);
  });

  it("holds the per-ticket byte budget under parallel uploads", async () => {
    const owner = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    await seedRow(ticketId, "ready", ATTACHMENT_LIMITS.perTicketBytes - PNG.length - 10);
    const admins = await Promise.all(Array.from({ length: 4 }, () => newCaller("admin")));
    const results = await Promise.all(
      [owner, ...admins].map((u) => upload(u, ticketId, PNG, { type: "image/png" })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const total = (await rowsOf(ticketId)).reduce((n, r) => n + r.size, 0);
    expect(total).toBeLessThanOrEqual(ATTACHMENT_LIMITS.perTicketBytes);
  });

  it("rejects a message frame naming another ticket's or a pending attachment", async () => {
    const owner = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    const { id: otherTicket } = await openTicket(owner);
    const foreign = await uploaded(owner, otherTicket);
    const pending = await seedRow(ticketId, "pending", 10);
    const o = await join(owner, ticketId);
    for (const [i, id] of [foreign.id, pending, crypto.randomUUID()].entries()) {
      o.send({ type: "message", client_id: `bad${i}`, body: "x", attachment_ids: [id] });
      const err = await o.nextOf("error");
      expect(err).toMatchObject({ code: "VALIDATION_FAILED", client_id: `bad${i}` });
      expect(err.details).toEqual([
        { path: "attachment_ids.0", message: "not a ready attachment of this ticket" },
      ]);
    }
    o.send({ type: "message", client_id: "ok", body: "plain" });
    expect(await o.nextOf("ack")).toMatchObject({ seq: 1 });
    o.close();
  });

  it("erasing a ticket deletes its objects through the sweep, and a re-run is idempotent", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id: ticketId } = await openTicket(owner);
    const a = await uploaded(owner, ticketId);
    const b = await uploaded(admin, ticketId, PDF, "application/pdf", "b.pdf");
    await expectEnvelope(
      await api(`/api/v1/support/tickets/${ticketId}`, { method: "DELETE", headers: owner.headers }),
      403,
      "FORBIDDEN",
    );
    const del = await api(`/api/v1/support/tickets/${ticketId}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(del.status).toBe(204);
    // D1 first: the rows are marked, the ticket is gone, the objects wait for the sweep.
    expect((await rowsOf(ticketId)).map((r) => r.status)).toEqual(["deleting", "deleting"]);
    await expectEnvelope(await download(owner, ticketId, a.id), 404, "NOT_FOUND");
    await expectEnvelope(await api(`/api/v1/support/tickets/${ticketId}`, { headers: admin.headers }), 404);
    expect(await env.ATTACHMENTS.head(objectKey(ticketId, a.id))).not.toBeNull();
    // A sweep that died after the R2 delete: one object already gone, its row still there.
    await env.ATTACHMENTS.delete(objectKey(ticketId, b.id));

    // The objects go at once; rows younger than the stale window stay (an upload may still be writing).
    await sweepAttachments(testDeps());
    expect(await env.ATTACHMENTS.head(objectKey(ticketId, a.id))).toBeNull();
    expect((await rowsOf(ticketId)).map((r) => r.status)).toEqual(["deleting", "deleting"]);
    const later = Date.now() + ATTACHMENT_LIMITS.pendingStaleMs + 1000;
    const first = await sweepAttachments(testDeps(), later);
    expect(first.deleted).toBeGreaterThanOrEqual(2);
    expect(await rowsOf(ticketId)).toEqual([]);
    const rerun = await sweepAttachments(testDeps(), later);
    expect(await rowsOf(ticketId)).toEqual([]);
    expect(rerun.deleted).toBe(0);
    // The same DELETE again is a 404: nothing is left to erase.
    await expectEnvelope(
      await api(`/api/v1/support/tickets/${ticketId}`, { method: "DELETE", headers: admin.headers }),
      404,
      "NOT_FOUND",
    );
  });

  it("an upload whose body is still arriving when the ticket is closed or erased stores nothing", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    for (const end of ["close", "erase"] as const) {
      const { id: ticketId } = await openTicket(owner);
      // The body is held open: the upload has passed its ticket check and is reading bytes.
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const feed = writable.getWriter();
      void feed.write(PNG.subarray(0, 16));
      const pending = upload(owner, ticketId, readable, { type: "image/png" });
      await new Promise((r) => setTimeout(r, 200));
      const change =
        end === "close"
          ? await api(`/api/v1/support/tickets/${ticketId}`, {
              method: "PATCH",
              headers: admin.headers,
              body: JSON.stringify({ status: "closed" }),
            })
          : await api(`/api/v1/support/tickets/${ticketId}`, { method: "DELETE", headers: admin.headers });
      expect(change.status).toBe(end === "close" ? 200 : 204);
      // Not awaited: an upload that refused before reading never drains them.
      void feed.write(PNG.subarray(16));
      void feed.close();
      const res = await pending;
      if (end === "close") await expectEnvelope(res, 409, "CONFLICT");
      else await expectEnvelope(res, 404, "NOT_FOUND");
      expect(await rowsOf(ticketId)).toEqual([]);
    }
  });

  it("an upload whose put lands after the erase and the sweep leaves no object without a row", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id: ticketId } = await openTicket(owner);
    // An upload between its pending row and its R2 put when the ticket is erased.
    const inFlight = await seedRow(ticketId, "pending", PNG.length);
    const del = await api(`/api/v1/support/tickets/${ticketId}`, {
      method: "DELETE",
      headers: admin.headers,
    });
    expect(del.status).toBe(204);
    await sweepAttachments(testDeps());
    // The put lands now, and the upload's own clean-up delete fails (or the Worker died).
    await env.ATTACHMENTS.put(objectKey(ticketId, inFlight), PNG);
    expect((await rowsOf(ticketId)).map((r) => r.id)).toEqual([inFlight]);
    await sweepAttachments(testDeps(), Date.now() + ATTACHMENT_LIMITS.pendingStaleMs + 1000);
    expect(await env.ATTACHMENTS.head(objectKey(ticketId, inFlight))).toBeNull();
    expect(await rowsOf(ticketId)).toEqual([]);
  });

  it("sweeps an upload that crashed between its row and its object, but not a fresh one", async () => {
    const owner = await newCaller("user");
    const { id: ticketId } = await openTicket(owner);
    const stale = await seedRow(ticketId, "pending", PNG.length, {
      at: Date.now() - ATTACHMENT_LIMITS.pendingStaleMs - 1000,
      bytes: PNG,
    });
    const fresh = await seedRow(ticketId, "pending", PNG.length);
    const ready = await uploaded(owner, ticketId);
    await sweepAttachments(testDeps());
    expect((await rowsOf(ticketId)).map((r) => r.id).sort()).toEqual([fresh, ready.id].sort());
    expect(await env.ATTACHMENTS.head(objectKey(ticketId, stale))).toBeNull();
    expect(await env.ATTACHMENTS.head(objectKey(ticketId, ready.id))).not.toBeNull();
  });
});
