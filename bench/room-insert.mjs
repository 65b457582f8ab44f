// The room's per-message SQLite cost next to the bare room's, outside workerd (node:sqlite, WAL,
// one commit per message as the Durable Object's implicit transaction per event, and 10 per
// commit): the ticket room's `messages` table (two unique indexes) with random (v4) and
// time-ordered (v7) ids and with its old per-message outbox row, against the bare room's `log`.
// `node bench/room-insert.mjs`: prints µs per message; compare ratios, not absolute figures.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

const dir = mkdtempSync(path.join(tmpdir(), "room-insert-"));
const MESSAGES = `CREATE TABLE messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL, sender_id TEXT NOT NULL, sender_role TEXT NOT NULL, body TEXT NOT NULL,
  attachments TEXT NOT NULL, created_at INTEGER NOT NULL, read_at INTEGER, UNIQUE (sender_id, client_id))`;
const OUTBOX = `CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
  ref TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT)`;
const body = "x".repeat(40);
const senders = Array.from({ length: 10 }, () => randomUUID());
const message = {
  sql: `INSERT INTO messages (seq, id, client_id, sender_id, sender_role, body, attachments, created_at)
    VALUES (?, ?, ?, ?, 'admin', ?, '[]', ?) ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING seq`,
  args: (i) => [i + 1, randomUUID(), randomUUID(), senders[i % 10], body, Date.now()],
};
// The room's ids since 2026-12-02 (src/platform/ids.ts newTimeOrderedId): UUIDv7, the 48-bit ms
// first, so new ids land at the right edge of the `id` index (random within one ms, as there).
const v7 = () => {
  const t = Date.now().toString(16).padStart(12, "0");
  const r = randomUUID().replaceAll("-", "");
  return `${t.slice(0, 8)}-${t.slice(8)}-7${r.slice(13, 16)}-${r.slice(16, 20)}-${r.slice(20)}`;
};
const messageV7 = {
  sql: message.sql,
  args: (i) => [i + 1, v7(), randomUUID(), senders[i % 10], body, Date.now()],
};
const outbox = { sql: "INSERT INTO outbox (kind, ref) VALUES ('message', ?)", args: (i) => [String(i)] };
const log = { sql: "INSERT INTO log (body) VALUES (?) RETURNING seq", args: () => [body] };

const CASES = [
  ["bare room log", ["CREATE TABLE log (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)"], [log]],
  ["room message, v4 ids (before)", [MESSAGES], [message]],
  ["room message, v7 ids (now)", [MESSAGES], [messageV7]],
  ["room message + outbox row (before)", [MESSAGES, OUTBOX], [message, outbox]],
];

function run(label, schema, inserts, perCommit, n = 20_000) {
  const file = path.join(dir, `${label.replace(/\W+/g, "-")}-${perCommit}.sqlite`);
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  for (const s of schema) db.exec(s);
  const stmts = inserts.map((q) => db.prepare(q.sql));
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (i % perCommit === 0) db.exec("BEGIN");
    for (const [k, q] of inserts.entries()) stmts[k].run(...q.args(i));
    if (i % perCommit === perCommit - 1) db.exec("COMMIT");
  }
  const us = Number(process.hrtime.bigint() - t) / 1000 / n;
  db.close();
  return us;
}

for (const perCommit of [1, 10]) {
  const base = run(...CASES[0], perCommit);
  for (const [label, schema, inserts] of CASES) {
    const us = label === CASES[0][0] ? base : run(label, schema, inserts, perCommit);
    console.log(
      `${perCommit} per commit  ${label.padEnd(36)} ${us.toFixed(1).padStart(7)} µs  ${(us / base).toFixed(2)}×`,
    );
  }
}
rmSync(dir, { recursive: true, force: true });
