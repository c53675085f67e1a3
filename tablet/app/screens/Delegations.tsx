// The director's delegations: who may sign which procedures, until when, and how many a day.
// A new delegation is signed by the signer service with the director's key, under their PIN;
// revoking one stops it in the signer service first, so no signature can slip through after.

import { useEffect, useState } from "preact/hooks";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { admin, CALL_TIMEOUT_MS, explain, isTransient } from "../api";
import { procedureName, useProcedures } from "../catalogue";
import { date, millis, wardDate } from "../format";
import type { DelegationInfo, SignerInfo } from "../gen/signq/v1/admin_pb";
import { SignerRole } from "../gen/signq/v1/delegation_pb";
import { useWords } from "../i18n";
import type { SessionInfo } from "../session";
import type { Notice } from "../ui/Toast";
import { PinDialog } from "./PinDialog";
import { RejectDialog } from "./RejectDialog";

const DAY_MS = 86_400_000;

export function Delegations(props: { session: SessionInfo; notify: (n: Notice) => void; onOffline: () => void }) {
  const { t, lang } = useWords();
  const ward = props.session.ward;
  const procedures = useProcedures();
  const [delegations, setDelegations] = useState<DelegationInfo[]>([]);
  const [deputies, setDeputies] = useState<SignerInfo[]>([]);
  const [revoking, setRevoking] = useState<DelegationInfo | null>(null);
  const [creating, setCreating] = useState(false);
  const [form, setForm] = useState(() => ({
    deputyId: "",
    codes: new Set<string>(),
    from: wardDate(Date.now()),
    until: wardDate(Date.now() + 90 * DAY_MS),
    dailyCap: 100,
  }));
  const [formError, setFormError] = useState<string | null>(null);

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

  function startCreate(e: Event) {
    e.preventDefault();
    if (!form.deputyId) return setFormError(t.pickDeputy);
    if (form.codes.size === 0) return setFormError(t.pickProcedures);
    setFormError(null);
    setCreating(true);
  }

  async function create(pin: string): Promise<string | null> {
    // A delegation from today starts now; a later one at the start of its day, ward time.
    const from = form.from === wardDate(Date.now()) ? new Date() : new Date(`${form.from}T00:00:00+07:00`);
    try {
      await admin.createDelegation(
        {
          deputyId: form.deputyId,
          procedureCodes: [...form.codes].sort(),
          notBefore: timestampFromDate(from),
          notAfter: timestampFromDate(new Date(`${form.until}T23:59:59+07:00`)),
          dailyCap: form.dailyCap,
          pin,
        },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
    } catch (e) {
      return failed(e);
    }
    props.notify({ kind: "ok", text: t.created });
    setForm((f) => ({ ...f, codes: new Set() }));
    await reload();
    return null;
  }

  async function revoke(d: DelegationInfo, reason: string): Promise<string | null> {
    try {
      await admin.revokeDelegation({ delegationId: d.delegation?.id ?? "", reason }, { timeoutMs: CALL_TIMEOUT_MS });
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
              <li key={d.id} class={`delegation${info.revokedAt ? " revoked" : ""}`} data-testid="delegation" data-deputy={d.deputyId}>
                <div>
                  <strong>{nameOf(d.deputyId)}</strong> <span class="badge">{status}</span>
                  <p>{d.procedureCodes.map((c) => `${c} · ${procedureName(procedures, c)}`).join("; ")}</p>
                  <p class="muted">
                    {date(lang, millis(d.notBefore))} → {date(lang, millis(d.notAfter))} · {t.dailyCap}: {d.dailyCap || "∞"}
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
      <form class="card new-delegation" onSubmit={startCreate} data-testid="new-delegation">
        <h2>{t.newDelegation}</h2>
        <label>
          {t.deputyLabel}
          <select name="deputy" value={form.deputyId} onChange={(e) => setForm({ ...form, deputyId: e.currentTarget.value })}>
            <option value="">—</option>
            {deputies.map((d) => (
              <option key={d.signerId} value={d.signerId}>
                {d.displayName} ({d.signerId})
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>{t.procedures}</legend>
          <div class="procedure-grid">
            {procedures.map((p) => (
              <label key={p.code} class="check">
                <input
                  type="checkbox"
                  name="procedure"
                  value={p.code}
                  checked={form.codes.has(p.code)}
                  onChange={() => {
                    const codes = new Set(form.codes);
                    if (codes.has(p.code)) codes.delete(p.code);
                    else codes.add(p.code);
                    setForm({ ...form, codes });
                  }}
                />
                <span>
                  {p.code} · {p.name}
                </span>
              </label>
            ))}
          </div>
        </fieldset>
        <div class="row">
          <label>
            {t.validFrom}
            <input type="date" name="from" value={form.from} onInput={(e) => setForm({ ...form, from: e.currentTarget.value })} required />
          </label>
          <label>
            {t.validUntil}
            <input type="date" name="until" value={form.until} onInput={(e) => setForm({ ...form, until: e.currentTarget.value })} required />
          </label>
          <label>
            {t.dailyCap}
            <input
              type="number"
              name="cap"
              min={1}
              max={10000}
              value={form.dailyCap}
              onInput={(e) => setForm({ ...form, dailyCap: Number(e.currentTarget.value) })}
              required
            />
          </label>
        </div>
        {formError && (
          <p class="error" role="alert">
            {formError}
          </p>
        )}
        <button type="submit" class="primary">
          {t.createWithPin}
        </button>
      </form>
      {creating && <PinDialog count={1} title={t.createWithPin} onCancel={() => setCreating(false)} onSubmit={create} />}
      {revoking && (
        <RejectDialog
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
