// The offline banner: shown whenever the inbox stream is down or an approval waits for the
// network, saying plainly that nothing is lost and what happens next.

import { retryNow, useApproval } from "../approval";
import { useWords } from "../i18n";
import type { Connection } from "../live";

export function OfflineBanner(props: { connection: Connection; onRetry: () => void }) {
  const { t } = useWords();
  const approval = useApproval();
  const waiting = approval.pending && approval.retrying;
  if (props.connection === "online" && !waiting) return null;
  const text = props.connection === "connecting" && !waiting ? t.connecting : t.offline;
  return (
    <div class="banner offline" role="alert" data-testid="offline-banner">
      <div>
        <strong>{text}</strong>
        {waiting && approval.pending && <p>{t.pendingApproval(approval.pending.recordIds.length)}</p>}
      </div>
      <button
        type="button"
        onClick={() => {
          retryNow();
          props.onRetry();
        }}
      >
        {t.retryNow}
      </button>
    </div>
  );
}
