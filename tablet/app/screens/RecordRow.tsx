// One record in the inbox: a checkbox to select it, the record itself (tap to preview), and the
// time left before its deadline, amber in the last two hours and red once overdue.

import { useWords } from "../i18n";
import { dateTime, millis, span } from "../format";
import { type ProcedureName, procedureName } from "../catalogue";
import { Priority, type Record } from "../gen/signq/v1/record_pb";

/** When the time left turns amber. */
const SOON_MS = 2 * 3600_000;

export function RecordRow(props: {
  record: Record;
  now: number;
  procedures: ProcedureName[];
  selected: boolean;
  current: boolean;
  /** Part of a batch being signed: not selectable meanwhile. */
  pending: boolean;
  onToggle: () => void;
  onOpen: () => void;
}) {
  const { record: r, pending } = props;
  const { t, lang } = useWords();
  const left = millis(r.deadline) - props.now;
  return (
    <li
      class={`record${props.current ? " current" : ""}${pending ? " pending" : ""}`}
      data-testid="record"
      data-record-id={r.id}
    >
      <label class="check" aria-label={r.title}>
        <input type="checkbox" checked={props.selected} disabled={pending} onChange={props.onToggle} />
      </label>
      <button type="button" class="record-body plain" onClick={props.onOpen}>
        <span class="record-title">
          {r.priority === Priority.URGENT && <span class="badge urgent">{t.urgent}</span>}
          {r.priority === Priority.HIGH && <span class="badge high">{t.high}</span>}
          {r.escalated && <span class="badge escalated">{t.escalated}</span>}
          {r.title}
        </span>
        <span class="record-procedure">
          {r.procedureCode} · {procedureName(props.procedures, r.procedureCode)}
        </span>
        <span class="record-times">
          <span>
            {t.submitted}: {dateTime(lang, millis(r.submittedAt))}
          </span>
          <span>
            {t.deadline}: {dateTime(lang, millis(r.deadline))}
          </span>
        </span>
      </button>
      <span
        class={`time-left${left < 0 ? " overdue" : left < SOON_MS ? " soon" : ""}`}
        data-testid="time-left"
      >
        {left < 0 ? t.overdue(span(t, left)) : t.left(span(t, left))}
      </span>
    </li>
  );
}
