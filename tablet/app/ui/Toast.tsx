// A short message after an action ("Signed 10 records") or a refusal in the server's own words.

import { useEffect } from "preact/hooks";

export type Notice = { kind: "ok" | "error"; text: string } | null;

export function Toast(props: { notice: Notice; onDone: () => void }) {
  const { notice, onDone } = props;
  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(onDone, notice.kind === "ok" ? 4_000 : 10_000);
    return () => clearTimeout(timer);
  }, [notice, onDone]);
  if (!notice) return null;
  return (
    <div
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
