export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

// Anything that looks like a credential is replaced before it reaches a log line.
const SECRET_KEY =
  /authorization|token|secret|password|private_key|client_secret|signature|cookie|api[-_]?key/i;
const BEARERISH = /\b(Bearer\s+)?(eyJ[\w-]+\.[\w-]+\.[\w-]*|sk_(test|live)_\w+|whsec_\w+)/g;

// Field names repeat on every line (method, path, status…): test each name once per isolate.
const secretKeys = new Map<string, boolean>();
function isSecretKey(k: string): boolean {
  let hit = secretKeys.get(k);
  if (hit === undefined) {
    hit = SECRET_KEY.test(k);
    if (secretKeys.size < 1024) secretKeys.set(k, hit);
  }
  return hit;
}

function redact(value: unknown, depth = 0): unknown {
  if (depth > 6) return "[depth]";
  if (typeof value === "string") return value.replace(BEARERISH, "[redacted]");
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? "[redacted]" : redact(v, depth + 1);
    return out;
  }
  return value;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** Whether a line at this level would be written: lets hot paths skip building fields. */
  enabled(level: LogLevel): boolean;
}

/**
 * One JSON object per line, so Workers Logs / `wrangler tail` can index the fields. A class,
 * not a bag of closures: one logger is made per request, and closures per instance showed
 * in the REST profile (bench/notes/rest.md).
 */
class JsonLogger implements Logger {
  constructor(
    private readonly base: Record<string, unknown>,
    private readonly level: LogLevel,
  ) {}

  enabled(lvl: LogLevel): boolean {
    return ORDER[lvl] >= ORDER[this.level];
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.emit("debug", msg, fields);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.emit("info", msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.emit("warn", msg, fields);
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.emit("error", msg, fields);
  }

  child(fields: Record<string, unknown>): Logger {
    return new JsonLogger({ ...this.base, ...fields }, this.level);
  }

  private emit(lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(lvl)) return;
    const line = JSON.stringify(
      redact({ level: lvl, msg, time: new Date().toISOString(), ...this.base, ...fields }),
    );
    if (lvl === "error") console.error(line);
    else if (lvl === "warn") console.warn(line);
    else console.log(line);
  }
}

export function createLogger(base: Record<string, unknown> = {}, level: LogLevel = "info"): Logger {
  return new JsonLogger(base, level);
}
