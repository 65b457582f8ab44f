// The chat client library: support-ticket rooms and live feeds over the standard WebSocket API.
export {
  type Auth,
  type ConnectionOptions,
  type ConnectionStatus,
  ResumableConnection,
  type SocketFactory,
  type SocketLike,
} from "./connection";
export { LiveFeed, type LiveFeedEvents, type LiveFeedOptions } from "./live-feed";
export {
  type Pending,
  SupportChat,
  type SupportChatEvents,
  type SupportChatOptions,
  type Tick,
} from "./support-chat";
export type { Attachment, ChatMessage, LiveFrame, Participant, RoomFrame } from "./wire";
