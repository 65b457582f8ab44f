import { beforeAll, describe, expect, it } from "vitest";
import {
  accessToken,
  fcmCode,
  fcmSend,
  fieldViolations,
  type GoogleError,
  googleStats,
  sentMessages,
} from "../helpers/google";

let token: string;
beforeAll(async () => {
  token = await accessToken();
});

const device = () => `dev-${crypto.randomUUID()}`;

/** Sends, expects Google's 400 INVALID_ARGUMENT envelope and returns it. Nothing may be recorded. */
async function rejected(body: unknown, recipient?: string): Promise<GoogleError["error"]> {
  const res = await fcmSend(body, token);
  const { error } = await res.json<GoogleError>();
  expect({ http: res.status, code: error.code, status: error.status }).toEqual({
    http: 400,
    code: 400,
    status: "INVALID_ARGUMENT",
  });
  if (recipient) expect(await sentMessages(recipient)).toEqual([]);
  return error;
}

const violation = (e: GoogleError["error"]) => fieldViolations(e)?.[0];

describe("FCM Message schema — targets", () => {
  it("rejects two targets (oneof)", async () => {
    const to = device();
    const e = await rejected({ message: { token: to, topic: "news" } }, to);
    expect(e.message).toBe(
      "Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set 'topic'",
    );
    expect(violation(e)?.field).toBe("message");
  });

  it("rejects a message with no target", async () => {
    const e = await rejected({ message: { data: { a: "b" } } });
    expect(e.message).toBe("Recipient of the message is not set.");
    expect(fcmCode(e)).toBe("INVALID_ARGUMENT");
  });

  it("rejects a body without a message, and a body that is not JSON", async () => {
    expect(fcmCode(await rejected({ validate_only: false }))).toBe("INVALID_ARGUMENT");
    expect((await rejected("{not json")).message).toMatch(/^Invalid JSON payload received/);
    expect((await rejected("[]")).message).toMatch(/^Invalid value at/);
  });

  it("rejects a malformed topic name", async () => {
    expect(violation(await rejected({ message: { topic: "no spaces allowed" } }))?.field).toBe(
      "message.topic",
    );
  });
});

describe("FCM Message schema — data and field types", () => {
  it("rejects a non-string data value, naming its map position", async () => {
    const to = device();
    const e = await rejected({ message: { token: to, data: { ok: "x", count: 5 } } }, to);
    expect(e.message).toBe("Invalid value at 'message.data[1].value' (TYPE_STRING), 5");
    expect(violation(e)).toEqual({
      field: "message.data[1].value",
      description: "Invalid value at 'message.data[1].value' (TYPE_STRING), 5",
    });
  });

  it("rejects null, boolean and object data values too", async () => {
    for (const value of [null, true, { nested: "x" }]) {
      const e = await rejected({ message: { token: device(), data: { k: value } } });
      expect(e.message).toMatch(/^Invalid value at 'message\.data\[0\]\.value' \(TYPE_STRING\)/);
    }
  });

  it("rejects non-string android.data and apns.headers values", async () => {
    const a = await rejected({ message: { token: device(), android: { data: { n: 1 } } } });
    expect(violation(a)?.field).toBe("message.android.data[0].value");
    const h = await rejected({ message: { token: device(), apns: { headers: { "apns-priority": 10 } } } });
    expect(violation(h)?.field).toBe("message.apns.headers[0].value");
  });

  it("rejects reserved data keys", async () => {
    const e = await rejected({ message: { token: device(), data: { from: "me" } } });
    expect(e.message).toBe("Invalid data payload key: from");
    expect(fcmCode(e)).toBe("INVALID_ARGUMENT");
  });

  it("rejects a data payload over 4096 bytes", async () => {
    const e = await rejected({ message: { token: device(), data: { big: "x".repeat(4100) } } });
    expect(e.message).toBe("Android message is too big");
  });

  it("counts the notification's title and body in the 4096 bytes, as FCM does", async () => {
    const notification = { title: "é".repeat(500), body: "é".repeat(1500) };
    const e = await rejected({ message: { token: device(), notification, data: { k: "x".repeat(100) } } });
    expect(fcmCode(e)).toBe("INVALID_ARGUMENT");
    expect(e.message).toBe("Android message is too big");
    const alone = await rejected({
      message: { token: device(), notification: { title: "t", body: "x".repeat(4100) } },
    });
    expect(alone.message).toBe("Message is too big");
  });

  it("rejects a non-string notification title and a non-boolean validate_only", async () => {
    const t = await rejected({ message: { token: device(), notification: { title: 42 } } });
    expect(t.message).toBe("Invalid value at 'message.notification.title' (TYPE_STRING), 42");
    const v = await rejected({ validate_only: "yes", message: { token: device() } });
    expect(v.message).toBe("Invalid value at 'validate_only' (TYPE_BOOL), \"yes\"");
  });
});

describe("FCM Message schema — unknown fields and enums", () => {
  it("rejects an unknown top-level field", async () => {
    const to = device();
    const e = await rejected({ message: { token: to }, dry_run: true }, to);
    expect(e.message).toBe('Invalid JSON payload received. Unknown name "dry_run": Cannot find field.');
    expect(violation(e)?.description).toBe(e.message);
  });

  it("rejects an unknown field in the message (legacy API names included)", async () => {
    const e = await rejected({ message: { token: device(), priority: "high" } });
    expect(e.message).toBe(
      "Invalid JSON payload received. Unknown name \"priority\" at 'message': Cannot find field.",
    );
    expect(violation(e)?.field).toBe("message");
  });

  it("rejects an unknown field nested deep in android.notification and apns.fcm_options", async () => {
    const a = await rejected({ message: { token: device(), android: { notification: { badge: "1" } } } });
    expect(a.message).toBe(
      "Invalid JSON payload received. Unknown name \"badge\" at 'message.android.notification': Cannot find field.",
    );
    const b = await rejected({ message: { token: device(), apns: { fcm_options: { link: "x" } } } });
    expect(violation(b)?.field).toBe("message.apns.fcm_options");
  });

  it("rejects an android priority outside NORMAL|HIGH", async () => {
    const e = await rejected({ message: { token: device(), android: { priority: "high" } } });
    expect(e.message).toBe(
      "Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), \"high\"",
    );
  });

  it("rejects a ttl that is not a duration string", async () => {
    const s = await rejected({ message: { token: device(), android: { ttl: "3600" } } });
    expect(s.message).toMatch(/Illegal duration format; duration must end with 's'$/);
    const n = await rejected({ message: { token: device(), android: { ttl: 3600 } } });
    expect(violation(n)?.field).toBe("message.android.ttl");
  });

  it("rejects a bad notification colour, apns-priority and a non-https webpush link", async () => {
    const c = await rejected({ message: { token: device(), android: { notification: { color: "red" } } } });
    expect(violation(c)?.field).toBe("message.android.notification.color");
    const p = await rejected({ message: { token: device(), apns: { headers: { "apns-priority": "7" } } } });
    expect(violation(p)?.field).toBe("message.apns.headers");
    const l = await rejected({
      message: { token: device(), webpush: { fcm_options: { link: "http://x.test" } } },
    });
    expect(violation(l)?.field).toBe("message.webpush.fcm_options.link");
  });

  it("rejects an apns-collapse-id over 64 bytes as APNs does (BadCollapseId), accepts exactly 64", async () => {
    const apns = (id: string) => ({
      message: { token: device(), apns: { headers: { "apns-collapse-id": id } } },
    });
    const e = await rejected(apns(`campaign:${"c".repeat(128)}`));
    expect(fcmCode(e)).toBe("INVALID_ARGUMENT");
    expect(e.details?.find((d) => String(d["@type"]).endsWith("fcm.v1.ApnsError"))).toMatchObject({
      status_code: 400,
      reason: "BadCollapseId",
    });
    // Bytes, not characters: 22 three-byte characters are 66 bytes.
    await rejected(apns("€".repeat(22)));
    const to = device();
    const ok = await fcmSend(
      { message: { token: to, apns: { headers: { "apns-collapse-id": "x".repeat(64) } } } },
      token,
    );
    expect(ok.status).toBe(200);
    expect(await sentMessages(to)).toHaveLength(1);
  });

  it("counts every rejected send as failed", async () => {
    const before = await googleStats();
    await rejected({ message: { token: device(), bogus: 1 } });
    const after = await googleStats();
    expect(after.sends_failed).toBe(before.sends_failed + 1);
    expect(after.sends_ok).toBe(before.sends_ok);
  });
});
