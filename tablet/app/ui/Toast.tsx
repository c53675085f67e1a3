// A short message after an action ("Signed 10 records") or a refusal in the server's own words.

import { useEffect, useMemo } from "preact/hooks";

export type Notice = { kind: "ok" | "error"; text: string } | null;

/** Notices shown so far: each new one is a new element (screen readers announce it again). */
let shown = 0;

export function Toast(props: { notice: Notice; onDone: () => void }) {
  const { notice, onDone } = props;
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(onDone, notice.kind === "ok" ? 4_000 : 10_000);
    return () => clearTimeout(timer);
  }, [notice, onDone]);
  const seq = useMemo(() => ++shown, [notice]);
  if (!notice) return null;
  return (
    <div
      key={seq}
      data-notice={seq}
      class={`toast ${notice.kind}`}
      role={notice.kind === "error" ? "alert" : "status"}
      data-testid={`toast-${notice.kind}`}
    >
      {notice.text}
      <button type="button" class="plain" aria-label="×" onClick={onDone}>
        ×
      </button>
    </div>
  );
}
