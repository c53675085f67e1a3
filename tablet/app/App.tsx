// The app's frame: sign in, then the header (who, away/back, language, sign out), the offline
// banner, and the screens: the inbox for everyone, the ward, delegations and requests for a new
// appointment date for the director. Batches waiting in a remote signing app are followed here,
// whichever screen is open, so that "signed" is said once when they are.

import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { forgetPending } from "./approval";
import { CALL_TIMEOUT_MS, explain, inbox, isTransient } from "./api";
import { ConfirmationWatch } from "./confirmations";
import { useWords } from "./i18n";
import { forgetInboxes, LiveInbox, useInbox } from "./live";
import { useProgress } from "./progress";
import { forgetSigned, newlySigned } from "./signed";
import { Delegations } from "./screens/Delegations";
import { Inbox } from "./screens/Inbox";
import { Reappointments } from "./screens/Reappointments";
import { SignedToday } from "./screens/SignedToday";
import { SignIn } from "./screens/SignIn";
import { Ward } from "./screens/Ward";
import { pageTitle, sessionEnded, signOut, useSession, type SessionInfo } from "./session";
import { OfflineBanner } from "./ui/Banner";
import { LanguageSwitch } from "./ui/LanguageSwitch";
import { Toast, type Notice } from "./ui/Toast";

type Tab = "inbox" | "signed" | "ward" | "delegations" | "reappointments";

export function App() {
  const session = useSession();
  return session ? <Shell key={session.token} session={session} /> : <SignIn />;
}

function Shell(props: { session: SessionInfo }) {
  const { session } = props;
  const { t } = useWords();
  const [notice, setNotice] = useState<Notice>(null);
  const live = useMemo(() => new LiveInbox(session.signerId, sessionEnded), [session.token]);
  useEffect(() => () => live.stop(), [live]);
  const state = useInbox(live);
  const progress = useProgress(state.records.map((r) => r.id).join(","));
  // The words when a batch is signed, in the language chosen by then.
  const words = useRef(t);
  words.current = t;
  const confirmations = useMemo(
    () =>
      new ConfirmationWatch(live, (ids) => {
        const fresh = newlySigned(ids);
        if (fresh.length > 0) setNotice({ kind: "ok", text: words.current.signedN(fresh.length) });
      }),
    [live],
  );
  useEffect(() => () => confirmations.stop(), [confirmations]);
  useEffect(() => {
    document.title = pageTitle(session.wardName);
  }, [session.wardName]);
  const header = useTopHeight();
  const [tab, setTab] = useState<Tab>(() => tabFromHash(session.director));
  useEffect(() => {
    history.replaceState(null, "", `#${tab}`);
  }, [tab]);
  const clearNotice = useCallback(() => setNotice(null), []);
  const offline = useCallback(() => live.markOffline(), [live]);

  async function toggleAway() {
    try {
      const r = await inbox.setAway({ away: !state.away }, { timeoutMs: CALL_TIMEOUT_MS });
      live.setAway(r.away);
    } catch (e) {
      if (isTransient(e)) live.markOffline();
      else setNotice({ kind: "error", text: explain(t, e) });
    }
  }

  const tabs: [Tab, string][] = session.director
    ? [
        ["inbox", t.tabInbox],
        ["signed", t.tabSigned],
        ["ward", t.tabWard],
        ["delegations", t.tabDelegations],
        ["reappointments", t.tabReappointments],
      ]
    : [
        ["inbox", t.tabInbox],
        ["signed", t.tabSigned],
      ];

  return (
    <div class="shell">
      <header class="top" ref={header}>
        {/* The page's title for screen readers; the header shows whose tablet it is instead. */}
        <h1 class="visually-hidden">{t.appName}</h1>
        <div class="who" data-testid="who">
          <strong>{session.displayName}</strong>
          <span class="muted">
            {session.director ? t.director : session.clerk ? t.clerk : t.deputy} ·{" "}
            <span data-testid="ward-name">{session.wardName ?? session.ward}</span>
          </span>
        </div>
        <nav class="tabs" aria-label={t.appName}>
          {tabs.map(([id, label]) => (
            <button
              key={id}
              type="button"
              aria-current={tab === id ? "page" : undefined}
              data-testid={`tab-${id}`}
              onClick={() => setTab(id)}
            >
              {label}
              {id === "inbox" && <span class="count">{state.records.length}</span>}
              {id === "signed" && progress.progress && (
                <span class="count">{progress.progress.signedToday.length}</span>
              )}
            </button>
          ))}
        </nav>
        <div class="actions">
          <button type="button" aria-pressed={state.away} data-testid="away" onClick={toggleAway}>
            {state.away ? t.back : t.away}
          </button>
          <LanguageSwitch />
          <button
            type="button"
            data-testid="sign-out"
            onClick={() => {
              forgetPending();
              forgetInboxes();
              forgetSigned();
              void signOut();
            }}
          >
            {t.signOut}
          </button>
        </div>
      </header>
      <OfflineBanner connection={state.connection} onRetry={live.reconnectNow} />
      {tab === "inbox" && (
        <Inbox
          live={live}
          state={state}
          progress={progress}
          confirmations={confirmations}
          notify={setNotice}
        />
      )}
      {tab === "signed" && <SignedToday records={progress.progress?.signedToday ?? []} onOffline={offline} />}
      {tab === "ward" && session.director && <Ward session={session} onOffline={offline} />}
      {tab === "delegations" && session.director && (
        <Delegations session={session} notify={setNotice} onOffline={offline} />
      )}
      {tab === "reappointments" && session.director && (
        <Reappointments notify={setNotice} onOffline={offline} />
      )}
      <Toast notice={notice} onDone={clearNotice} />
    </div>
  );
}

function tabFromHash(director: boolean): Tab {
  const h = location.hash.slice(1);
  if (h === "signed") return h;
  return director && (h === "ward" || h === "delegations" || h === "reappointments") ? h : "inbox";
}

/**
 * Keeps the CSS variable `--top-height` at the header's real height, which the sticky toolbar and
 * the preview beside the list are laid out from: the header wraps to a second row when the
 * buttons of a director's tablet do not fit in one.
 */
function useTopHeight() {
  const header = useRef<HTMLElement>(null);
  useEffect(() => {
    const el = header.current;
    if (!el) return;
    const root = document.documentElement.style;
    const observer = new ResizeObserver(() => root.setProperty("--top-height", `${el.offsetHeight}px`));
    observer.observe(el);
    return () => {
      observer.disconnect();
      root.removeProperty("--top-height");
    };
  }, []);
  return header;
}
