/**
 * The chat wire contract as a client sees it (docs/chat-protocol.md). Plain types, no runtime
 * dependency, so the library runs unchanged in browsers, Node 22 and workerd.
 * test/chat-client/wire-types.test.ts checks these against the server's own types.
 */
/** A link, or a file uploaded to the ticket (`id`; `url` is then its download path, which needs the token). */
export type Attachment = { id?: string; url: string; name: string; content_type: string; size: number };

export type Participant = { user_id: string; role: string };

export type ChatMessage = {
  id: string;
  seq: number;
  sender_id: string;
  sender_role: string;
  body: string;
  attachments: Attachment[];
  created_at: string;
  client_id: string | null;
};

export type RoomFrame =
  | { type: "welcome"; ticket_id: string; you: Participant; participants: Participant[]; last_seq: number }
  | ({ type: "message" } & ChatMessage)
  | { type: "ack"; client_id: string; id: string; seq: number; duplicate?: boolean }
  | { type: "read"; user_id: string; up_to: number; read_at: string }
  | { type: "typing"; user_id: string }
  | { type: "presence"; user_id: string; role: string; status: "online" | "offline" }
  | { type: "error"; code: string; message: string; client_id?: string; details?: unknown };

export type LiveFrame =
  | { type: "welcome"; channel: string; last_seq: number; oldest_seq: number; truncated: boolean }
  | { type: "event"; seq: number; id: string; event_type: string; occurred_at: string; data: unknown }
  | { type: "error"; code: string; message: string };

/** The room's per-connection token bucket (src/chat/protocol.ts LIMITS); the client paces below it. */
export const ROOM_BUCKET = { capacity: 10, refillPerSec: 2 } as const;
export const MAX_BODY_CHARS = 4000;
export const TYPING_THROTTLE_MS = 2000;
/** The most messages the room replays on one connect (`?since=`); the client reconnects for the rest. */
export const MAX_REPLAY = 1000;

/** Close codes after which reconnecting cannot help (the server meant it). */
export const TERMINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  1008, // policy: too many rejected frames
  1009, // a frame was too big
  4000, // ticket closed by an agent
]);
