// Who is signed in on this tablet. The session lives in sessionStorage (one browser tab), so a
// reload keeps the person signed in while closing the tab ends it; the PIN is never stored.

import { useSyncExternalStore } from "preact/compat";
import { setSealing } from "./i18n";
import { inbox, setToken, whenSessionEnds, CALL_TIMEOUT_MS } from "./api";
import { SignerRole } from "./gen/signq/v1/delegation_pb";
import type { GetDeviceResponse } from "./gen/signq/v1/inbox_pb";

export type SessionInfo = {
  token: string;
  signerId: string;
  displayName: string;
  ward: string;
  /** The ward's name as people say it ("Phường Cát Lái"); older sessions may lack it. */
  wardName?: string;
  director: boolean;
  /** A clerk (văn thư): the inbox holds records waiting for the ward's seal. */
  clerk: boolean;
};

const KEY = "signq.session";
const listeners = new Set<() => void>();
let current: SessionInfo | null = load();
setToken(current?.token ?? null);
setSealing(current?.clerk ?? false);

function load(): SessionInfo | null {
  try {
    // The server judges expiry (a tablet's clock may be wrong); a refused token signs out.
    return JSON.parse(sessionStorage.getItem(KEY) ?? "null") as SessionInfo | null;
  } catch {
    return null;
  }
}

function set(s: SessionInfo | null): void {
  current = s;
  setToken(s?.token ?? null);
  setSealing(s?.clerk ?? false);
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

/** Whose tablet this is: the signer its device certificate is enrolled for. */
export async function whoseDevice(): Promise<GetDeviceResponse> {
  return inbox.getDevice({}, { timeoutMs: CALL_TIMEOUT_MS });
}

/**
 * Opens a session for this device's signer with their PIN (checked by the signer service);
 * `wardName` is the ward's name as the device answer gave it.
 */
export async function signIn(pin: string, wardName: string): Promise<void> {
  const reply = await inbox.openSession({ signerId: "", pin }, { timeoutMs: CALL_TIMEOUT_MS });
  const s = reply.session;
  if (!s) throw new Error("OpenSession answered without a session");
  set({
    token: s.token,
    signerId: s.signerId,
    displayName: s.displayName,
    ward: s.ward,
    wardName: wardName || undefined,
    director: s.role === SignerRole.DIRECTOR,
    clerk: s.role === SignerRole.CLERK,
  });
}

/** Ends the session on the server (best effort) and on this tablet. */
export async function signOut(): Promise<void> {
  try {
    await inbox.closeSession({}, { timeoutMs: 5_000 });
  } catch {
    // Offline or already ended: the server ends it at its expiry either way.
  }
  set(null);
}

/** Forgets the session after the server refused it (expired, or the scheduler restarted). */
export function sessionEnded(): void {
  set(null);
}
whenSessionEnds(sessionEnded);

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The page's title: the product, and the ward once known. */
export function pageTitle(wardName: string | undefined): string {
  return wardName ? `signq · ${wardName}` : "signq";
}

/** The current session, re-rendering the caller when it changes. */
export function useSession(): SessionInfo | null {
  return useSyncExternalStore(subscribe, () => current);
}
