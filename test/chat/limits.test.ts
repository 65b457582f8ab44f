import { describe, expect, it } from "vitest";
import { newCaller } from "../helpers/auth";
import { api } from "../helpers/http";
import { join, msg, openTicket } from "./helpers";

const attachment = {
  url: "https://files.example/a.png",
  name: "a.png",
  content_type: "image/png",
  size: 1000,
};

describe("TicketRoom limits", () => {
  it("answers malformed frames with an error frame and keeps the connection", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const s = await join(owner, id);
    s.send("{not json");
    expect(await s.nextOf("error")).toMatchObject({ code: "INVALID_JSON" });
    s.send({ type: "shout", body: "hi" });
    expect(await s.nextOf("error")).toMatchObject({ code: "UNKNOWN_TYPE" });
    s.send({ type: "message", client_id: "big", body: "x".repeat(4001) });
    expect(await s.nextOf("error")).toMatchObject({ code: "VALIDATION_FAILED", client_id: "big" });
    s.send({ type: "message", client_id: "empty", body: "  " });
    expect(await s.nextOf("error")).toMatchObject({ code: "VALIDATION_FAILED", client_id: "empty" });
    s.send({ type: "read", up_to: -1 });
    expect(await s.nextOf("error")).toMatchObject({ code: "VALIDATION_FAILED" });
    // Still usable after all that.
    s.send(msg("ok-1"));
    expect(await s.nextOf("ack")).toMatchObject({ client_id: "ok-1", seq: 1 });
    s.close();
  });

  it("validates attachment metadata", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const s = await join(owner, id);
    const bad = [
      { ...attachment, url: "http://files.example/a.png" },
      { ...attachment, size: 25 * 1024 * 1024 + 1 },
      { ...attachment, content_type: "not a mime" },
      { ...attachment, name: "" },
      { ...attachment, bytes: "AAAA" },
    ];
    for (const [i, a] of bad.entries()) {
      s.send({ type: "message", client_id: `att-${i}`, body: "see file", attachments: [a] });
      const e = await s.nextOf("error");
      expect(e).toMatchObject({ code: "VALIDATION_FAILED", client_id: `att-${i}` });
    }
    s.send({ type: "message", client_id: "att-many", body: "files", attachments: Array(6).fill(attachment) });
    expect(await s.nextOf("error")).toMatchObject({ code: "VALIDATION_FAILED", client_id: "att-many" });
    s.send({ type: "message", client_id: "att-ok", body: "", attachments: [attachment] });
    expect(await s.nextOf("ack")).toMatchObject({ client_id: "att-ok" });
    s.close();
  });

  it("closes with 1009 on an oversized frame", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const s = await join(owner, id);
    s.send(JSON.stringify({ type: "message", client_id: "huge", body: "x".repeat(70 * 1024) }));
    expect((await s.closed()).code).toBe(1009);
  });

  it("rate-limits each connection with a token bucket, then closes abusers with 1008", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const flood = await join(owner, id);
    const calm = await join(owner, id);
    for (let i = 0; i < 14; i++) flood.send(msg(`f-${i}`));
    for (let i = 0; i < 14; i++) await flood.next((f) => f.type === "ack" || f.type === "error");
    const acks = flood.seen.filter((f) => f.type === "ack").length;
    const limited = flood.seen.filter((f) => f.type === "error" && f.code === "RATE_LIMITED").length;
    expect(acks + limited).toBe(14);
    expect(limited).toBeGreaterThanOrEqual(1);
    // The bucket is per connection: the owner's other socket is unaffected.
    calm.send(msg("calm-1"));
    expect(await calm.nextOf("ack")).toMatchObject({ client_id: "calm-1" });
    // Keep hammering: repeated rejections end in a policy close.
    for (let i = 0; i < 30; i++) flood.send(msg(`g-${i}`));
    expect((await flood.closed()).code).toBe(1008);
    calm.close();
  });

  it("closes every socket with 4000 when the ticket is closed", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    const o = await join(owner, id);
    const a = await join(admin, id);
    const res = await api(`/api/v1/support/tickets/${id}`, {
      method: "PATCH",
      headers: admin.headers,
      body: JSON.stringify({ status: "closed" }),
    });
    expect(res.status).toBe(200);
    expect(await o.closed()).toMatchObject({ code: 4000, reason: "ticket closed" });
    expect((await a.closed()).code).toBe(4000);
  });
});
