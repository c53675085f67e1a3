// The signers who cannot sign now (their key locked after wrong PINs, or marked away) while
// records are leased to them, under the ward's signers chart: until when each is locked, and the
// records that wait on them with their deadlines and when they go back to the queue, so that the
// director can call the signer (or the ward's IT officer) before a record is late. Nothing shows
// when nobody is stuck.

import { due, hourMinute, millis } from "../format";
import type { SignerInfo } from "../gen/signq/v1/admin_pb";
import { useWords } from "../i18n";

/** Whether the signer's key is locked at `now` (unknown counts as not). */
function lockedAt(s: SignerInfo, now: number): boolean {
  return s.lockedUntil !== undefined && millis(s.lockedUntil) > now;
}

export function StuckSigners(props: {
  signers: SignerInfo[];
  now: number;
  roleName: (s: SignerInfo) => string;
}) {
  const { t, lang } = useWords();
  const stuck = props.signers.filter((s) => s.held.length > 0 && (s.away || lockedAt(s, props.now)));
  if (stuck.length === 0) return null;
  return (
    <section class="stuck" data-testid="stuck-signers" aria-labelledby="stuck-title">
      <h2 id="stuck-title">{t.wardStuckTitle}</h2>
      <p class="muted">{t.wardStuckHint}</p>
      <ul class="stuck-list">
        {stuck.map((s) => {
          const why = [
            ...(lockedAt(s, props.now) ? [t.wardLockedUntil(hourMinute(lang, millis(s.lockedUntil)))] : []),
            ...(s.away ? [t.wardAway] : []),
          ];
          return (
            <li key={s.signerId} data-testid="stuck-signer" data-signer-id={s.signerId}>
              <p class="stuck-who">
                <strong>{s.displayName}</strong> ({props.roleName(s)}):{" "}
                <span class="stuck-why">{why.join(", ")}</span>
              </p>
              <ul class="stuck-records">
                {s.held.map((h) => (
                  <li key={h.recordId} data-testid="stuck-record" data-record-id={h.recordId}>
                    <span class="stuck-title">{h.title}</span>
                    <span class="muted">
                      {" "}
                      ({t.wardDue(due(lang, millis(h.deadline)))}
                      {h.leaseExpiresAt
                        ? `; ${t.wardBackAt(hourMinute(lang, millis(h.leaseExpiresAt)))}`
                        : ""}
                      )
                    </span>
                  </li>
                ))}
              </ul>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
