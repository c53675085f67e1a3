// The ward's working time, as the scheduler counts deadlines: its office sessions on working days
// (weekends, public holidays and the year's swapped days have none), fetched from the scheduler
// so that "time left" on a record is working time, not clock time. Refreshed every hour.

import { useEffect, useState } from "preact/hooks";
import { CALL_TIMEOUT_MS, inbox } from "./api";
import { millis } from "./format";

const REFRESH_MS = 3600_000;

/** Office sessions as [start, end) in milliseconds since the epoch, in order. */
export class WorkingTime {
  constructor(
    private readonly sessions: [number, number][],
    private readonly from: number,
    private readonly until: number,
  ) {}

  /** Whether both instants fall within the span the sessions cover. */
  covers(a: number, b: number): boolean {
    return Math.min(a, b) >= this.from && Math.max(a, b) <= this.until;
  }

  /** Working time from `a` to `b`, negative when `b` is earlier. */
  between(a: number, b: number): number {
    if (b < a) return -this.between(b, a);
    let total = 0;
    for (const [start, end] of this.sessions) {
      if (end <= a) continue;
      if (start >= b) break;
      total += Math.min(end, b) - Math.max(start, a);
    }
    return total;
  }

  /** The working time of a full working day (the longest day in the span). */
  dayMs(): number {
    const days = new Map<number, number>();
    for (const [start, end] of this.sessions) {
      const day = Math.floor((start + 7 * 3600_000) / 86_400_000);
      days.set(day, (days.get(day) ?? 0) + (end - start));
    }
    return Math.max(0, ...days.values());
  }
}

async function load(): Promise<WorkingTime> {
  const reply = await inbox.getWorkingTime({}, { timeoutMs: CALL_TIMEOUT_MS });
  const sessions = reply.sessions.map((s): [number, number] => [millis(s.start), millis(s.end)]);
  return new WorkingTime(sessions, millis(reply.from), millis(reply.until));
}

/** The ward's working time, or null until the scheduler has said it. */
export function useWorkingTime(): WorkingTime | null {
  const [working, setWorking] = useState<WorkingTime | null>(null);
  useEffect(() => {
    let live = true;
    const refresh = () =>
      load().then(
        (w) => live && setWorking(w),
        () => undefined,
      );
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return working;
}
