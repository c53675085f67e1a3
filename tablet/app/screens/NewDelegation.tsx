// A new delegation: the deputy, the procedures it covers, its validity (ward dates) and daily
// cap. The director's PIN signs it in the signer service (Admin.CreateDelegation).

import { useState } from "preact/hooks";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { admin, CALL_TIMEOUT_MS } from "../api";
import type { ProcedureName } from "../catalogue";
import { wardDate, wardDayEnd, wardDayStart } from "../format";
import type { SignerInfo } from "../gen/signq/v1/admin_pb";
import { useWords } from "../i18n";
import { PinDialog } from "./PinDialog";

const DAY_MS = 86_400_000;
/** How long a new delegation runs unless the director changes it. */
const DEFAULT_DAYS = 90;

export function NewDelegation(props: {
  deputies: SignerInfo[];
  procedures: ProcedureName[];
  /** Turns a refusal into words (and notes a lost network). */
  failed: (e: unknown) => string;
  onCreated: () => Promise<void>;
}) {
  const { t } = useWords();
  const { deputies, procedures } = props;
  const [creating, setCreating] = useState(false);
  const [form, setForm] = useState(() => ({
    deputyId: "",
    codes: new Set<string>(),
    from: wardDate(Date.now()),
    until: wardDate(Date.now() + DEFAULT_DAYS * DAY_MS),
    dailyCap: 100,
  }));
  const [formError, setFormError] = useState<string | null>(null);

  function startCreate(e: Event) {
    e.preventDefault();
    if (!form.deputyId) return setFormError(t.pickDeputy);
    if (form.codes.size === 0) return setFormError(t.pickProcedures);
    setFormError(null);
    setCreating(true);
  }

  async function create(pin: string): Promise<string | null> {
    // A delegation from today starts now; a later one at the start of its day, ward time.
    const from = form.from === wardDate(Date.now()) ? new Date() : wardDayStart(form.from);
    try {
      await admin.createDelegation(
        {
          deputyId: form.deputyId,
          procedureCodes: [...form.codes].sort(),
          notBefore: timestampFromDate(from),
          notAfter: timestampFromDate(wardDayEnd(form.until)),
          dailyCap: form.dailyCap,
          pin,
        },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
    } catch (e) {
      return props.failed(e);
    }
    setForm((f) => ({ ...f, codes: new Set() }));
    await props.onCreated();
    return null;
  }

  return (
    <>
      <form class="card new-delegation" onSubmit={startCreate} data-testid="new-delegation">
        <h2>{t.newDelegation}</h2>
        <label>
          {t.deputyLabel}
          <select
            name="deputy"
            value={form.deputyId}
            onChange={(e) => setForm({ ...form, deputyId: e.currentTarget.value })}
          >
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
            <input
              type="date"
              name="from"
              value={form.from}
              onInput={(e) => setForm({ ...form, from: e.currentTarget.value })}
              required
            />
          </label>
          <label>
            {t.validUntil}
            <input
              type="date"
              name="until"
              value={form.until}
              onInput={(e) => setForm({ ...form, until: e.currentTarget.value })}
              required
            />
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
      {creating && (
        <PinDialog count={1} title={t.createWithPin} onCancel={() => setCreating(false)} onSubmit={create} />
      )}
    </>
  );
}
