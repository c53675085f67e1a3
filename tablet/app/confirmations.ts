// Batches waiting for their person to confirm them in a remote signing app. A signer whose key is
// at a remote provider approves with the PIN, and nothing is signed until they confirm in the app,
// which shows the same short code as the tablet. Meanwhile the records stay leased to them with
// `confirmation` set, so what waits is read from the inbox itself (and comes back after a reload
// from the snapshot). How a batch ended is known only from the stream's "lease ended" events:
// "signed" once confirmed, "unconfirmed" once refused or expired (the records then return to the
// pool, and usually come straight back). This module follows each batch to its end and says so
// once: how many were signed, or that the code was not confirmed in time.

import { useSyncExternalStore } from "preact/compat";
import { millis } from "./format";
import type { Record } from "./gen/signq/v1/record_pb";
import type { InboxEvent, LiveInbox } from "./live";

/** A batch waiting in the signing app, as the inbox shows it. */
export type Waiting = {
  /** The confirmation's id. */
  id: string;
  /** The short code the app shows too. */
  code: string;
  /** When it expires unconfirmed (ms since the epoch). */
  expiresAt: number;
  /** Its records in the inbox. */
  recordIds: string[];
};

/** A batch that ended unconfirmed: its records went back to the queue. */
export type Unconfirmed = {
  /** The confirmation's id. */
  id: string;
  code: string;
  /** How many of its records went back. */
  count: number;
  /** Whether its time ran out (else the person refused it, or it failed, before that). */
  timedOut: boolean;
};

/** The batches waiting in `records`, soonest to expire first. */
export function waitingBatches(records: Record[]): Waiting[] {
  const batches = new Map<string, Waiting>();
  for (const r of records) {
    const c = r.confirmation;
    if (!c) continue;
    const batch = batches.get(c.id) ?? {
      id: c.id,
      code: c.code,
      expiresAt: millis(c.expiresAt),
      recordIds: [],
    };
    batch.recordIds.push(r.id);
    batches.set(c.id, batch);
  }
  return [...batches.values()].sort((a, b) => a.expiresAt - b.expiresAt || a.id.localeCompare(b.id));
}

/** The code a record waits for, if it waits for one. */
export function waitingCode(record: Record): string | null {
  return record.confirmation?.code ?? null;
}

/** A little slack for the clocks of the tablet and the scheduler when judging "time ran out". */
const CLOCK_SLACK_MS = 2_000;

type Followed = {
  code: string;
  expiresAt: number;
  /** Its records whose fate is not known yet. */
  open: Set<string>;
  /** Its records signed so far. */
  signed: string[];
  unconfirmed: number;
};

/** Follows every batch the inbox shows waiting until it ends, and says how it ended, once. */
export class ConfirmationWatch {
  private readonly followed = new Map<string, Followed>();
  private notices: Unconfirmed[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly unsubscribe: () => void;

  /** Follows the batches of `live`; `onSigned` is told which records a confirmed batch signed. */
  constructor(
    live: LiveInbox,
    private readonly onSigned: (recordIds: string[]) => void,
  ) {
    this.observe(live.snapshot.records);
    this.unsubscribe = live.onEvent(this.handle);
  }

  /** Stops following (sign out). */
  stop(): void {
    this.unsubscribe();
  }

  /** The batches that ended unconfirmed and are not dismissed yet, oldest first. */
  get unconfirmed(): Unconfirmed[] {
    return this.notices;
  }

  /** The person read the notice about `id`. */
  dismiss(id: string): void {
    this.setNotices(this.notices.filter((n) => n.id !== id));
  }

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  private setNotices(notices: Unconfirmed[]): void {
    this.notices = notices;
    this.listeners.forEach((l) => l());
  }

  private handle = (e: InboxEvent): void => {
    switch (e.kind) {
      case "snapshot": {
        this.observe(e.records);
        // What left while the stream was down left for a reason the tablet cannot know: say
        // nothing about it rather than guess.
        const waiting = new Map(e.records.map((r) => [r.id, r.confirmation?.id]));
        for (const [id, f] of this.followed) {
          for (const recordId of f.open) if (waiting.get(recordId) !== id) f.open.delete(recordId);
          this.settle(id, f);
        }
        break;
      }
      case "leased":
        if (e.record.confirmation) this.observe([e.record]);
        else this.close(e.record.id, null);
        break;
      case "merged":
        this.observe(e.records);
        break;
      case "ended":
        this.close(e.recordId, e.reason);
        break;
    }
  };

  /** Starts following the batches `records` wait for. */
  private observe(records: Record[]): void {
    for (const r of records) {
      const c = r.confirmation;
      if (!c) continue;
      let f = this.followed.get(c.id);
      if (!f) {
        f = { code: c.code, expiresAt: millis(c.expiresAt), open: new Set(), signed: [], unconfirmed: 0 };
        this.followed.set(c.id, f);
        // A new batch waits: what was said about earlier ones is old news.
        if (this.notices.length > 0) this.setNotices([]);
      }
      f.open.add(r.id);
    }
  }

  /** The record `recordId` left its batch, for `reason` (null: for a reason not known). */
  private close(recordId: string, reason: string | null): void {
    for (const [id, f] of this.followed) {
      if (!f.open.delete(recordId)) continue;
      if (reason === "signed") f.signed.push(recordId);
      else if (reason === "unconfirmed") f.unconfirmed++;
      this.settle(id, f);
    }
  }

  /** Once none of its records waits any more, says how the batch ended and forgets it. */
  private settle(id: string, f: Followed): void {
    if (f.open.size > 0) return;
    this.followed.delete(id);
    if (f.signed.length > 0) this.onSigned(f.signed);
    if (f.unconfirmed > 0) {
      const timedOut = Date.now() >= f.expiresAt - CLOCK_SLACK_MS;
      this.setNotices([...this.notices, { id, code: f.code, count: f.unconfirmed, timedOut }]);
    }
  }
}

/** The notices about batches that ended unconfirmed, re-rendering the caller when they change. */
export function useUnconfirmed(watch: ConfirmationWatch): Unconfirmed[] {
  return useSyncExternalStore(watch.subscribe, () => watch.unconfirmed);
}
