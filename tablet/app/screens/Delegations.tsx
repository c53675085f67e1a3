// The director's delegations: who may sign which procedures, until when, and how many a day;
// revoking one stops it in the signer service first, so no signature can slip through after.
// New ones are made in NewDelegation.

import { useEffect, useState } from "preact/hooks";
import { admin, CALL_TIMEOUT_MS, explain, isTransient } from "../api";
import { procedureName, useProcedures } from "../catalogue";
import { date, millis } from "../format";
import type { DelegationInfo, SignerInfo } from "../gen/signq/v1/admin_pb";
import { SignerRole } from "../gen/signq/v1/delegation_pb";
import { useWords } from "../i18n";
import type { SessionInfo } from "../session";
import type { Notice } from "../ui/Toast";
import { NewDelegation } from "./NewDelegation";
import { ReasonDialog } from "./ReasonDialog";

export function Delegations(props: {
  session: SessionInfo;
  notify: (n: Notice) => void;
  onOffline: () => void;
}) {
  const { t, lang } = useWords();
  const ward = props.session.ward;
  const procedures = useProcedures();
  const [delegations, setDelegations] = useState<DelegationInfo[]>([]);
  const [deputies, setDeputies] = useState<SignerInfo[]>([]);
  const [revoking, setRevoking] = useState<DelegationInfo | null>(null);

  function failed(e: unknown): string {
    if (isTransient(e)) props.onOffline();
    return explain(t, e);
  }

  async function reload() {
    try {
      const [d, s] = await Promise.all([
        admin.listDelegations({ ward }, { timeoutMs: CALL_TIMEOUT_MS }),
        admin.listSigners({ ward }, { timeoutMs: CALL_TIMEOUT_MS }),
      ]);
      setDelegations(d.delegations);
      setDeputies(s.signers.filter((x) => x.role === SignerRole.DEPUTY));
    } catch (e) {
      props.notify({ kind: "error", text: failed(e) });
    }
  }
  useEffect(() => {
    void reload();
  }, [ward]);

  async function created() {
    props.notify({ kind: "ok", text: t.created });
    await reload();
  }

  async function revoke(d: DelegationInfo, reason: string): Promise<string | null> {
    try {
      await admin.revokeDelegation(
        { delegationId: d.delegation?.id ?? "", reason },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
    } catch (e) {
      return failed(e);
    }
    await reload();
    return null;
  }

  const nameOf = (id: string) => deputies.find((d) => d.signerId === id)?.displayName ?? id;
  const now = Date.now();
  return (
    <main class="delegations" data-testid="delegations">
      <section>
        <h2>{t.delegations}</h2>
        {delegations.length === 0 && <p class="muted">{t.noDelegations}</p>}
        <ul class="delegation-list">
          {delegations.map((info) => {
            const d = info.delegation;
            if (!d) return null;
            const status = info.revokedAt ? t.revoked : millis(d.notAfter) < now ? t.expired : t.active;
            return (
              <li
                key={d.id}
                class={`delegation${info.revokedAt ? " revoked" : ""}`}
                data-testid="delegation"
                data-deputy={d.deputyId}
              >
                <div>
                  <strong>{nameOf(d.deputyId)}</strong> <span class="badge">{status}</span>
                  <p>{d.procedureCodes.map((c) => `${c} · ${procedureName(procedures, c)}`).join("; ")}</p>
                  <p class="muted">
                    {date(lang, millis(d.notBefore))} → {date(lang, millis(d.notAfter))} · {t.dailyCap}:{" "}
                    {d.dailyCap || "∞"}
                  </p>
                  {info.revokeReason && <p class="muted">{info.revokeReason}</p>}
                </div>
                {!info.revokedAt && (
                  <button type="button" class="danger" onClick={() => setRevoking(info)}>
                    {t.revoke}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      </section>
      <NewDelegation deputies={deputies} procedures={procedures} failed={failed} onCreated={created} />
      {revoking && (
        <ReasonDialog
          title={`${nameOf(revoking.delegation?.deputyId ?? "")}: ${revoking.delegation?.procedureCodes.join(", ")}`}
          heading={t.revokeTitle}
          submitLabel={t.revoke}
          onCancel={() => setRevoking(null)}
          onSubmit={(reason) => revoke(revoking, reason)}
        />
      )}
    </main>
  );
}
