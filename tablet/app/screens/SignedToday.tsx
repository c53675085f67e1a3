// What the signer signed today, newest first, so that they can check what was just signed: each
// record with when it was signed, and its signature checked on the tablet itself (verify.ts)
// against the document as the scheduler holds it.

import { useState } from "preact/hooks";
import { CALL_TIMEOUT_MS, explain, inbox, isTransient } from "../api";
import { procedureName, useProcedures } from "../catalogue";
import { clock, millis } from "../format";
import type { Record } from "../gen/signq/v1/record_pb";
import { useWords, type Lang, type Words } from "../i18n";
import { verifySignature, type Verdict } from "../verify";

type Check = { state: "checking" } | { state: "done"; verdict: Verdict } | { state: "failed"; text: string };

export function SignedToday(props: { records: Record[]; onOffline: () => void }) {
  const { t, lang } = useWords();
  const procedures = useProcedures();
  const [checks, setChecks] = useState<Map<string, Check>>(new Map());
  const set = (id: string, check: Check) => setChecks((m) => new Map(m).set(id, check));

  async function check(record: Record) {
    set(record.id, { state: "checking" });
    try {
      const reply = await inbox.getDocument({ recordId: record.id }, { timeoutMs: CALL_TIMEOUT_MS });
      if (!reply.record) throw new Error("no record in the answer");
      set(record.id, { state: "done", verdict: await verifySignature(reply.record) });
    } catch (e) {
      if (isTransient(e)) props.onOffline();
      set(record.id, { state: "failed", text: explain(t, e) });
    }
  }

  return (
    <main class="signed-today" data-testid="signed-today">
      <h2>{t.tabSigned}</h2>
      {props.records.length === 0 && <p class="empty">{t.signedTodayEmpty}</p>}
      <ul class="signed-list">
        {props.records.map((r) => {
          const c = checks.get(r.id);
          return (
            <li key={r.id} data-testid="signed-record" data-record-id={r.id}>
              <div>
                <strong>{r.title}</strong>
                <p class="muted">
                  {procedureName(procedures, r.procedureCode)} ·{" "}
                  {t.signedAt(clock(lang, millis(r.clerkId ? r.finishedAt : r.signedAt)))}
                </p>
                {c && (
                  <p
                    class={c.state === "done" ? (c.verdict.ok ? "verdict ok" : "verdict bad") : "muted"}
                    role="status"
                    data-testid="verdict"
                    data-valid={c.state === "done" ? String(c.verdict.ok) : undefined}
                  >
                    {c.state === "checking"
                      ? t.verifying
                      : c.state === "failed"
                        ? c.text
                        : said(t, lang, c.verdict)}
                  </p>
                )}
              </div>
              {r.signature.length > 0 && (
                <button
                  type="button"
                  data-testid="verify"
                  disabled={c?.state === "checking"}
                  onClick={() => void check(r)}
                >
                  {t.verify}
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </main>
  );
}

function said(t: Words, lang: Lang, v: Verdict): string {
  if (v.ok) return t.verified(v.signer, clock(lang, v.signedAt.getTime()), v.issuer);
  const why = {
    changed: t.changedDocument,
    untrusted: t.untrustedCertificate,
    unreadable: t.unreadableSignature,
  };
  return t.notVerified(why[v.why]);
}
