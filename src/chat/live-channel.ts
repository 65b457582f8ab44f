import { DurableObject } from "cloudflare:workers";

/** One per merchant or admin live feed. Implemented by the chat capability. */
export class LiveChannel extends DurableObject<Env> {}
