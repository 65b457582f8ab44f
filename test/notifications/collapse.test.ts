import { describe, expect, it } from "vitest";
import { boundedCollapseKey, MAX_COLLAPSE_ID_BYTES, sha256Hex } from "../../src/notifications/fcm/collapse";
import { buildMessage } from "../../src/notifications/fcm/message";
import { sentMessages } from "../helpers/google";
import { adminTestSend, newCaller, registerDevice, settled, uid } from "./helpers";

const bytes = (s: string) => new TextEncoder().encode(s).length;

async function webCryptoHex(s: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const delivery = (platform: string, campaignId: string) => ({
  id: "d",
  deviceId: "dev",
  token: "tok",
  platform,
  attempts: 0,
  notificationId: "n",
  type: "campaign_status_changed" as const,
  title: "T",
  body: "B",
  data: { campaign_id: campaignId },
  silent: false,
});

describe("collapse ids fit APNs' 64 bytes (issue 13, item 6)", () => {
  it("the synchronous SHA-256 matches WebCrypto", async () => {
    for (const s of [
      "",
      "abc",
      "x".repeat(55),
      "x".repeat(56),
      "y".repeat(64),
      "z".repeat(300),
      "héllo ✓ 🚀",
    ]) {
      expect(sha256Hex(s), `length ${s.length}`).toBe(await webCryptoHex(s));
    }
  });

  it("short keys stay readable; long ones become a fixed-length hash, the same on iOS and Android", async () => {
    expect(boundedCollapseKey("campaign", "cmp_1")).toBe("campaign:cmp_1");
    const long = "c".repeat(128);
    const ios = buildMessage(delivery("ios", long)).apns?.headers["apns-collapse-id"] ?? "";
    expect(ios).toBe(`campaign:~${(await webCryptoHex(long)).slice(0, 48)}`);
    expect(bytes(ios)).toBeLessThanOrEqual(MAX_COLLAPSE_ID_BYTES);
    expect(buildMessage(delivery("android", long)).android?.collapse_key).toBe(ios);
    // Bytes, not characters: 30 three-byte characters are 99 bytes.
    const wide = boundedCollapseKey("campaign", "€".repeat(30));
    expect(wide.startsWith("campaign:~")).toBe(true);
    expect(bytes(wide)).toBeLessThanOrEqual(MAX_COLLAPSE_ID_BYTES);
    // Exactly 64 bytes is still allowed as is.
    const edge = "e".repeat(MAX_COLLAPSE_ID_BYTES - "campaign:".length);
    expect(boundedCollapseKey("campaign", edge)).toBe(`campaign:${edge}`);
    expect(boundedCollapseKey("campaign", "a".repeat(128))).not.toBe(
      boundedCollapseKey("campaign", "b".repeat(128)),
    );
  });

  it("a campaign with a 128-character id reaches an iPhone (the emulator refuses a longer apns-collapse-id, as FCM does)", async () => {
    const user = await newCaller("user");
    const token = `ok-${uid()}-ios`;
    await registerDevice(user, token, "ios");
    const campaignId = `cmp_${"9".repeat(124)}`;
    const sent = await adminTestSend({
      user_id: user.sub,
      type: "campaign_status_changed",
      data: { campaign_id: campaignId },
    });
    const [d] = await settled(user, sent.notification_ids[0] ?? "");
    // Before the fix: failed, INVALID_ARGUMENT (137 bytes of apns-collapse-id).
    expect(d).toMatchObject({ status: "sent", error_code: null });
    const [m] = await sentMessages(token);
    const apns = m?.message.apns as { headers: Record<string, string> } | undefined;
    expect(apns?.headers["apns-collapse-id"]).toBe(
      `campaign:~${(await webCryptoHex(campaignId)).slice(0, 48)}`,
    );
  });
});
