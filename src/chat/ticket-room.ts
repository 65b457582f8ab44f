import { DurableObject } from "cloudflare:workers";

/** One per support ticket. Implemented by the chat capability. */
export class TicketRoom extends DurableObject<Env> {}
