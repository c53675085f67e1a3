// How the signer's work stands (GetProgress): how many more records wait for them beyond those
// they hold, how many they hold at most, and what they signed today. Asked again whenever the
// inbox changes and every 15 s, so the count follows what deputies and intake do meanwhile.

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { CALL_TIMEOUT_MS, inbox, isSessionEnded } from "./api";
import type { GetProgressResponse } from "./gen/signq/v1/inbox_pb";

const REFRESH_MS = 15_000;
/** How long the inbox stays unchanged before its change is followed by a new answer. */
const SETTLE_MS = 300;

export type Progress = {
  /** The last answer, or null before the first (or while the network is away). */
  progress: GetProgressResponse | null;
  /** Asks again now; resolves with the answer, or null if it could not be had. */
  refresh: () => Promise<GetProgressResponse | null>;
};

/** Follows the signer's progress; `inboxKey` changes whenever the inbox does. */
export function useProgress(inboxKey: string): Progress {
  const [progress, setProgress] = useState<GetProgressResponse | null>(null);
  const live = useRef(true);
  const refresh = useCallback(async () => {
    try {
      const reply = await inbox.getProgress({}, { timeoutMs: CALL_TIMEOUT_MS });
      if (live.current) setProgress(reply);
      return reply;
    } catch (e) {
      // Offline or signed out: the inbox's own banner says so; the last figures stay.
      if (!isSessionEnded(e)) console.warn("progress not refreshed", e);
      return null;
    }
  }, []);
  useEffect(() => {
    live.current = true;
    const timer = setInterval(refresh, REFRESH_MS);
    return () => {
      live.current = false;
      clearInterval(timer);
    };
  }, [refresh]);
  // Leases arrive one event at a time: ask once the inbox has settled, not once per event.
  useEffect(() => {
    const timer = setTimeout(refresh, SETTLE_MS);
    return () => clearTimeout(timer);
  }, [inboxKey, refresh]);
  return { progress, refresh };
}
