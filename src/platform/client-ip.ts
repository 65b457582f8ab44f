import ipaddr from "ipaddr.js";

/**
 * The network a client IP stands for, as limits and budgets key it. IPv4: the address.
 * IPv6: its /64, because one host or subscriber is routinely given a whole /64 and can rotate
 * through 2^64 addresses in it; keyed per address, every rotation would be a fresh budget
 * (docs/analytics.md, "Abuse limits"). An IPv4-mapped IPv6 address is its IPv4 address.
 * Anything unparsable (no CF-Connecting-IP outside Cloudflare) is keyed as it is.
 */
export function clientNetwork(ip: string): string {
  // Strict forms only: ipaddr.isValid also takes inet_aton's "1.2.3", which is not an address
  // Cloudflare sends, and would key it as another string than the one it came as.
  if (ipaddr.IPv4.isValidFourPartDecimal(ip)) return ipaddr.IPv4.parse(ip).toString();
  if (!ipaddr.IPv6.isValid(ip)) return ip;
  const v6 = ipaddr.IPv6.parse(ip);
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts
    .slice(0, 4)
    .map((p) => p.toString(16))
    .join(":")}::/64`;
}
