// The signer's inbox: leased records in deadline order with the time left (red once overdue), a
// preview of the document, several selected and signed with one PIN, one returned with a reason.
// With a remote signing key the PIN hands the batch to the person's signing app: the inbox then
// shows the waiting panel and the records as waiting, until they are signed or go back.

import { useEffect, useState } from "preact/hooks";
import { approve, forgetPending, useApproval } from "../approval";
import { CALL_TIMEOUT_MS, explain, inbox, isTransient } from "../api";
import { type ConfirmationWatch, useUnconfirmed, waitingBatches, waitingCode } from "../confirmations";
import { useProcedures } from "../catalogue";
import { useNow } from "../format";
import type { Record } from "../gen/signq/v1/record_pb";
import { useWords } from "../i18n";
import { isSigned, type InboxState, type LiveInbox } from "../live";
import type { Progress } from "../progress";
import { newlySigned } from "../signed";
import type { Notice } from "../ui/Toast";
import { PinDialog } from "./PinDialog";
import { Preview } from "./Preview";
import { RecordRow } from "./RecordRow";
import { useWorkingTime } from "../workingTime";
import { ReasonDialog } from "./ReasonDialog";
import { ConfirmationPanel } from "./Confirmation";

type Dialog = { kind: "pin"; ids: string[] } | { kind: "reject"; record: Record } | null;

export function Inbox(props: {
  live: LiveInbox;
  state: InboxState;
  progress: Progress;
  confirmations: ConfirmationWatch;
  notify: (n: Notice) => void;
}) {
  const { live, state, progress, confirmations, notify } = props;
  const { t } = useWords();
  const now = useNow();
  const procedures = useProcedures();
  const working = useWorkingTime();
  const approval = useApproval();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [previewId, setPreviewId] = useState<string | null>(null);
  const [dialog, setDialog] = useState<Dialog>(null);
  const unconfirmed = useUnconfirmed(confirmations);
  const batches = waitingBatches(state.records);

  // Records that left the inbox (signed, expired, reassigned) leave the selection and the preview;
  // records waiting for a confirmation leave the selection.
  const ids = state.records.map((r) => `${r.id}${r.confirmation ? "*" : ""}`).join(",");
  useEffect(() => {
    const present = new Set(state.records.map((r) => r.id));
    const open = new Set(state.records.filter((r) => !r.confirmation).map((r) => r.id));
    setSelected((s) => new Set([...s].filter((id) => open.has(id))));
    setPreviewId((p) => (p && present.has(p) ? p : null));
  }, [ids]);

  const previewed = state.records.find((r) => r.id === previewId) ?? null;
  const pendingIds = new Set(approval.pending?.recordIds ?? []);
  const selectable = state.records.filter((r) => !pendingIds.has(r.id) && !r.confirmation);
  const allSelected = selectable.length > 0 && selectable.every((r) => selected.has(r.id));
  const someSelected = !allSelected && selectable.some((r) => selected.has(r.id));

  function toggle(id: string) {
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  }

  function signBatch(recordIds: string[], pin: string): Promise<string | null> {
    // Resolves with an error for the dialog to show, or null once the batch is handed over:
    // signed, or waiting for the network with the banner up. A refusal that comes after the
    // hand-over (the records went elsewhere while offline) is shown as a message instead.
    return new Promise((resolveDialog) => {
      let handedOver = false;
      const handOver = () => {
        if (!handedOver) resolveDialog(null);
        handedOver = true;
      };
      approve(recordIds, pin, () => {
        live.markOffline();
        handOver();
      }).then(
        (answer) => {
          handOver();
          // Signed (or signed by this person and now waiting for the ward's seal): announced once,
          // however often the same batch was answered.
          const fresh = newlySigned(answer.records.filter(isSigned).map((r) => r.id));
          // Signed records leave the inbox now; a remote key's records wait for the person's
          // confirmation in the signing app (the waiting panel), and nothing is signed yet.
          live.merge(answer.records);
          // A later part refused: what was signed, then why the rest was not.
          if (answer.refused !== undefined)
            notify({ kind: "error", text: `${t.signedN(fresh.length)} ${explain(t, answer.refused)}` });
          else if (fresh.length > 0) notify({ kind: "ok", text: t.signedN(fresh.length) });
          setSelected((s) => new Set([...s].filter((id) => !recordIds.includes(id))));
        },
        (e: unknown) => {
          // Sent again after the answer was lost (a reload, the network): the first attempt got
          // through, and the batch already waits for its confirmation, which the panel shows.
          if (allWaiting(recordIds)) handOver();
          else if (handedOver) notify({ kind: "error", text: explain(t, e) });
          else resolveDialog(explain(t, e));
        },
      );
    });
  }

  /** Whether every record of `recordIds` is in the inbox waiting for a confirmation. */
  function allWaiting(recordIds: string[]): boolean {
    const waiting = new Set(live.snapshot.records.filter((r) => r.confirmation).map((r) => r.id));
    return recordIds.length > 0 && recordIds.every((id) => waiting.has(id));
  }

  async function reject(record: Record, reason: string): Promise<string | null> {
    try {
      await inbox.reject({ recordId: record.id, reason }, { timeoutMs: CALL_TIMEOUT_MS });
      notify({ kind: "ok", text: t.rejected });
      return null;
    } catch (e) {
      if (isTransient(e)) live.markOffline();
      return explain(t, e);
    }
  }

  async function pullMore() {
    let got;
    try {
      got = (await inbox.pullNext({ max: 0 }, { timeoutMs: CALL_TIMEOUT_MS })).records.length;
    } catch (e) {
      if (isTransient(e)) live.markOffline();
      else notify({ kind: "error", text: explain(t, e) });
      return;
    }
    // Say what "get more" did: how many came, or why none did.
    const now = await progress.refresh();
    if (got > 0 || now === null) notify({ kind: "ok", text: t.pulled(got) });
    else if (now.waiting === 0) notify({ kind: "ok", text: t.pulledNone });
    else if (live.snapshot.records.length >= now.leaseSize)
      notify({ kind: "ok", text: t.pulledFull(now.leaseSize) });
    else notify({ kind: "ok", text: t.pulledSoon(now.waiting) });
  }

  const interrupted = approval.pending && !approval.running ? approval.pending : null;
  // An interrupted batch that the inbox shows waiting for its confirmation got through: there is
  // nothing to finish with the PIN, only to confirm in the signing app.
  const interruptedWaiting = interrupted !== null && allWaiting(interrupted.recordIds);
  useEffect(() => {
    if (interruptedWaiting) forgetPending();
  }, [interruptedWaiting]);

  return (
    <main class={`inbox${previewed ? " with-preview" : ""}`}>
      <section class="inbox-list" aria-label={t.tabInbox}>
        {state.away && <p class="banner away">{t.youAreAway}</p>}
        {interrupted && !interruptedWaiting && (
          <div class="banner warn" role="alert" data-testid="interrupted">
            <span>{t.interruptedApproval(interrupted.recordIds.length)}</span>
            <button
              type="button"
              class="primary"
              onClick={() => setDialog({ kind: "pin", ids: interrupted.recordIds })}
            >
              {t.finish}
            </button>
          </div>
        )}
        <ConfirmationPanel
          batches={batches}
          unconfirmed={unconfirmed}
          onDismiss={(id) => confirmations.dismiss(id)}
        />
        <div class="toolbar">
          <label class="check">
            <input
              type="checkbox"
              checked={allSelected}
              indeterminate={someSelected}
              aria-checked={someSelected ? "mixed" : allSelected}
              disabled={selectable.length === 0}
              data-testid="select-all"
              onChange={() => setSelected(allSelected ? new Set() : new Set(selectable.map((r) => r.id)))}
            />
            <span>{t.selectAll}</span>
          </label>
          <span class="muted" data-testid="selected-count">
            {t.selected(selected.size)}
          </span>
          <span class="spacer" />
          <button type="button" onClick={pullMore} disabled={state.away}>
            {t.pullMore}
          </button>
          <button
            type="button"
            class="primary"
            data-testid="approve-selected"
            disabled={selected.size === 0 || approval.running}
            onClick={() => setDialog({ kind: "pin", ids: [...selected] })}
          >
            {t.approveSelected(selected.size)}
          </button>
        </div>
        {progress.progress && !state.away && (
          <p class="waiting-more" data-testid="waiting-more" data-waiting={progress.progress.waiting}>
            {t.waitingMore(progress.progress.waiting, state.records.length, progress.progress.leaseSize)}
          </p>
        )}
        {state.records.length === 0 ? (
          <p class="empty" data-testid="inbox-empty">
            {t.empty}
          </p>
        ) : (
          <ul class="records" data-testid="records">
            {state.records.map((r) => (
              <RecordRow
                key={r.id}
                record={r}
                now={now}
                working={working}
                procedures={procedures}
                selected={selected.has(r.id)}
                current={r.id === previewId}
                pending={pendingIds.has(r.id)}
                waiting={waitingCode(r)}
                onToggle={() => toggle(r.id)}
                onOpen={() => setPreviewId(r.id)}
              />
            ))}
          </ul>
        )}
      </section>
      {previewed && (
        <Preview
          record={previewed}
          title={previewed.title}
          waiting={waitingCode(previewed)}
          onClose={() => setPreviewId(null)}
          onApprove={() => setDialog({ kind: "pin", ids: [previewed.id] })}
          onReject={() => setDialog({ kind: "reject", record: previewed })}
        />
      )}
      {dialog?.kind === "pin" && (
        <PinDialog
          count={dialog.ids.length}
          onCancel={() => setDialog(null)}
          onSubmit={(pin) => signBatch(dialog.ids, pin)}
        />
      )}
      {dialog?.kind === "reject" && (
        <ReasonDialog
          title={dialog.record.title}
          onCancel={() => setDialog(null)}
          onSubmit={(reason) => reject(dialog.record, reason)}
        />
      )}
    </main>
  );
}
