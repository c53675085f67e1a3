// The signer's inbox as the server streams it: a snapshot, then records leased and leases ended.
// The stream is reopened whenever it breaks (with backoff, and at once when the browser says the
// network is back); every reconnection starts from a fresh snapshot, so nothing is missed.

import { useSyncExternalStore } from "preact/compat";
import { inbox, isUnauthenticated } from "./api";
import type { Record } from "./gen/signq/v1/record_pb";

export type Connection = "connecting" | "online" | "offline";

export type InboxState = {
  /** Leased records, deadline first (then priority). */
  records: Record[];
  away: boolean;
  connection: Connection;
};

const MAX_BACKOFF_MS = 10_000;

function deadlineOrder(a: Record, b: Record): number {
  const da = Number(a.deadline?.seconds ?? 0n);
  const db = Number(b.deadline?.seconds ?? 0n);
  return da - db || b.priority - a.priority || a.id.localeCompare(b.id);
}

/** One live inbox stream for the signed-in signer. */
export class LiveInbox {
  private state: InboxState = { records: [], away: false, connection: "connecting" };
  private readonly listeners = new Set<() => void>();
  private abort = new AbortController();
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(private readonly onUnauthenticated: () => void) {
    window.addEventListener("online", this.reconnectNow);
    window.addEventListener("offline", this.dropped);
    void this.run();
  }

  /** Stops streaming (sign out). */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
    window.removeEventListener("online", this.reconnectNow);
    window.removeEventListener("offline", this.dropped);
    this.wake?.();
  }

  get snapshot(): InboxState {
    return this.state;
  }

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  /** Marks the connection as gone (e.g. a call failed for want of network). */
  markOffline(): void {
    this.update({ connection: "offline" });
  }

  /** Applies the away flag the server confirmed. */
  setAway(away: boolean): void {
    this.update({ away });
  }

  /** Tries the stream again now, rather than after the backoff. */
  reconnectNow = (): void => {
    this.wake?.();
  };

  private dropped = (): void => {
    // The browser knows the network is gone: stop waiting on a stream that cannot deliver.
    this.abort.abort();
    this.update({ connection: "offline" });
  };

  private update(patch: Partial<InboxState>): void {
    this.state = { ...this.state, ...patch };
    this.listeners.forEach((l) => l());
  }

  private async run(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      this.abort = new AbortController();
      try {
        for await (const event of inbox.stream({}, { signal: this.abort.signal })) {
          backoff = 500;
          const e = event.event;
          if (e.case === "snapshot") {
            this.update({
              records: [...e.value.records].sort(deadlineOrder),
              away: e.value.away,
              connection: "online",
            });
          } else if (e.case === "leased") {
            const records = this.state.records.filter((r) => r.id !== e.value.id);
            this.update({ records: [...records, e.value].sort(deadlineOrder) });
          } else if (e.case === "ended") {
            const id = e.value.recordId;
            this.update({ records: this.state.records.filter((r) => r.id !== id) });
          }
        }
      } catch (err) {
        if (this.stopped) return;
        if (isUnauthenticated(err)) {
          this.onUnauthenticated();
          return;
        }
      }
      if (this.stopped) return;
      this.update({ connection: "offline" });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      if (!this.stopped) this.update({ connection: "connecting" });
    }
  }
}

/** The inbox state, re-rendering the caller on every change. */
export function useInbox(live: LiveInbox): InboxState {
  return useSyncExternalStore(live.subscribe, () => live.snapshot);
}
