// A dialog holding a small form (a PIN, a reason): it stays open showing the server's refusal in
// its own words, and closes once the action is done or handed over.

import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useWords } from "../i18n";
import { Dialog } from "./Dialog";

export function FormDialog(props: {
  title: string;
  submitLabel: string;
  busyLabel?: string;
  testId?: string;
  /** The action cannot be undone (returning a record, revoking): its button says so. */
  destructive?: boolean;
  children: ComponentChildren;
  onCancel: () => void;
  /** Resolves with an error to show, or null when done (the dialog then closes). */
  onSubmit: () => Promise<string | null>;
}) {
  const { t } = useWords();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const problem = await props.onSubmit();
    setBusy(false);
    if (problem === null) props.onCancel();
    else setError(problem);
  }

  return (
    <Dialog title={props.title} onCancel={props.onCancel} testId={props.testId}>
      {/* A refusal is about what was entered: typing again clears it. */}
      <form onSubmit={submit} onInput={() => setError(null)}>
        {props.children}
        {error && (
          <p class="error" role="alert" data-testid="dialog-error">
            {error}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" onClick={props.onCancel}>
            {t.cancel}
          </button>
          <button type="submit" class={props.destructive ? "danger" : "primary"} disabled={busy}>
            {busy ? (props.busyLabel ?? props.submitLabel) : props.submitLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
