// A reason, asked for before an action that needs one: returning a record to intake (the
// one-stop desk reads it) or revoking a delegation.

import { useState } from "preact/hooks";
import { useWords } from "../i18n";
import { FormDialog } from "../ui/FormDialog";

/** The longest reason the scheduler accepts. */
const MAX_REASON = 500;

export function ReasonDialog(props: {
  title: string;
  heading?: string;
  submitLabel?: string;
  onCancel: () => void;
  onSubmit: (reason: string) => Promise<string | null>;
}) {
  const { t } = useWords();
  const [reason, setReason] = useState("");
  return (
    <FormDialog
      title={props.heading ?? t.rejectTitle}
      submitLabel={props.submitLabel ?? t.reject}
      testId="reason-dialog"
      destructive
      onCancel={props.onCancel}
      onSubmit={() => {
        const text = reason.trim();
        if (text.length === 0 || text.length > MAX_REASON) return Promise.resolve(t.reasonRequired);
        return props.onSubmit(text);
      }}
    >
      <p>{props.title}</p>
      <label>
        {t.reason}
        <textarea
          name="reason"
          rows={4}
          maxLength={MAX_REASON}
          required
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
        />
      </label>
    </FormDialog>
  );
}
