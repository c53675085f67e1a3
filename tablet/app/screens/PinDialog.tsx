// One PIN entry for a whole batch of records.

import { useState } from "preact/hooks";
import { useWords } from "../i18n";
import { FormDialog } from "../ui/FormDialog";
import { PinField } from "../ui/PinField";

export function PinDialog(props: {
  count: number;
  title?: string;
  submitLabel?: string;
  onCancel: () => void;
  onSubmit: (pin: string) => Promise<string | null>;
}) {
  const { t } = useWords();
  const [pin, setPin] = useState("");
  return (
    <FormDialog
      title={props.title ?? t.pinTitle(props.count)}
      submitLabel={props.submitLabel ?? t.confirm}
      busyLabel={t.signing}
      testId="pin-dialog"
      onCancel={props.onCancel}
      onSubmit={async () => {
        const problem = await props.onSubmit(pin);
        setPin("");
        return problem;
      }}
    >
      {props.count > 1 && <p class="muted">{t.pinHint}</p>}
      <PinField value={pin} onInput={setPin} />
    </FormDialog>
  );
}
