import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { releaseDigests } from "../../src/notifications/digest.service";
import { digestSummary } from "../../src/notifications/digest-text";
import { digestWindow } from "../../src/notifications/digest-window";
import { NOTIFICATION_TYPES } from "../../src/notifications/types";
import { bodyOf, errorOf } from "../helpers/body";
import { testDeps } from "../helpers/deps";
import { sentMessages } from "../helpers/google";
import { safeId, withAbortTrigger } from "../reliability/helpers";
import {
  adminTestSend,
  api,
  type Caller,
  deliveriesOf,
  newCaller,
  postJson,
  publishEvent,
  registerDevice,
  settled,
  uid,
} from "./helpers";

const HOUR = 3_600_000;

type DigestRow = {
  id: string;
  mode: string;
  window_start: number;
  window_end: number;
  time_zone: string;
  item_count: number;
  status: string;
  summary_notification_id: string | null;
};

const setPrefs = (caller: Caller, body: unknown) =>
  postJson("/api/v1/notifications/preferences", body, caller.headers);

async function getPrefs(caller: Caller) {
  const res = await api("/api/v1/notifications/preferences", { headers: caller.headers });
  return bodyOf(res, "GET /notifications/preferences", 200);
}

async function digestsOf(userId: string): Promise<DigestRow[]> {
  const { results } = await env.DB.prepare(
    "select * from notification_digests where user_id = ? order by window_start",
  )
    .bind(userId)
    .all<DigestRow>();
  return results;
}

async function historyOf(caller: Caller) {
  const res = await api("/api/v1/notifications/history", { headers: caller.headers });
  return (await bodyOf(res, "GET /notifications/history", 200)).items;
}

/** A signed-in user with one device and `type` set to `mode`. */
async function digestUser(mode: "hourly" | "daily", type = "campaign_status_changed", timeZone?: string) {
  const user = await newCaller("user");
  const token = `ok-${uid()}`;
  if (timeZone) {
    const res = await postJson(
      "/api/v1/notifications/register-device",
      { token, platform: "android", time_zone: timeZone },
      user.headers,
    );
    expect(res.status).toBe(201);
  } else {
    await registerDevice(user, token);
  }
  expect((await setPrefs(user, { preferences: [{ type, delivery: mode }] })).status).toBe(200);
  return { user, token };
}

/** One digested notification through the real pipeline (admin test send runs notify). */
async function item(user: Caller, type = "campaign_status_changed") {
  const res = await adminTestSend({ user_id: user.sub, type, title: "Item", body: "One item" });
  // Digested: stored, but nothing queued or held for the device.
  expect(res).toMatchObject({ queued: 0, held: 0 });
  const id = res.notification_ids[0];
  if (!id) throw new Error("no notification");
  return id;
}

const setCreatedAt = (id: string, at: number) =>
  env.DB.prepare("update notifications set created_at = ? where id = ?").bind(at, id).run();

const pendingCount = async (userId: string) =>
  (
    await env.DB.prepare(
      "select count(*) as n from notifications where user_id = ? and digest is not null and digest_id is null",
    )
      .bind(userId)
      .first<{ n: number }>()
  )?.n ?? 0;

/** The one released summary's delivery, once the real queue consumer has sent it. */
async function summarySent(user: Caller, d: DigestRow | undefined) {
  expect(d?.status).toBe("released");
  const deliveries = await settled(user, d?.summary_notification_id ?? "");
  expect(deliveries.map((x) => x.status)).toEqual(["sent"]);
}

describe("digest preferences", () => {
  it("round-trips the delivery mode; default instant", async () => {
    const user = await newCaller("user");
    expect((await getPrefs(user)).preferences.every((p) => p.delivery === "instant")).toBe(true);
    const res = await setPrefs(user, {
      preferences: [
        { type: "campaign_status_changed", delivery: "hourly" },
        { type: "payment_received", delivery: "daily", in_app: false },
      ],
    });
    expect(res.status).toBe(200);
    const body = await getPrefs(user);
    const of = (t: string) => body.preferences.find((p) => p.type === t);
    expect(of("campaign_status_changed")).toMatchObject({ delivery: "hourly", push: true, in_app: true });
    expect(of("payment_received")).toMatchObject({ delivery: "daily", push: true, in_app: false });
    // A partial update of another field keeps the mode.
    await setPrefs(user, { preferences: [{ type: "campaign_status_changed", push: true }] });
    expect(
      (await getPrefs(user)).preferences.find((p) => p.type === "campaign_status_changed")?.delivery,
    ).toBe("hourly");
  });

  it("a critical type set to a digest is 422 and nothing of the request is written; bad modes are 400", async () => {
    const user = await newCaller("user");
    const res = await setPrefs(user, {
      preferences: [
        { type: "campaign_status_changed", delivery: "daily" },
        { type: "security_alert", delivery: "hourly" },
      ],
    });
    const body = await errorOf(res, 422);
    expect(body.error.code).toBe("UNPROCESSABLE");
    expect(JSON.stringify(body.error)).toContain("preferences.security_alert.delivery");
    expect((await getPrefs(user)).preferences.every((p) => p.delivery === "instant")).toBe(true);
    for (const delivery of ["weekly", 5, null]) {
      const bad = await setPrefs(user, { preferences: [{ type: "payment_received", delivery }] });
      expect(bad.status, String(delivery)).toBe(400);
    }
    // Setting it to instant is allowed (it is what it always is).
    expect(
      (await setPrefs(user, { preferences: [{ type: "security_alert", delivery: "instant" }] })).status,
    ).toBe(200);
  });
});

describe("digest release", () => {
  it("three events in an hourly window: three history rows, no push until release, one summary of 3", async () => {
    const { user, token } = await digestUser("hourly");
    const eventIds: string[] = [];
    for (const i of [1, 2, 3]) {
      const e = await publishEvent("campaign.status_changed", {
        campaign_id: `c${i}-${uid()}`,
        merchant_id: "m1",
        user_ids: [user.sub],
        from: "draft",
        to: "live",
      });
      expect(e.res.status).toBe(202);
      eventIds.push(e.eventId);
    }
    const history = await historyOf(user);
    expect(history.map((h) => h.type)).toEqual(Array(3).fill("campaign_status_changed"));
    for (const h of history) expect(await deliveriesOf(user, h.id)).toEqual([]);
    expect(await sentMessages(token)).toHaveLength(0);

    // Before the window ends nothing is released.
    await releaseDigests(testDeps(), Date.now());
    expect(await digestsOf(user.sub)).toEqual([]);

    await releaseDigests(testDeps(), Date.now() + HOUR);
    const [d, ...more] = await digestsOf(user.sub);
    expect(more).toEqual([]);
    expect(d).toMatchObject({ mode: "hourly", item_count: 3, time_zone: "UTC" });
    // No zone anywhere: UTC clock hours, the one the items were created in.
    expect(d?.window_start).toBe(Math.floor(Date.parse(history[0]?.created_at ?? "") / HOUR) * HOUR);
    await summarySent(user, d);
    const sent = await sentMessages(token);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.message.notification).toEqual({
      title: "3 new campaign updates",
      body: "Open the app to see them all.",
    });
    expect(sent[0]?.message.data).toMatchObject({ count: "3", digest: "hourly", digest_id: d?.id });
    // In-app history is unchanged: the three items, not the summary.
    expect((await historyOf(user)).map((h) => h.id).sort()).toEqual(history.map((h) => h.id).sort());

    // A replayed cron run releases nothing twice.
    await releaseDigests(testDeps(), Date.now() + HOUR);
    expect(await digestsOf(user.sub)).toHaveLength(1);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("the summary is written in the user's locale: French for a fr-CA device, German for de, English otherwise", async () => {
    const user = await newCaller("user");
    const token = `ok-${uid()}`;
    const res = await postJson(
      "/api/v1/notifications/register-device",
      { token, platform: "android", locale: "fr-CA" },
      user.headers,
    );
    expect(res.status).toBe(201);
    expect(
      (await setPrefs(user, { preferences: [{ type: "campaign_status_changed", delivery: "hourly" }] }))
        .status,
    ).toBe(200);
    await item(user);
    await item(user);
    await releaseDigests(testDeps(), Date.now() + HOUR);
    const [d] = await digestsOf(user.sub);
    await summarySent(user, d);
    const sent = await sentMessages(token);
    expect(sent[0]?.message.notification).toEqual({
      title: "2 nouvelles mises à jour de campagne",
      body: "Ouvrez l’application pour tout voir.",
    });
    // The wording itself, for every type in every shipped locale: singular and plural differ.
    for (const type of NOTIFICATION_TYPES) {
      for (const locale of ["en", "fr", "de", "pt-BR"]) {
        const one = digestSummary(type, 1, locale);
        const many = digestSummary(type, 5, locale);
        expect(one.title.startsWith("1 ")).toBe(true);
        expect(many.title.startsWith("5 ")).toBe(true);
        expect(one.title).not.toBe(many.title.replace("5", "1"));
      }
    }
    expect(digestSummary("security_alert", 2, "de-AT").title).toBe("2 neue Sicherheitshinweise");
    expect(digestSummary("payment_received", 1, "pt-BR").title).toBe("1 new payment");
  });

  it("two release runs in parallel push one summary", async () => {
    const { user, token } = await digestUser("hourly");
    await item(user);
    await item(user);
    const at = Date.now() + HOUR;
    await Promise.all([releaseDigests(testDeps(), at), releaseDigests(testDeps(), at)]);
    const rows = await digestsOf(user.sub);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.item_count).toBe(2);
    await summarySent(user, rows[0]);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("items written while a release runs are each summarised exactly once", async () => {
    const { user, token } = await digestUser("hourly");
    await item(user);
    const at = Date.now() + HOUR;
    await Promise.all([
      releaseDigests(testDeps(), at),
      item(user),
      item(user),
      releaseDigests(testDeps(), at),
    ]);
    // Whatever the interleaving, the rest goes out by the window after next.
    await releaseDigests(testDeps(), at + 2 * HOUR);
    const rows = await digestsOf(user.sub);
    expect(rows.reduce((n, r) => n + r.item_count, 0)).toBe(3);
    expect(await pendingCount(user.sub)).toBe(0);
    for (const r of rows) await summarySent(user, r);
    expect(await sentMessages(token)).toHaveLength(rows.length);
  });

  it("a crash after the claim: the re-run pushes the summary once", async () => {
    const { user, token } = await digestUser("hourly");
    await item(user);
    await item(user);
    const at = Date.now() + HOUR;
    const crashed = await withAbortTrigger(
      "notifications",
      "INSERT",
      `NEW.event_id LIKE 'digest:%' AND NEW.user_id = ${safeId(user.sub)}`,
      () => releaseDigests(testDeps(), at),
    );
    expect(crashed.failed).toBeGreaterThanOrEqual(1);
    const [claimed] = await digestsOf(user.sub);
    expect(claimed).toMatchObject({ status: "releasing", item_count: 2, summary_notification_id: null });
    expect(await sentMessages(token)).toHaveLength(0);

    await releaseDigests(testDeps(), at);
    const rows = await digestsOf(user.sub);
    expect(rows).toHaveLength(1);
    await summarySent(user, rows[0]);
    await releaseDigests(testDeps(), at);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("a crash inside the claim rolls the whole claim back; the re-run claims every item", async () => {
    const { user, token } = await digestUser("hourly");
    await item(user);
    await item(user);
    const at = Date.now() + HOUR;
    await withAbortTrigger(
      "notifications",
      "UPDATE",
      `NEW.digest_id IS NOT NULL AND OLD.user_id = ${safeId(user.sub)}`,
      () => releaseDigests(testDeps(), at),
    );
    expect(await digestsOf(user.sub)).toEqual([]);
    expect(await pendingCount(user.sub)).toBe(2);

    await releaseDigests(testDeps(), at);
    const rows = await digestsOf(user.sub);
    expect(rows.map((r) => r.item_count)).toEqual([2]);
    await summarySent(user, rows[0]);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("an item committed after its window was released goes to the next window", async () => {
    const { user, token } = await digestUser("hourly");
    await item(user);
    const at = Date.now() + HOUR;
    await releaseDigests(testDeps(), at);
    const [first] = await digestsOf(user.sub);
    if (!first) throw new Error("first window not released");
    await summarySent(user, first);

    // Created inside the released window, committed only now (a slow writer).
    const late = await item(user);
    await setCreatedAt(late, first.window_start + 1000);
    await releaseDigests(testDeps(), at);
    expect(await digestsOf(user.sub)).toHaveLength(1);
    expect(await pendingCount(user.sub)).toBe(1);

    await releaseDigests(testDeps(), first.window_end + HOUR);
    const rows = await digestsOf(user.sub);
    expect(rows.map((r) => [r.window_start, r.item_count])).toEqual([
      [first.window_start, 1],
      [first.window_end, 1],
    ]);
    await summarySent(user, rows[1]);
    expect(await sentMessages(token)).toHaveLength(2);
  });

  it("daily windows are local days: a New York day across the DST change lasts 25 hours", async () => {
    const { user, token } = await digestUser("daily", "feature_flag_enabled", "America/New_York");
    const id = await item(user, "feature_flag_enabled");
    await setCreatedAt(id, Date.parse("2026-11-01T15:00:00Z"));
    await releaseDigests(testDeps(), Date.parse("2026-11-02T04:59:59Z"));
    expect(await digestsOf(user.sub)).toEqual([]);
    await releaseDigests(testDeps(), Date.parse("2026-11-02T05:00:00Z"));
    const [d] = await digestsOf(user.sub);
    expect(d).toMatchObject({
      window_start: Date.parse("2026-11-01T04:00:00Z"),
      window_end: Date.parse("2026-11-02T05:00:00Z"),
      time_zone: "America/New_York",
      item_count: 1,
    });
    await summarySent(user, d);
    expect((await sentMessages(token))[0]?.message.notification).toMatchObject({ title: "1 new feature" });
  });

  it("window arithmetic: spring-forward day, a +05:45 zone's clock hour, a window is found from any instant in it", () => {
    const spring = digestWindow(Date.parse("2026-03-08T12:00:00Z"), "daily", "America/New_York");
    expect(spring).toEqual({
      start: Date.parse("2026-03-08T05:00:00Z"),
      end: Date.parse("2026-03-09T04:00:00Z"),
    });
    const paris = digestWindow(Date.parse("2026-10-25T22:59:59Z"), "daily", "Europe/Paris");
    expect(paris).toEqual({
      start: Date.parse("2026-10-24T22:00:00Z"),
      end: Date.parse("2026-10-25T23:00:00Z"),
    });
    const kathmandu = digestWindow(Date.parse("2026-06-01T10:20:00Z"), "hourly", "Asia/Kathmandu");
    expect(kathmandu).toEqual({
      start: Date.parse("2026-06-01T10:15:00Z"),
      end: Date.parse("2026-06-01T11:15:00Z"),
    });
    expect(digestWindow(spring.end - 1, "daily", "America/New_York")).toEqual(spring);
    expect(digestWindow(spring.end, "daily", "America/New_York").start).toBe(spring.end);
  });

  it("a day whose midnight does not exist (Santiago skips 00:00 on 2026-09-06) still contains its last hour; its items are released", async () => {
    // Local 23:30 on Sep 5 (-04); at 04:00Z the clock jumps from 24:00 to 01:00 (-03).
    const lastHour = Date.parse("2026-09-06T03:30:00Z");
    const w = digestWindow(lastHour, "daily", "America/Santiago");
    expect(w).toEqual({ start: Date.parse("2026-09-05T04:00:00Z"), end: Date.parse("2026-09-06T04:00:00Z") });
    expect(digestWindow(w.end, "daily", "America/Santiago").start).toBe(w.end);
    expect(digestWindow(Date.parse("2026-03-08T04:30:00Z"), "daily", "America/Havana").end).toBe(
      Date.parse("2026-03-08T05:00:00Z"),
    );

    const { user, token } = await digestUser("daily", "feature_flag_enabled", "America/Santiago");
    const id = await item(user, "feature_flag_enabled");
    await setCreatedAt(id, lastHour);
    await releaseDigests(testDeps(), Date.parse("2026-09-07T12:00:00Z"));
    const [d] = await digestsOf(user.sub);
    expect(d).toMatchObject({ window_start: w.start, window_end: w.end, item_count: 1 });
    expect(await pendingCount(user.sub)).toBe(0);
    await summarySent(user, d);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("critical types stay instant whatever else is digested", async () => {
    const { user, token } = await digestUser("hourly");
    const alert = await publishEvent("security.alert", { user_id: user.sub, kind: "mfa_disabled" });
    expect(alert.res.status).toBe(202);
    const row = await env.DB.prepare("select id, digest from notifications where event_id = ?")
      .bind(alert.eventId)
      .first<{ id: string; digest: string | null }>();
    expect(row?.digest).toBeNull();
    expect((await settled(user, row?.id ?? "")).map((d) => d.status)).toEqual(["sent"]);
    expect(await sentMessages(token)).toHaveLength(1);
  });

  it("switching back to instant: new items push at once, pending ones still go out in their summary", async () => {
    const { user, token } = await digestUser("hourly");
    await item(user);
    await item(user);
    await setPrefs(user, { preferences: [{ type: "campaign_status_changed", delivery: "instant" }] });
    const now = await adminTestSend({ user_id: user.sub, type: "campaign_status_changed" });
    expect(now.queued).toBe(1);
    await settled(user, now.notification_ids[0] ?? "");
    await releaseDigests(testDeps(), Date.now() + HOUR);
    const rows = await digestsOf(user.sub);
    expect(rows.map((r) => r.item_count)).toEqual([2]);
    await summarySent(user, rows[0]);
    expect(await sentMessages(token)).toHaveLength(2);
  });

  it("no device: items stay in history, no summary is pushed, the window is done", async () => {
    const user = await newCaller("user");
    await setPrefs(user, { preferences: [{ type: "payment_received", delivery: "hourly" }] });
    await item(user, "payment_received");
    await releaseDigests(testDeps(), Date.now() + HOUR);
    const [d] = await digestsOf(user.sub);
    expect(d).toMatchObject({ status: "released", item_count: 1 });
    expect(d?.summary_notification_id).toEqual(expect.any(String));
    expect(await deliveriesOf(user, d?.summary_notification_id ?? "")).toEqual([]);
    expect((await historyOf(user)).map((h) => h.type)).toEqual(["payment_received"]);
    expect(await pendingCount(user.sub)).toBe(0);
  });

  it("quiet hours hold the summary like any other push", async () => {
    const { user } = await digestUser("hourly");
    const h = new Date().getUTCHours();
    const pad = (n: number) => String((n + 24) % 24).padStart(2, "0");
    await setPrefs(user, {
      quiet_hours: { start: `${pad(h - 1)}:00`, end: `${pad(h + 1)}:00`, time_zone: "UTC" },
    });
    await item(user);
    await releaseDigests(testDeps(), Date.now() + HOUR);
    const [d] = await digestsOf(user.sub);
    expect(d?.status).toBe("released");
    const deliveries = await deliveriesOf(user, d?.summary_notification_id ?? "");
    expect(deliveries.map((x) => x.status)).toEqual(["held"]);
  });
});
