import { describe, expect, it } from "vitest";
import { bodyOf, errorOf } from "../helpers/body";
import { adminTestSend, api, newCaller, registerDevice, settled, uid } from "./helpers";

async function history(caller: { headers: Record<string, string> }, query = "") {
  const res = await api(`/api/v1/notifications/history${query}`, { headers: caller.headers });
  expect(res.status).toBe(200);
  return bodyOf(res, "GET /notifications/history", 200);
}

const put = (path: string, headers: Record<string, string>) => api(path, { method: "PUT", headers });

describe("history, unread count and mark-read (Done 8)", () => {
  it("pages newest first, filters by read state and type, and counts unread", async () => {
    const user = await newCaller("user");
    const ids: string[] = [];
    for (const [i, type] of ["payment_received", "feature_flag_enabled", "payment_received"].entries()) {
      const r = await adminTestSend({ user_id: user.sub, type, title: `n${i}` });
      ids.push(r.notification_ids[0] ?? "");
    }
    const all = await history(user);
    expect(all.items.map((i) => i.title)).toEqual(["n2", "n1", "n0"]);
    expect(all.unread_count).toBe(3);

    const p1 = await history(user, "?limit=2");
    expect(p1.items.map((i) => i.title)).toEqual(["n2", "n1"]);
    expect(p1.next_cursor).not.toBeNull();
    const p2 = await history(user, `?limit=2&cursor=${p1.next_cursor}`);
    expect(p2.items.map((i) => i.title)).toEqual(["n0"]);
    expect(p2.next_cursor).toBeNull();

    const read = await put(`/api/v1/notifications/${ids[0]}/read`, user.headers);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: ids[0], read: true });
    expect((await history(user, "?status=read")).items.map((i) => i.title)).toEqual(["n0"]);
    const unread = await history(user, "?status=unread");
    expect(unread.items.map((i) => i.title)).toEqual(["n2", "n1"]);
    expect(unread.unread_count).toBe(2);
    expect((await history(user, "?type=payment_received")).items.map((i) => i.title)).toEqual(["n2", "n0"]);

    const allRead = await put("/api/v1/notifications/read-all", user.headers);
    expect(await allRead.json()).toEqual({ updated: 2, unread_count: 0 });
    expect((await history(user)).unread_count).toBe(0);
  });

  it("someone else's notification is a 404 for read and deliveries; an admin may see deliveries", async () => {
    const owner = await newCaller("user");
    const other = await newCaller("user");
    const admin = await newCaller("admin");
    await registerDevice(owner, `ok-${uid()}`);
    const { notification_ids } = await adminTestSend({ user_id: owner.sub, type: "payment_received" });
    const id = notification_ids[0] ?? "";

    const res = await put(`/api/v1/notifications/${id}/read`, other.headers);
    expect(res.status).toBe(404);
    expect((await errorOf(res, 404)).error.code).toBe("NOT_FOUND");
    expect((await history(owner)).unread_count).toBe(1);
    expect((await api(`/api/v1/notifications/${id}/deliveries`, { headers: other.headers })).status).toBe(
      404,
    );
    expect((await put(`/api/v1/notifications/${crypto.randomUUID()}/read`, owner.headers)).status).toBe(404);

    const [d] = await settled(owner, id);
    expect(d?.status).toBe("sent");
    const asAdmin = await api(`/api/v1/notifications/${id}/deliveries`, { headers: admin.headers });
    expect(asAdmin.status).toBe(200);
    expect((await bodyOf(asAdmin, "GET /notifications/:id/deliveries", 200)).items).toHaveLength(1);
  });

  it("rejects a bad cursor or filter with 400 and anonymous callers with 401", async () => {
    const user = await newCaller("user");
    expect((await api("/api/v1/notifications/history?cursor=%%%", { headers: user.headers })).status).toBe(
      400,
    );
    expect((await api("/api/v1/notifications/history?status=maybe", { headers: user.headers })).status).toBe(
      400,
    );
    expect((await api("/api/v1/notifications/history?type=spam", { headers: user.headers })).status).toBe(
      400,
    );
    expect((await api("/api/v1/notifications/history")).status).toBe(401);
    expect((await api("/api/v1/notifications/read-all", { method: "PUT" })).status).toBe(401);
  });

  it("POST /notifications/test is admin-only", async () => {
    const user = await newCaller("user");
    const res = await api("/api/v1/notifications/test", {
      method: "POST",
      headers: user.headers,
      body: JSON.stringify({ user_id: user.sub, type: "payment_received" }),
    });
    expect(res.status).toBe(403);
  });
});
