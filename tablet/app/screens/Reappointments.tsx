// Requests for a new appointment date waiting for the director: each record with its deadline,
// the new date the one-stop desk asks for and why. Approving signs the apology and new
// appointment (form Mẫu 04) with the director's key, so it takes the PIN; refusing takes a
// reason.

import { useEffect, useState } from "preact/hooks";
import { CALL_TIMEOUT_MS, explain, inbox, isTransient } from "../api";
import { procedureName, useProcedures } from "../catalogue";
import { due, millis } from "../format";
import type { Record } from "../gen/signq/v1/record_pb";
import { useWords } from "../i18n";
import type { Notice } from "../ui/Toast";
import { PinDialog } from "./PinDialog";
import { ReasonDialog } from "./ReasonDialog";

type Dialog = { kind: "approve" | "refuse"; record: Record } | null;

export function Reappointments(props: { notify: (n: Notice) => void; onOffline: () => void }) {
  const { t, lang } = useWords();
  const procedures = useProcedures();
  const [records, setRecords] = useState<Record[]>([]);
  const [dialog, setDialog] = useState<Dialog>(null);

  function failed(e: unknown): string {
    if (isTransient(e)) props.onOffline();
    return explain(t, e);
  }

  async function reload() {
    try {
      const reply = await inbox.listReappointments({}, { timeoutMs: CALL_TIMEOUT_MS });
      setRecords(reply.records);
    } catch (e) {
      props.notify({ kind: "error", text: failed(e) });
    }
  }
  useEffect(() => {
    void reload();
  }, []);

  async function decide(record: Record, approve: boolean, secret: string): Promise<string | null> {
    try {
      await inbox.decideReappointment(
        approve
          ? { recordId: record.id, approve, pin: secret, refusal: "" }
          : { recordId: record.id, approve, pin: "", refusal: secret },
        { timeoutMs: CALL_TIMEOUT_MS },
      );
    } catch (e) {
      return failed(e);
    }
    props.notify({ kind: "ok", text: approve ? t.apologySigned : t.reappointmentRefused });
    await reload();
    return null;
  }

  return (
    <main class="delegations" data-testid="reappointments">
      <section>
        <h2>{t.reappointments}</h2>
        {records.length === 0 && <p class="muted">{t.noReappointments}</p>}
        <ul class="delegation-list">
          {records.map((r) => {
            const asked = r.reappointment;
            if (!asked) return null;
            return (
              <li key={r.id} class="delegation" data-testid="reappointment" data-record-id={r.id}>
                <div>
                  <strong>{r.title}</strong>
                  <p>
                    {r.procedureCode} · {procedureName(procedures, r.procedureCode)}
                  </p>
                  <p>
                    {t.originalDeadline}: {due(lang, millis(asked.originalDeadline))} → {t.newDeadline}:{" "}
                    <strong>{due(lang, millis(asked.newDeadline))}</strong>
                  </p>
                  <p class="muted">
                    {t.requestedBy} ({asked.requestedBy}): {asked.reason}
                  </p>
                </div>
                <div class="actions">
                  <button type="button" onClick={() => setDialog({ kind: "approve", record: r })}>
                    {t.approveApology}
                  </button>
                  <button
                    type="button"
                    class="danger"
                    onClick={() => setDialog({ kind: "refuse", record: r })}
                  >
                    {t.refuseReappointment}
                  </button>
                </div>
              </li>
            );
          })}
        </ul>
      </section>
      {dialog?.kind === "approve" && (
        <PinDialog
          count={1}
          title={t.apologyPin}
          onCancel={() => setDialog(null)}
          onSubmit={(pin) => decide(dialog.record, true, pin)}
        />
      )}
      {dialog?.kind === "refuse" && (
        <ReasonDialog
          title={dialog.record.title}
          heading={t.refuseTitle}
          submitLabel={t.refuseReappointment}
          onCancel={() => setDialog(null)}
          onSubmit={(reason) => decide(dialog.record, false, reason)}
        />
      )}
    </main>
  );
}
