// The waiting panel of a remote signing key. After the PIN, nothing is signed until the person
// confirms the batch in their signing app, which shows the same short code as this panel: the
// code in large type, how many records wait, the time left until the confirmation expires, and
// what happens meanwhile (the records stay with the person; out of time, they go back to the
// queue). The panel is drawn from the inbox (records carry their confirmation), so it comes back
// after a reload and goes once no record waits. A batch that ended unconfirmed leaves a notice
// until the person dismisses it or approves again.

import { useEffect, useRef } from "preact/hooks";
import type { Unconfirmed, Waiting } from "../confirmations";
import { countdown, useNow } from "../format";
import { useWords } from "../i18n";

export function ConfirmationPanel(props: {
  batches: Waiting[];
  unconfirmed: Unconfirmed[];
  onDismiss: (id: string) => void;
}) {
  const { t } = useWords();
  const { batches, unconfirmed } = props;
  // Read out once per change of what waits (a live region present from the start is announced
  // reliably; the countdown itself is not read out every second).
  const announcement = batches
    .map((b) => `${t.confirmInApp}: ${b.code}. ${t.confirmRecords(b.recordIds.length)}.`)
    .join(" ");
  return (
    <>
      <p class="visually-hidden" aria-live="polite" data-testid="confirmation-announcement">
        {announcement}
      </p>
      {unconfirmed.map((n) => (
        <div key={n.id} class="banner warn confirm-ended" role="alert" data-testid="confirmation-ended">
          <span>{n.timedOut ? t.confirmTimedOut(n.code) : t.confirmRefused(n.code)}</span>
          <button type="button" onClick={() => props.onDismiss(n.id)}>
            {t.dismiss}
          </button>
        </div>
      ))}
      {batches.map((b) => (
        <WaitingBatch key={b.id} batch={b} />
      ))}
    </>
  );
}

function WaitingBatch(props: { batch: Waiting }) {
  const { batch } = props;
  const { t } = useWords();
  const now = useNow(1_000);
  const panel = useRef<HTMLElement>(null);
  // A batch just handed over may be below the fold of a long list: bring it into view once.
  useEffect(() => {
    panel.current?.scrollIntoView({ block: "nearest" });
  }, [batch.id]);
  const left = batch.expiresAt - now;
  const title = `confirm-title-${batch.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  return (
    <section
      ref={panel}
      class="confirm-panel"
      aria-labelledby={title}
      data-testid="confirmation"
      data-confirmation-id={batch.id}
    >
      <h2 id={title}>{t.confirmInApp}</h2>
      <dl class="confirm-facts">
        <div>
          <dt>{t.confirmCodeLabel}</dt>
          <dd class="confirm-code" data-testid="confirmation-code">
            {batch.code}
          </dd>
        </div>
        <div>
          <dt>{t.confirmTimeLeft}</dt>
          <dd class="confirm-countdown">
            <span role="timer" data-testid="confirmation-countdown" data-expires-at={batch.expiresAt}>
              {countdown(left)}
            </span>
          </dd>
        </div>
      </dl>
      <p class="confirm-records" data-testid="confirmation-records">
        {t.confirmRecords(batch.recordIds.length)}
      </p>
      <p class="confirm-stay">{left > 0 ? t.confirmStay : t.confirmOutcome}</p>
    </section>
  );
}
