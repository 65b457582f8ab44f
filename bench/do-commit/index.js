// Bench-only worker (never deployed; `node bench/do-commit/run.mjs`): what one Durable Object turn
// costs workerd's CPU locally when it writes to SQLite, against a turn that does not write. Each
// kind runs N turns (a setTimeout between inserts, so every insert is its own implicit
// transaction and commit, as a chat message is): "none" writes nothing, "log" is the bare room's
// one-column log, "messages" the ticket room's table, "noid" that table without its id index.
import { DurableObject } from "cloudflare:workers";

const MESSAGES = `CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL, sender_id TEXT NOT NULL, sender_role TEXT NOT NULL, body TEXT NOT NULL,
  attachments TEXT NOT NULL, created_at INTEGER NOT NULL, read_at INTEGER, UNIQUE (sender_id, client_id))`;
const NOID = MESSAGES.replace("id TEXT NOT NULL UNIQUE", "id TEXT NOT NULL").replace("messages", "noid");
const BODY = "x".repeat(40);

export class Room extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    ctx.storage.sql.exec(MESSAGES);
    ctx.storage.sql.exec(NOID);
  }

  async run(kind, n, per) {
    const sql = this.ctx.storage.sql;
    const senders = Array.from({ length: 10 }, () => crypto.randomUUID());
    for (let i = 0; i < n; i++) {
      if (kind === "log") sql.exec("INSERT INTO log (body) VALUES (?) RETURNING seq", BODY).one();
      else if (kind !== "none")
        sql
          .exec(
            `INSERT INTO ${kind} (seq, id, client_id, sender_id, sender_role, body, attachments, created_at)
             VALUES (?, ?, ?, ?, 'admin', ?, '[]', ?) ON CONFLICT (sender_id, client_id) DO NOTHING RETURNING seq`,
            i + 1,
            crypto.randomUUID(),
            crypto.randomUUID(),
            senders[i % 10],
            BODY,
            Date.now(),
          )
          .toArray();
      if ((i + 1) % per === 0) await new Promise((r) => setTimeout(r, 0));
    }
    return { kind, n };
  }
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    const kind = url.searchParams.get("kind") ?? "none";
    if (!["none", "log", "messages", "noid"].includes(kind)) return new Response("bad kind", { status: 400 });
    const n = Math.min(20_000, Number(url.searchParams.get("n") ?? 1000));
    const per = Math.max(1, Math.min(100, Number(url.searchParams.get("per") ?? 1)));
    // A fresh object per run: each starts from an empty database, as a new ticket does.
    const room = env.ROOM.get(env.ROOM.newUniqueId());
    return Response.json(await room.run(kind, n, per));
  },
};
