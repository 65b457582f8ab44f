import { beforeAll, describe, expect, it } from "vitest";
import {
  accessToken,
  EMULATOR,
  fcmCode,
  fcmSend,
  fieldViolations,
  type GoogleError,
  googleStats,
  projectId,
  sentMessages,
} from "../helpers/google";

let token: string;
beforeAll(async () => {
  token = await accessToken();
});

const device = (prefix = "dev") => `${prefix}-${crypto.randomUUID()}`;

async function expectGoogleError(res: Response, code: number, status: string): Promise<GoogleError["error"]> {
  const body = await res.json<GoogleError>();
  expect({ http: res.status, code: body.error?.code, status: body.error?.status }).toEqual({
    http: code,
    code,
    status,
  });
  return body.error;
}

const violations = fieldViolations;

describe("FCM messages:send — delivery and recording", () => {
  it("delivers a full message and records exactly what was sent", async () => {
    const to = device();
    const message = {
      token: to,
      notification: { title: "Hi", body: "There", image: "https://example.com/i.png" },
      data: { ticket_id: "t_1", kind: "chat" },
      android: {
        priority: "HIGH",
        ttl: "3600s",
        collapse_key: "chat",
        notification: { channel_id: "chat", color: "#ff0000", click_action: "OPEN", tag: "t_1" },
      },
      apns: {
        headers: { "apns-priority": "10", "apns-push-type": "alert" },
        payload: { aps: { sound: "default", badge: 1 } },
      },
      webpush: { fcm_options: { link: "https://example.com/t/1" }, notification: { icon: "/i.png" } },
      fcm_options: { analytics_label: "chat" },
    };
    const res = await fcmSend({ message }, token);
    expect(res.status).toBe(200);
    const { name } = await res.json<{ name: string }>();
    expect(name).toMatch(new RegExp(`^projects/${projectId()}/messages/.+`));

    const recorded = await sentMessages(to);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ name, token: to, message, access_token_suffix: token.slice(-8) });
    expect(Date.parse(recorded[0]?.received_at ?? "")).not.toBeNaN();
  });

  it("accepts lowerCamelCase field names, as proto3 JSON does", async () => {
    const to = device();
    const res = await fcmSend(
      { validateOnly: false, message: { token: to, android: { collapseKey: "x", directBootOk: true } } },
      token,
    );
    expect(res.status).toBe(200);
    expect(await sentMessages(to)).toHaveLength(1);
  });

  it("delivers a data-only silent message to a topic", async () => {
    const res = await fcmSend(
      {
        message: {
          topic: "news",
          data: { a: "1" },
          apns: {
            headers: { "apns-priority": "5", "apns-push-type": "background" },
            payload: { aps: { "content-available": 1 } },
          },
        },
      },
      token,
    );
    expect(res.status).toBe(200);
  });

  it("validate_only validates, answers with a name and records nothing", async () => {
    const to = device();
    const before = await googleStats();
    const res = await fcmSend({ validate_only: true, message: { token: to, data: { a: "b" } } }, token);
    expect(res.status).toBe(200);
    expect((await res.json<{ name: string }>()).name).toBe(
      `projects/${projectId()}/messages/fake_message_id`,
    );
    expect(await sentMessages(to)).toEqual([]);
    expect((await googleStats()).sends_validated).toBeGreaterThan(before.sends_validated);

    const invalid = await fcmSend({ validate_only: true, message: { token: to, data: { a: 1 } } }, token);
    expect(invalid.status).toBe(400);
  });
});

describe("FCM messages:send — authentication", () => {
  it("401s without an Authorization header", async () => {
    const res = await fcmSend({ message: { token: device() } }, null);
    const err = await expectGoogleError(res, 401, "UNAUTHENTICATED");
    expect(err.message).toMatch(/^Request is missing required authentication credential/);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("401s with a token the emulator never issued", async () => {
    const res = await fcmSend({ message: { token: device() } }, "ya29.made-up");
    const err = await expectGoogleError(res, 401, "UNAUTHENTICATED");
    expect(err.message).toMatch(/^Request had invalid authentication credentials/);
  });

  it("401 comes before body validation, as at Google", async () => {
    await expectGoogleError(await fcmSend({ message: { bogus: 1 } }, null), 401, "UNAUTHENTICATED");
  });

  it("403s for a project other than the service account's", async () => {
    const res = await fcmSend({ message: { token: device() } }, token, "someone-elses-project");
    const err = await expectGoogleError(res, 403, "PERMISSION_DENIED");
    expect(err.message).toContain("cloudmessaging.messages.create");
  });
});

describe("FCM messages:send — outcomes by token prefix", () => {
  it("unregistered- → 404 UNREGISTERED", async () => {
    const to = device("unregistered");
    const err = await expectGoogleError(await fcmSend({ message: { token: to } }, token), 404, "NOT_FOUND");
    expect(fcmCode(err)).toBe("UNREGISTERED");
    expect(await sentMessages(to)).toEqual([]);
  });

  it("invalid- → 400 INVALID_ARGUMENT naming message.token", async () => {
    const res = await fcmSend({ message: { token: device("invalid") } }, token);
    const err = await expectGoogleError(res, 400, "INVALID_ARGUMENT");
    expect(err.message).toBe("The registration token is not a valid FCM registration token");
    expect(fcmCode(err)).toBe("INVALID_ARGUMENT");
    expect(violations(err)?.[0]?.field).toBe("message.token");
  });

  it("mismatch- → 403 SENDER_ID_MISMATCH", async () => {
    const err = await expectGoogleError(
      await fcmSend({ message: { token: device("mismatch") } }, token),
      403,
      "PERMISSION_DENIED",
    );
    expect(fcmCode(err)).toBe("SENDER_ID_MISMATCH");
  });

  it("quota- → 429 QUOTA_EXCEEDED with Retry-After (quota<S>- picks the seconds)", async () => {
    const res = await fcmSend({ message: { token: device("quota") } }, token);
    expect(fcmCode(await expectGoogleError(res, 429, "RESOURCE_EXHAUSTED"))).toBe("QUOTA_EXCEEDED");
    expect(res.headers.get("retry-after")).toBe("30");
    const custom = await fcmSend({ message: { token: device("quota7") } }, token);
    expect(custom.status).toBe(429);
    expect(custom.headers.get("retry-after")).toBe("7");
  });

  it("unavailable- → 503 UNAVAILABLE, every time", async () => {
    const to = device("unavailable");
    for (let i = 0; i < 2; i++) {
      const err = await expectGoogleError(
        await fcmSend({ message: { token: to } }, token),
        503,
        "UNAVAILABLE",
      );
      expect(fcmCode(err)).toBe("UNAVAILABLE");
    }
  });

  it("flaky2- fails twice for that token, then is delivered", async () => {
    const to = device("flaky2");
    await expectGoogleError(await fcmSend({ message: { token: to } }, token), 503, "UNAVAILABLE");
    await expectGoogleError(await fcmSend({ message: { token: to } }, token), 503, "UNAVAILABLE");
    expect((await fcmSend({ message: { token: to } }, token)).status).toBe(200);
    expect(await sentMessages(to)).toHaveLength(1);
    // Attempts are counted per token: another flaky2 device starts from zero.
    expect((await fcmSend({ message: { token: device("flaky2") } }, token)).status).toBe(503);
  });
});

describe("FCM endpoint routing", () => {
  it("accepts a percent-encoded ':send' and a condition target", async () => {
    const res = await fetch(`${EMULATOR}/fcm/v1/projects/${projectId()}/messages%3Asend`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ message: { condition: "'a' in topics && 'b' in topics", data: { x: "y" } } }),
    });
    expect(res.status).toBe(200);
  });

  it("answers other methods and unknown paths with Google-shaped errors", async () => {
    const get = await fetch(`${EMULATOR}/fcm/v1/projects/${projectId()}/messages:send`);
    expect(get.status).toBe(405);
    const unknown = await fetch(`${EMULATOR}/fcm/v1/projects/${projectId()}/messages:batchSend`, {
      method: "POST",
    });
    await expectGoogleError(unknown, 404, "NOT_FOUND");
    const tokenGet = await fetch(`${EMULATOR}/google/token`);
    expect(tokenGet.status).toBe(405);
  });
});
