// The signer's inbox as the server streams it: a snapshot, then records leased and leases ended.
// The stream is reopened whenever it breaks (with backoff, and at once when the browser says the
// network is back); every reconnection starts from a fresh snapshot, so nothing is missed. The
// last known inbox is kept in sessionStorage, so a reload without network still shows it. Each
// event is also handed to whoever follows the records' fate (why a lease ended is in the event
// only): confirmations.ts, for batches waiting in a remote signing app.

import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { base64Decode, base64Encode } from "@bufbuild/protobuf/wire";
import { useSyncExternalStore } from "preact/compat";
import { inbox, isSessionEnded } from "./api";
import { InboxSnapshotSchema } from "./gen/signq/v1/inbox_pb";
import { RecordStage, RecordState, type Record } from "./gen/signq/v1/record_pb";
import { isKnownSigned } from "./signed";

export type Connection = "connecting" | "online" | "offline";

/** What changed in the inbox, as it happened. */
export type InboxEvent =
  /** The server's whole inbox (at every (re)connection). */
  | { kind: "snapshot"; records: Record[] }
  /** A record leased, or leased again with what changed (e.g. it now waits for a confirmation). */
  | { kind: "leased"; record: Record }
  /** A record left the inbox: `reason` is "signed", "unconfirmed", "expired", "rejected", ... */
  | { kind: "ended"; recordId: string; reason: string }
  /** Records as an answer of the server showed them (an approval waiting for a confirmation). */
  | { kind: "merged"; records: Record[] };

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

const STORE_PREFIX = "signq.inbox.";

/** The inbox last seen by this tab for `signerId`, if any. */
function restore(signerId: string): Pick<InboxState, "records" | "away"> {
  try {
    const kept = sessionStorage.getItem(STORE_PREFIX + signerId);
    if (kept) return fromBinary(InboxSnapshotSchema, base64Decode(kept));
  } catch {
    // A damaged copy is only a cache: start empty and wait for the server.
  }
  return { records: [], away: false };
}

/** Forgets every kept inbox (sign out). */
export function forgetInboxes(): void {
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(STORE_PREFIX)) sessionStorage.removeItem(key);
  }
}

/** One live inbox stream for the signed-in signer. */
export class LiveInbox {
  private state: InboxState;
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(e: InboxEvent) => void>();
  private abort = new AbortController();
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly signerId: string,
    private readonly onUnauthenticated: () => void,
  ) {
    const kept = restore(signerId);
    this.state = {
      records: [...kept.records].sort(deadlineOrder),
      away: kept.away,
      connection: "connecting",
    };
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

  /** Calls `listener` after each change of the inbox, with what changed; returns the unsubscribe. */
  onEvent(listener: (e: InboxEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /**
   * Takes the server's answer about records of the inbox as their newest state, before the
   * stream repeats it (the stream may be down for a while): records still leased (now waiting
   * for a confirmation) are updated, records signed leave the inbox at once. Records no longer in
   * the inbox are left out: the stream said they left after the answer was made.
   */
  merge(records: Record[]): void {
    const present = new Set(this.state.records.map((r) => r.id));
    const answered = records.filter((r) => present.has(r.id));
    const fresh = answered.filter((r) => r.state === RecordState.LEASED);
    const signed = answered.filter((r) => isSigned(r)).map((r) => r.id);
    if (fresh.length === 0 && signed.length === 0) return;
    const gone = new Set([...fresh.map((r) => r.id), ...signed]);
    const kept = this.state.records.filter((r) => !gone.has(r.id));
    this.update({ records: [...kept, ...fresh].sort(deadlineOrder) });
    if (fresh.length > 0) this.emit({ kind: "merged", records: fresh });
    for (const recordId of signed) this.emit({ kind: "ended", recordId, reason: "signed" });
  }

  private emit(e: InboxEvent): void {
    this.eventListeners.forEach((l) => l(e));
  }

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
    if (patch.records || patch.away !== undefined) {
      const snapshot = create(InboxSnapshotSchema, { records: this.state.records, away: this.state.away });
      sessionStorage.setItem(
        STORE_PREFIX + this.signerId,
        base64Encode(toBinary(InboxSnapshotSchema, snapshot)),
      );
    }
    this.listeners.forEach((l) => l());
  }

  private async run(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      this.abort = new AbortController();
      try {
        for await (const event of inbox.streamInbox({}, { signal: this.abort.signal })) {
          backoff = 500;
          const e = event.event;
          if (e.case === "snapshot") {
            this.update({
              records: e.value.records.filter((r) => !isKnownSigned(r.id)).sort(deadlineOrder),
              away: e.value.away,
              connection: "online",
            });
            this.emit({ kind: "snapshot", records: e.value.records });
          } else if (e.case === "leased") {
            // A lease made just before this tablet learnt of the signature, sent late.
            if (isKnownSigned(e.value.id)) continue;
            const records = this.state.records.filter((r) => r.id !== e.value.id);
            this.update({ records: [...records, e.value].sort(deadlineOrder) });
            this.emit({ kind: "leased", record: e.value });
          } else if (e.case === "ended") {
            const id = e.value.recordId;
            this.update({ records: this.state.records.filter((r) => r.id !== id) });
            this.emit({ kind: "ended", recordId: id, reason: e.value.reason });
          }
        }
      } catch (err) {
        if (this.stopped) return;
        if (isSessionEnded(err)) {
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

/** Whether the signer's part of `record` is done: signed, or signed and waiting for the seal. */
export function isSigned(record: Record): boolean {
  return record.state === RecordState.SIGNED || record.stage === RecordStage.SEAL;
}

/** The inbox state, re-rendering the caller on every change. */
export function useInbox(live: LiveInbox): InboxState {
  return useSyncExternalStore(live.subscribe, () => live.snapshot);
}
