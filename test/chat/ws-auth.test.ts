import { describe, expect, it } from "vitest";
import { newCaller, tokenFor } from "../helpers/auth";
import { bodyOf } from "../helpers/body";
import { api, expectEnvelope, postJson, upgrade } from "../helpers/http";
import { bearer, connect, openTicket } from "./helpers";

async function issue(caller: { headers: Record<string, string> }, path: string): Promise<Response> {
  return postJson("/api/v1/realtime/tickets", { path }, caller.headers);
}

describe("WebSocket refusals (before the upgrade)", () => {
  it("refuses with no credentials (401)", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    await expectEnvelope(await upgrade(`/ws/support/${id}`), 401, "UNAUTHENTICATED");
  });

  it("refuses a bad bearer token (401) and never accepts a JWT in the URL", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const forged = await tokenFor({ role: "user", sub: owner.sub, secret: "x".repeat(40) });
    await expectEnvelope(await upgrade(`/ws/support/${id}`, { authorization: `Bearer ${forged}` }), 401);
    await expectEnvelope(await upgrade(`/ws/support/${id}?token=${owner.token}`), 401);
    await expectEnvelope(await upgrade(`/ws/support/${id}?access_token=${owner.token}`), 401);
  });

  it("hides someone else's ticket (404, same as a missing one)", async () => {
    const owner = await newCaller("user");
    const other = await newCaller("user");
    const { id } = await openTicket(owner);
    await expectEnvelope(await upgrade(`/ws/support/${id}`, bearer(other)), 404, "NOT_FOUND");
    await expectEnvelope(
      await upgrade(`/ws/support/${crypto.randomUUID()}`, bearer(owner)),
      404,
      "NOT_FOUND",
    );
  });

  it("refuses a merchant on another merchant's channel and an admin on another admin's (403)", async () => {
    const merchant = await newCaller("merchant", crypto.randomUUID());
    const admin = await newCaller("admin");
    const user = await newCaller("user");
    await expectEnvelope(
      await upgrade(`/ws/merchant/${crypto.randomUUID()}`, bearer(merchant)),
      403,
      "FORBIDDEN",
    );
    await expectEnvelope(await upgrade(`/ws/admin/${crypto.randomUUID()}`, bearer(admin)), 403, "FORBIDDEN");
    await expectEnvelope(
      await upgrade(`/ws/merchant/${merchant.merchantId}`, bearer(user)),
      403,
      "FORBIDDEN",
    );
    await expectEnvelope(await upgrade(`/ws/admin/${admin.sub}`, bearer(merchant)), 403, "FORBIDDEN");
  });

  it("answers a plain GET with 426 and a bad since with 400", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const res = await api(`/ws/support/${id}`, { headers: bearer(owner) });
    await expectEnvelope(res, 426, "UPGRADE_REQUIRED");
    expect(res.headers.get("upgrade")).toBe("websocket");
    await expectEnvelope(
      await upgrade(`/ws/support/${id}?since=-1`, bearer(owner)),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("refuses a closed ticket (409)", async () => {
    const owner = await newCaller("user");
    const admin = await newCaller("admin");
    const { id } = await openTicket(owner);
    const patched = await api(`/api/v1/support/tickets/${id}`, {
      method: "PATCH",
      headers: admin.headers,
      body: JSON.stringify({ status: "closed" }),
    });
    expect(patched.status).toBe(200);
    await expectEnvelope(await upgrade(`/ws/support/${id}`, bearer(owner)), 409, "CONFLICT");
  });

  it("ignores forged internal headers: identity comes only from the verified token", async () => {
    const owner = await newCaller("user");
    const intruder = await newCaller("user");
    const { id } = await openTicket(owner);
    // Without a valid credential the forged headers get nowhere...
    await expectEnvelope(await upgrade(`/ws/support/${id}`, { "x-chat-user-id": owner.sub }), 401);
    // ...and with the owner's token they cannot change who the room thinks you are.
    const s = await connect(`/ws/support/${id}`, {
      ...bearer(owner),
      "x-chat-user-id": intruder.sub,
      "x-chat-role": "admin",
    });
    expect(await s.nextOf("welcome")).toMatchObject({ you: { user_id: owner.sub, role: "user" } });
    s.close();
  });
});

describe("Browser authentication", () => {
  it("accepts Sec-WebSocket-Protocol: bearer, <jwt> and echoes 'bearer'", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const s = await connect(`/ws/support/${id}`, { "sec-websocket-protocol": `bearer, ${owner.token}` });
    expect(s.res.headers.get("sec-websocket-protocol")).toBe("bearer");
    expect(await s.nextOf("welcome")).toMatchObject({ you: { user_id: owner.sub } });
    s.close();
    await expectEnvelope(await upgrade(`/ws/support/${id}`, { "sec-websocket-protocol": "bearer" }), 401);
  });

  it("issues a single-use connect ticket bound to one path", async () => {
    const owner = await newCaller("user");
    const { id } = await openTicket(owner);
    const res = await issue(owner, `/ws/support/${id}`);
    expect(res.status).toBe(201);
    const issued = await bodyOf(res, "POST /realtime/tickets", 201);
    expect(Date.parse(issued.expires_at) - Date.now()).toBeLessThanOrEqual(60_000);
    const url = new URL(issued.url);
    expect(url.protocol).toBe("ws:");
    expect(url.pathname).toBe(`/ws/support/${id}`);
    expect(url.searchParams.get("ticket")).toBe(issued.ticket);

    const s = await connect(`/ws/support/${id}?ticket=${issued.ticket}`);
    expect(await s.nextOf("welcome")).toMatchObject({ you: { user_id: owner.sub, role: "user" } });
    s.close();
    // Second use of the same ticket.
    await expectEnvelope(await upgrade(`/ws/support/${id}?ticket=${issued.ticket}`), 401, "UNAUTHENTICATED");
  });

  it("burns a ticket presented on the wrong path", async () => {
    const owner = await newCaller("user");
    const a = await openTicket(owner);
    const b = await openTicket(owner);
    const issued = await bodyOf(await issue(owner, `/ws/support/${a.id}`), "POST /realtime/tickets", 201);
    await expectEnvelope(await upgrade(`/ws/support/${b.id}?ticket=${issued.ticket}`), 401);
    await expectEnvelope(await upgrade(`/ws/support/${a.id}?ticket=${issued.ticket}`), 401);
  });

  it("checks access when issuing", async () => {
    const owner = await newCaller("user");
    const other = await newCaller("user");
    const merchant = await newCaller("merchant", crypto.randomUUID());
    const { id } = await openTicket(owner);
    await expectEnvelope(await issue(other, `/ws/support/${id}`), 404);
    await expectEnvelope(await issue(merchant, `/ws/merchant/${crypto.randomUUID()}`), 403);
    await expectEnvelope(await issue(owner, "/api/v1/support/tickets"), 400, "VALIDATION_FAILED");
    await expectEnvelope(await postJson("/api/v1/realtime/tickets", { path: `/ws/support/${id}` }), 401);
    expect((await issue(merchant, `/ws/merchant/${merchant.merchantId}`)).status).toBe(201);
  });
});
