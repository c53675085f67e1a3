// Approving a batch so that a dropped network never loses an approval and never signs twice.
//
// A selection larger than one call may carry goes as several calls in turn, under the one PIN,
// and its outcome is reported as one. The batch (what is left of it) is written down
// (sessionStorage) before it is sent, and each call is sent again, unchanged, until the server
// gives a definite answer. That is safe because the scheduler answers a repeated Approve
// for records it already signed for this signer with the stored signatures instead of signing
// again, and refuses (ABORTED) while the first attempt is still in flight. The PIN stays in memory
// only: after a reload the app asks for it again to finish the batch. For a signer whose key is at
// a remote provider the answer is a confirmation to give in the signing app, not signatures: the
// batch is then handed over all the same, and the inbox shows it waiting (confirmations.ts).

import { useSyncExternalStore } from "preact/compat";
import {
  CALL_TIMEOUT_MS,
  Code,
  ConnectError,
  currentToken,
  inbox,
  isSessionEnded,
  isTransient,
  onTokenChange,
} from "./api";
import type { ApproveResponse } from "./gen/signq/v1/inbox_pb";
import type { Confirmation, Record } from "./gen/signq/v1/record_pb";

const KEY = "signq.pendingApproval";
const MAX_BACKOFF_MS = 8_000;

export type Pending = { recordIds: string[]; since: number };

export type ApprovalState = {
  /** The batch not yet confirmed by the server, if any. */
  pending: Pending | null;
  /** Whether this page is sending it now (false after a reload: the PIN is needed again). */
  running: boolean;
  /** Whether the last attempt failed for want of network and a retry is scheduled. */
  retrying: boolean;
};

const listeners = new Set<() => void>();
let state: ApprovalState = { pending: loadPending(), running: false, retrying: false };
let wake: (() => void) | null = null;

function loadPending(): Pending | null {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? "null") as Pending | null;
  } catch {
    return null;
  }
}

function update(patch: Partial<ApprovalState>): void {
  state = { ...state, ...patch };
  if (state.pending) sessionStorage.setItem(KEY, JSON.stringify(state.pending));
  else sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

/** Retries a waiting batch now (the network came back, or the person asked). */
export function retryNow(): void {
  wake?.();
}
window.addEventListener("online", retryNow);
// A batch belongs to the session that sent it: when that session ends, the loop stops at once
// (the batch stays, to be finished by its signer with the PIN).
onTokenChange(retryNow);

/** Forgets an interrupted batch (the person signed out). */
export function forgetPending(): void {
  update({ pending: null, running: false, retrying: false });
}

/**
 * Records one Approve call may carry: the scheduler refuses a larger batch (its limit per
 * approval, the signing service's batch size), so a larger selection goes as several calls.
 */
export const MAX_PER_CALL = 100;

/** What an approval came to, over all its calls. */
export type Approved = {
  /** The records as the server answered them: signed, or waiting for a confirmation. */
  records: Record[];
  /** The confirmations a remote key waits for. */
  confirmations: Confirmation[];
  /** A refusal of a later part of the batch, after the parts before it were answered. */
  refused?: unknown;
};

/**
 * Signs `recordIds` with one PIN, in parts of at most {@link MAX_PER_CALL} records. Resolves once
 * every part has a definite answer: the signed records, or (a remote key) the records waiting for
 * the confirmations it names; a refusal of a later part comes back as `refused` beside what the
 * parts before it did. Rejects only on a definite refusal of the first part (wrong PIN, records
 * no longer leased, ...). While the network is down it keeps the rest of the batch and retries,
 * calling `onOffline` each time an attempt fails.
 */
export async function approve(recordIds: string[], pin: string, onOffline: () => void): Promise<Approved> {
  const approved: Approved = { records: [], confirmations: [] };
  let rest = recordIds;
  update({ pending: { recordIds: rest, since: Date.now() }, running: true, retrying: false });
  while (rest.length > 0) {
    const part = rest.slice(0, MAX_PER_CALL);
    try {
      const answer = await approvePart(part, pin, onOffline);
      approved.records.push(...answer.records);
      approved.confirmations.push(...answer.confirmations);
    } catch (e) {
      if (isSessionEnded(e)) {
        // An earlier attempt may have signed: keep the batch, to finish after signing in again.
        update({ running: false, retrying: false });
        throw e;
      }
      update({ pending: null, running: false, retrying: false });
      if (rest === recordIds) throw e;
      return { ...approved, refused: e };
    }
    rest = rest.slice(part.length);
    // A reload from here on finishes only what is left.
    update({ pending: rest.length > 0 ? { recordIds: rest, since: Date.now() } : null, retrying: false });
  }
  update({ running: false });
  return approved;
}

/** Sends one part until the server gives a definite answer (see {@link approve}). */
async function approvePart(
  recordIds: string[],
  pin: string,
  onOffline: () => void,
): Promise<ApproveResponse> {
  const session = currentToken();
  let backoff = 1_000;
  for (;;) {
    try {
      if (currentToken() !== session) throw new ConnectError("the session ended", Code.Unauthenticated);
      return await inbox.approve({ recordIds, pin }, { timeoutMs: CALL_TIMEOUT_MS });
    } catch (e) {
      if (isSessionEnded(e) || !isTransient(e)) throw e;
      onOffline();
      update({ retrying: true });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, navigator.onLine ? backoff : 60_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The pending batch, re-rendering the caller when it changes. */
export function useApproval(): ApprovalState {
  return useSyncExternalStore(subscribe, () => state);
}
