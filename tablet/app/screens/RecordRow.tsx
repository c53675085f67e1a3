// One record in the inbox: a checkbox to select it, the record itself (tap to preview), and the
// time left before its deadline in working time (as the deadline itself is counted; clock time
// until the scheduler has said its working hours), amber in the last two hours and red once
// overdue. The deadline is shown as a date with its weekday. A record waiting for its person to
// confirm it in their signing app (a remote key) says so with the code, and cannot be selected.

import { useWords } from "../i18n";
import { dateTime, due, millis, span, workingSpan } from "../format";
import { type ProcedureName, procedureName } from "../catalogue";
import { Priority, type Record } from "../gen/signq/v1/record_pb";
import type { WorkingTime } from "../workingTime";

/** When the time left (working time once known) turns amber. */
const SOON_MS = 2 * 3600_000;

export function RecordRow(props: {
  record: Record;
  now: number;
  working: WorkingTime | null;
  procedures: ProcedureName[];
  selected: boolean;
  current: boolean;
  /** Part of a batch being signed: not selectable meanwhile. */
  pending: boolean;
  /** The code of the confirmation it waits for in the signing app, if it waits: not selectable. */
  waiting: string | null;
  onToggle: () => void;
  onOpen: () => void;
}) {
  const { record: r, pending, waiting } = props;
  const { t, lang } = useWords();
  const deadline = millis(r.deadline);
  const working = props.working?.covers(props.now, deadline) ? props.working : null;
  const left = working ? working.between(props.now, deadline) : deadline - props.now;
  const overdue = deadline < props.now;
  const shown = working ? workingSpan(t, left, working.dayMs()) : span(t, left);
  const words = working
    ? overdue
      ? t.workingOverdue(shown)
      : t.workingLeft(shown)
    : overdue
      ? t.overdue(shown)
      : t.left(shown);
  return (
    <li
      class={`record${props.current ? " current" : ""}${pending ? " pending" : ""}${waiting ? " waiting" : ""}`}
      data-testid="record"
      data-record-id={r.id}
      data-waiting={waiting ?? undefined}
    >
      <label class="check" aria-label={r.title}>
        <input
          type="checkbox"
          checked={props.selected && !waiting}
          disabled={pending || waiting !== null}
          onChange={props.onToggle}
        />
      </label>
      <button type="button" class="record-body plain" onClick={props.onOpen}>
        {waiting && (
          <span class="badge waiting" data-testid="waiting-badge">
            {t.waitingBadge(waiting)}
          </span>
        )}
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
            {t.deadline}: {due(lang, deadline)}
          </span>
        </span>
      </button>
      <span
        class={`time-left${overdue ? " overdue" : left < SOON_MS ? " soon" : ""}`}
        data-testid="time-left"
        data-working={working ? "true" : "false"}
      >
        {words}
      </span>
    </li>
  );
}
