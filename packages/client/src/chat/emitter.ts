/** A minimal typed event emitter (no EventTarget: it is not in every runtime's type set). */
export class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<(value: never) => void>>();

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof Events>(type: K, listener: (value: Events[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  protected emit<K extends keyof Events>(type: K, value: Events[K]): void {
    for (const l of this.listeners.get(type) ?? []) {
      // A throwing listener must not break the connection's state machine or other listeners.
      try {
        (l as (value: Events[K]) => void)(value);
      } catch (err) {
        console.error(`chat client: a "${String(type)}" listener threw`, err);
      }
    }
  }
}
