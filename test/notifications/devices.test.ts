import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bodyOf } from "../helpers/body";
import { api, newCaller, postJson, uid } from "./helpers";

const register = (headers: Record<string, string>, body: unknown) =>
  postJson("/api/v1/notifications/register-device", body, headers);

describe("devices", () => {
  it("registers with device info; re-registering the same token moves it to the caller, no duplicate", async () => {
    const alice = await newCaller("user");
    const bob = await newCaller("user");
    const token = `ok-${uid()}-shared`;
    const first = await register(alice.headers, {
      token,
      platform: "ios",
      model: "iPhone15,2",
      os_version: "17.4",
      app_version: "3.2.1",
      locale: "fr-FR",
      time_zone: "Europe/Paris",
    });
    expect(first.status).toBe(201);
    const created = await bodyOf(first, "POST /notifications/register-device", 201);
    expect(created).toMatchObject({ model: "iPhone15,2", time_zone: "Europe/Paris" });

    const again = await register(bob.headers, { token, platform: "ios", app_version: "3.3.0" });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: created.id, app_version: "3.3.0", model: null });

    const rows = await env.DB.prepare("select user_id from devices where token = ?")
      .bind(token)
      .all<{ user_id: string }>();
    expect(rows.results).toEqual([{ user_id: bob.sub }]);
    const aliceList = await bodyOf(
      await api("/api/v1/notifications/devices", { headers: alice.headers }),
      "GET /notifications/devices",
      200,
    );
    expect(aliceList.items).toEqual([]);
  });

  it("DELETE removes only your own device; anyone else's is a 404", async () => {
    const owner = await newCaller("user");
    const other = await newCaller("user");
    const res = await register(owner.headers, { token: `ok-${uid()}`, platform: "android" });
    const { id } = await bodyOf(res, "POST /notifications/register-device", 201);
    const del = (headers: Record<string, string>) =>
      api(`/api/v1/notifications/devices/${id}`, { method: "DELETE", headers });
    expect((await del(other.headers)).status).toBe(404);
    expect((await del(owner.headers)).status).toBe(204);
    expect((await del(owner.headers)).status).toBe(404);
  });

  it("validates input and requires authentication", async () => {
    const user = await newCaller("user");
    for (const body of [
      { token: `ok-${uid()}`, platform: "blackberry" },
      { platform: "android" },
      { token: `ok-${uid()}`, platform: "android", time_zone: "Nowhere/Land" },
      { token: `ok-${uid()}`, platform: "android", user_id: "someone-else" },
    ]) {
      expect((await register(user.headers, body)).status, JSON.stringify(body)).toBe(400);
    }
    const anon = await postJson("/api/v1/notifications/register-device", {
      token: `ok-${uid()}`,
      platform: "web",
    });
    expect(anon.status).toBe(401);
  });
});
