import { describe, expect, it } from "vitest";
import { clientNetwork } from "../../src/platform/client-ip";

describe("clientNetwork: what limits and budgets key a client IP by", () => {
  it("keeps an IPv4 address", () => {
    expect(clientNetwork("203.0.113.7")).toBe("203.0.113.7");
  });

  it("keys IPv6 by its /64, whatever the spelling", () => {
    const net = "2001:db8:1:2::/64";
    expect(clientNetwork("2001:db8:1:2::1")).toBe(net);
    expect(clientNetwork("2001:0db8:0001:0002:ffff:ffff:ffff:fffe")).toBe(net);
    expect(clientNetwork("2001:DB8:1:2:0:0:0:9")).toBe(net);
    expect(clientNetwork("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
  });

  it("reads an IPv4-mapped IPv6 address as the IPv4 address", () => {
    expect(clientNetwork("::ffff:203.0.113.7")).toBe("203.0.113.7");
  });

  it("keys anything else as it is (no CF-Connecting-IP outside Cloudflare)", () => {
    expect(clientNetwork("unknown")).toBe("unknown");
    expect(clientNetwork("1.2.3")).toBe("1.2.3");
  });
});
