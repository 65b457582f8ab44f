import { DurableObject } from "cloudflare:workers";
import { type EmulatorReply, projectDenied, toWire, unauthenticated, type WireReply } from "./fcm-errors";
import { faultReply, flakyFailures, outcomeForToken } from "./fcm-outcome";
import type { ValidationResult } from "./fcm-validate";
import { base64UrlEncode } from "./jwt";
import { WriteBehind } from "./write-behind";

/**
 * All of the Google emulator's state, in one SQLite-backed Durable Object (idFromName("google")).
 * A send is exactly one RPC into here, reads rows only by key and leaves its writes to
 * WriteBehind, so 10k sends stay cheap.
 */

export type SendInput = { authorization: string | null; project: string; validation: ValidationResult };
export type EmulatorConfig = { send_latency_ms: number; access_token_ttl_s: number };
export type FaultInput = {
  status: 401 | 429 | 500 | 503;
  count: number;
  retry_after?: number | undefined;
  token_prefix?: string | undefined;
  hang_ms?: number | undefined;
};
export type StoredMessage = {
  name: string;
  token: string | null;
  topic: string | null;
  condition: string | null;
  /** body.message as received, still JSON text (a recursive type does not cross RPC well). */
  message_json: string;
  access_token_suffix: string;
  received_at: string;
};
export type Stats = {
  token_exchanges: number;
  token_exchanges_failed: number;
  sends_ok: number;
  sends_failed: number;
  sends_validated: number;
  max_concurrency: number;
  in_flight: number;
};

type Fault = {
  id: number;
  status: number;
  remaining: number;
  retry_after: number | null;
  token_prefix: string;
  hang_ms: number | null;
};

const DEFAULT_CONFIG: EmulatorConfig = { send_latency_ms: 0, access_token_ttl_s: 3599 };

const bearerOf = (authorization: string | null): string | undefined =>
  authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

export class GoogleState extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private config: EmulatorConfig = { ...DEFAULT_CONFIG };
  private faults: Fault[] = [];
  private readonly store: WriteBehind;
  private inFlight = 0;
  /** While set, sends wait here: lets a test see exactly how many a client keeps in flight. */
  private gate: { opened: Promise<void>; open: () => void } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS access_tokens (token TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS flaky_attempts (token TEXT PRIMARY KEY, attempts INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS faults (
        id INTEGER PRIMARY KEY AUTOINCREMENT, status INTEGER NOT NULL, remaining INTEGER NOT NULL,
        retry_after INTEGER, token_prefix TEXT NOT NULL DEFAULT '');
      CREATE TABLE IF NOT EXISTS messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, target_kind TEXT NOT NULL,
        target TEXT NOT NULL, message TEXT NOT NULL, access_token_suffix TEXT NOT NULL, received_at INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS messages_by_target ON messages (target, seq);
    `);
    // Faults persisted by an older emulator (under `npm start`) lack this column.
    if (
      !this.sql
        .exec<{ name: string }>("PRAGMA table_info(faults)")
        .toArray()
        .some((c) => c.name === "hang_ms")
    )
      this.sql.exec("ALTER TABLE faults ADD COLUMN hang_ms INTEGER");
    this.store = new WriteBehind(this.sql);
    const saved = this.sql
      .exec<{ value: string }>("SELECT value FROM settings WHERE key = 'config'")
      .toArray()[0];
    if (saved) this.config = { ...DEFAULT_CONFIG, ...(JSON.parse(saved.value) as Partial<EmulatorConfig>) };
    this.faults = this.sql.exec<Fault>("SELECT * FROM faults ORDER BY id").toArray();
  }

  // ---- OAuth ---------------------------------------------------------------------------

  issueToken(): { access_token: string; expires_in: number } {
    const now = Date.now();
    const accessToken = `ya29.${base64UrlEncode(crypto.getRandomValues(new Uint8Array(64)))}`;
    const ttl = this.config.access_token_ttl_s;
    this.sql.exec("DELETE FROM access_tokens WHERE expires_at < ?", now - 3_600_000);
    this.sql.exec(
      "INSERT INTO access_tokens (token, expires_at) VALUES (?, ?)",
      accessToken,
      now + ttl * 1000,
    );
    this.store.bump("token_exchanges");
    return { access_token: accessToken, expires_in: ttl };
  }

  recordRejectedExchange(): void {
    this.store.bump("token_exchanges_failed");
  }

  // ---- FCM send (the hot path) ---------------------------------------------------------

  async send(input: SendInput): Promise<WireReply> {
    this.inFlight++;
    if (this.inFlight > this.store.counts.max_concurrency) this.store.set("max_concurrency", this.inFlight);
    try {
      // Latency is simulated before anything else so overlapping sends are really in flight together.
      if (this.config.send_latency_ms > 0) await scheduler.wait(this.config.send_latency_ms);
      if (this.gate) await this.gate.opened;
      const { reply, hangMs } = this.handleSend(input);
      // A hung upstream: the client sees nothing until this ends (or its own timeout fires).
      if (hangMs) await scheduler.wait(hangMs);
      this.store.bump(
        reply.status !== 200
          ? "sends_failed"
          : input.validation.ok && input.validation.send.validateOnly
            ? "sends_validated"
            : "sends_ok",
      );
      return toWire(reply);
    } finally {
      this.inFlight--;
    }
  }

  private handleSend(input: SendInput): { reply: EmulatorReply; hangMs: number | null } {
    const denied = this.authorize(input);
    if (denied) return { reply: denied, hangMs: null };
    const { validation } = input;
    const target = validation.ok ? validation.send.target.value : "";
    const fault = this.takeFault(target);
    if (fault) return { reply: faultReply(fault.status, fault.retry_after), hangMs: fault.hang_ms };
    return { reply: this.deliver(input), hangMs: null };
  }

  /** Google checks the access token and the project before anything about the message. */
  private authorize({ authorization, project }: SendInput): EmulatorReply | null {
    const bearer = bearerOf(authorization);
    if (!bearer) return unauthenticated(true);
    const row = this.sql
      .exec<{ expires_at: number }>("SELECT expires_at FROM access_tokens WHERE token = ?", bearer)
      .toArray()[0];
    if (!row || row.expires_at <= Date.now()) return unauthenticated(false);
    if (project !== this.env.GOOGLE_PROJECT_ID) return projectDenied(project);
    return null;
  }

  /** After authorize() and any fault: validation, scripted outcomes, then delivery. */
  private deliver({ authorization, project, validation }: SendInput): EmulatorReply {
    const bearer = bearerOf(authorization) ?? "";
    if (!validation.ok) return validation.reply;
    const { send } = validation;

    if (send.target.kind === "token") {
      const failure = outcomeForToken(send.target.value) ?? this.flaky(send.target.value);
      if (failure) return failure;
    }
    if (send.validateOnly)
      return { status: 200, body: { name: `projects/${project}/messages/fake_message_id` } };

    const name = `projects/${project}/messages/0:${Date.now()}%${randomHex(8)}`;
    this.store.append({
      name,
      target_kind: send.target.kind,
      target: send.target.value,
      message: send.messageJson,
      access_token_suffix: bearer.slice(-8),
      received_at: Date.now(),
    });
    return { status: 200, body: { name } };
  }

  private flaky(token: string): EmulatorReply | null {
    const failures = flakyFailures(token);
    if (failures === null) return null;
    const { attempts } = this.sql
      .exec<{ attempts: number }>(
        "INSERT INTO flaky_attempts (token, attempts) VALUES (?, 1) ON CONFLICT (token) DO UPDATE SET attempts = attempts + 1 RETURNING attempts",
        token,
      )
      .one();
    return attempts <= failures ? faultReply(503, null) : null;
  }

  private takeFault(target: string): Fault | null {
    const fault = this.faults.find((f) => target.startsWith(f.token_prefix));
    if (!fault) return null;
    fault.remaining--;
    if (fault.remaining <= 0) {
      this.faults = this.faults.filter((f) => f !== fault);
      this.sql.exec("DELETE FROM faults WHERE id = ?", fault.id);
    } else {
      this.sql.exec("UPDATE faults SET remaining = ? WHERE id = ?", fault.remaining, fault.id);
    }
    return fault;
  }

  // ---- Test/dev controls ---------------------------------------------------------------

  messages(filter: { token?: string; topic?: string; limit: number }): StoredMessage[] {
    this.store.flush();
    const where = filter.token !== undefined ? "token" : filter.topic !== undefined ? "topic" : null;
    const rows = where
      ? this.sql.exec<Record<string, string | number>>(
          "SELECT * FROM messages WHERE target = ? AND target_kind = ? ORDER BY seq DESC LIMIT ?",
          filter.token ?? filter.topic ?? "",
          where,
          filter.limit,
        )
      : this.sql.exec<Record<string, string | number>>(
          "SELECT * FROM messages ORDER BY seq DESC LIMIT ?",
          filter.limit,
        );
    return rows
      .toArray()
      .reverse()
      .map((r) => ({
        name: String(r.name),
        token: r.target_kind === "token" ? String(r.target) : null,
        topic: r.target_kind === "topic" ? String(r.target) : null,
        condition: r.target_kind === "condition" ? String(r.target) : null,
        message_json: String(r.message),
        access_token_suffix: String(r.access_token_suffix),
        received_at: new Date(Number(r.received_at)).toISOString(),
      }));
  }

  stats(): Stats {
    return { ...this.store.counts, in_flight: this.inFlight };
  }

  addFault(input: FaultInput): { queued: number } {
    const prefix = input.token_prefix ?? "";
    const retryAfter = input.retry_after ?? null;
    const hangMs = input.hang_ms ?? null;
    const { id } = this.sql
      .exec<{ id: number }>(
        "INSERT INTO faults (status, remaining, retry_after, token_prefix, hang_ms) VALUES (?, ?, ?, ?, ?) RETURNING id",
        input.status,
        input.count,
        retryAfter,
        prefix,
        hangMs,
      )
      .one();
    this.faults.push({
      id,
      status: input.status,
      remaining: input.count,
      retry_after: retryAfter,
      token_prefix: prefix,
      hang_ms: hangMs,
    });
    return { queued: this.faults.reduce((n, f) => n + f.remaining, 0) };
  }

  /** Faults not used up yet, optionally only those of one token prefix. */
  listFaults(prefix?: string): { faults: Fault[]; remaining: number } {
    const faults = this.faults.filter((f) => prefix === undefined || f.token_prefix === prefix);
    return { faults, remaining: faults.reduce((n, f) => n + f.remaining, 0) };
  }

  /** Ends an injected outage early: drops the faults of one token prefix (or all). */
  clearFaults(prefix?: string): { cleared: number } {
    const gone = this.faults.filter((f) => prefix === undefined || f.token_prefix === prefix);
    for (const f of gone) this.sql.exec("DELETE FROM faults WHERE id = ?", f.id);
    this.faults = this.faults.filter((f) => !gone.includes(f));
    return { cleared: gone.length };
  }

  configure(patch: Partial<EmulatorConfig>): EmulatorConfig {
    this.config = { ...this.config, ...patch };
    this.sql.exec(
      "INSERT OR REPLACE INTO settings (key, value) VALUES ('config', ?)",
      JSON.stringify(this.config),
    );
    return this.config;
  }

  hold(on: boolean): { holding: boolean; in_flight: number } {
    if (on && !this.gate) {
      let open = () => {};
      const opened = new Promise<void>((resolve) => {
        open = resolve;
      });
      this.gate = { opened, open };
    } else if (!on && this.gate) {
      this.gate.open();
      this.gate = null;
    }
    return { holding: this.gate !== null, in_flight: this.inFlight };
  }

  revokeTokens(): { revoked: number } {
    const revoked = this.sql.exec("DELETE FROM access_tokens").rowsWritten;
    return { revoked };
  }

  reset(options: { tokens?: boolean; config?: boolean }): { ok: true } {
    this.store.reset(this.inFlight);
    this.sql.exec("DELETE FROM messages");
    this.sql.exec("DELETE FROM flaky_attempts");
    this.sql.exec("DELETE FROM faults");
    this.faults = [];
    this.hold(false);
    if (options.tokens) this.sql.exec("DELETE FROM access_tokens");
    if (options.config) this.configure({ ...DEFAULT_CONFIG });
    return { ok: true };
  }
}
