// Option checks shared by the standalone bench scripts: bounded integers, loopback-only URLs.
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Reads `--name` from parseArgs values as an integer in [min, max], or throws saying so. */
export function intOption(values, name, min, max) {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${name} must be an integer in [${min}, ${max}]`);
  return n;
}

/** Parses --url and refuses anything but loopback: load is only ever sent to this machine. */
export function loopbackUrl(raw) {
  const base = new URL(raw);
  if (!LOOPBACK.has(base.hostname)) throw new Error(`--url must be a loopback address, got ${base.hostname}`);
  return base;
}
