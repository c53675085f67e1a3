// The document of one leased record, drawn inline with pdf.js (tablet browsers do not all show
// PDFs inside a page). pdf.js is loaded only when a preview is first opened, so signing in and the
// inbox stay light on a slow connection. While the record waits for its person's confirmation in
// the signing app it can be read but neither signed again nor returned.

import { useEffect, useRef, useState } from "preact/hooks";
import workerUrl from "pdfjs-dist/build/pdf.worker.min.mjs?url";
import { CALL_TIMEOUT_MS, explain, inbox } from "../api";
import type { Record } from "../gen/signq/v1/record_pb";
import { useWords } from "../i18n";

/** Pages drawn at most, so a huge scan cannot exhaust a tablet's memory. */
const MAX_PAGES = 30;

type Status = { kind: "loading" } | { kind: "pages"; count: number } | { kind: "error"; text: string };

export function Preview(props: {
  record: Record;
  title: string;
  /** The code of the confirmation the record waits for, if it waits. */
  waiting: string | null;
  onClose: () => void;
  onApprove: () => void;
  onReject: () => void;
}) {
  const { t } = useWords();
  const pages = useRef<HTMLDivElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const close = useRef(props.onClose);
  close.current = props.onClose;
  const [status, setStatus] = useState<Status>({ kind: "loading" });
  const id = props.record.id;

  // Focus moves into the preview as it opens (a screen reader reads its title next), and Escape
  // closes it unless a dialog above it takes the Escape.
  useEffect(() => heading.current?.focus(), [id]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !document.querySelector("dialog[open]")) close.current();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    let cancelled = false;
    const container = pages.current;
    setStatus({ kind: "loading" });
    (async () => {
      const reply = await inbox.getDocument({ recordId: id }, { timeoutMs: CALL_TIMEOUT_MS });
      // For the seal, the PDF as its director or deputy signed it.
      const signed = reply.record?.signedDocument;
      const bytes = signed?.length ? signed : (reply.record?.document ?? new Uint8Array());
      if (!isPdf(bytes)) {
        if (!cancelled) setStatus({ kind: "error", text: t.notPdf });
        return;
      }
      const pdfjs = await import("pdfjs-dist");
      pdfjs.GlobalWorkerOptions.workerSrc = workerUrl;
      // pdf.js takes ownership of the buffer it is given.
      const doc = await pdfjs.getDocument({ data: bytes.slice(), isEvalSupported: false }).promise;
      const count = Math.min(doc.numPages, MAX_PAGES);
      if (cancelled || !container) return;
      container.replaceChildren();
      const width = container.clientWidth || 600;
      for (let n = 1; n <= count && !cancelled; n++) {
        const page = await doc.getPage(n);
        const base = page.getViewport({ scale: 1 });
        const viewport = page.getViewport({ scale: (width / base.width) * devicePixelRatio });
        const canvas = document.createElement("canvas");
        canvas.width = Math.floor(viewport.width);
        canvas.height = Math.floor(viewport.height);
        canvas.style.width = "100%";
        canvas.setAttribute("aria-label", t.page(n, count));
        container.append(canvas);
        await page.render({ canvas, viewport }).promise;
      }
      await doc.destroy();
      if (!cancelled) setStatus({ kind: "pages", count });
    })().catch((e: unknown) => {
      if (!cancelled) setStatus({ kind: "error", text: explain(t, e) });
    });
    return () => {
      cancelled = true;
    };
    // Redraw only for another record; the words are read when drawing.
  }, [id]);

  return (
    <section class="preview" aria-label={t.preview} data-testid="preview">
      <header class="preview-head">
        <h2 ref={heading} tabIndex={-1} data-testid="preview-title">
          {props.title}
        </h2>
        <button type="button" onClick={props.onClose}>
          {t.closePreview}
        </button>
      </header>
      {status.kind === "loading" && <p class="muted">{t.loadingDocument}</p>}
      {status.kind === "error" && (
        <p class="error" role="alert">
          {status.text}
        </p>
      )}
      {/* Scrolled by keyboard too: it takes the focus (after the title) like any scrolling region. */}
      <div
        class="pages"
        ref={pages}
        role="region"
        aria-label={t.documentPages}
        tabIndex={0}
        data-testid="preview-pages"
        data-pages={status.kind === "pages" ? status.count : 0}
      />
      <footer class="preview-actions">
        {props.waiting ? (
          <p class="preview-waiting" data-testid="preview-waiting">
            {t.waitingInApp(props.waiting)}
          </p>
        ) : (
          <>
            <button type="button" class="danger" onClick={props.onReject}>
              {t.reject}
            </button>
            <button type="button" class="primary" onClick={props.onApprove}>
              {t.approveOne}
            </button>
          </>
        )}
      </footer>
    </section>
  );
}

function isPdf(bytes: Uint8Array): boolean {
  return bytes.length > 4 && String.fromCharCode(...bytes.subarray(0, 5)) === "%PDF-";
}
