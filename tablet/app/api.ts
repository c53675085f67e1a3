// The scheduler's Inbox and Admin services over gRPC-web, with clients generated from proto/
// (buf + protoc-gen-es). The session token rides on every call. Errors are sorted here, in one
// place: "the network failed, try again", "the session ended", "the PIN was wrong", and the
// server's other refusals, which the app shows in the person's language where it knows the case.

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Admin } from "./gen/signq/v1/admin_pb";
import type { Words } from "./i18n";
import { Inbox } from "./gen/signq/v1/inbox_pb";

let token: string | null = null;
let onSessionEnded: () => void = () => undefined;

const tokenListeners = new Set<() => void>();

/** Sets (or clears) the bearer token sent with every call. */
export function setToken(value: string | null): void {
  token = value;
  tokenListeners.forEach((l) => l());
}

/** The bearer token now (null when signed out). */
export function currentToken(): string | null {
  return token;
}

/** Calls `listener` whenever the session changes (sign in, sign out, session ended). */
export function onTokenChange(listener: () => void): void {
  tokenListeners.add(listener);
}

/** What to do when the server no longer knows the session (expired, or the scheduler restarted). */
export function whenSessionEnds(handler: () => void): void {
  onSessionEnded = handler;
}

const bearer: Interceptor = (next) => async (req) => {
  if (token) req.header.set("authorization", `Bearer ${token}`);
  try {
    return await next(req);
  } catch (e) {
    if (token && isSessionEnded(e)) onSessionEnded();
    throw e;
  }
};

// The app is served by the scheduler itself, so the API is on the page's own origin.
const transport = createGrpcWebTransport({
  baseUrl: location.origin,
  useBinaryFormat: true,
  interceptors: [bearer],
});

export const inbox = createClient(Inbox, transport);
export const admin = createClient(Admin, transport);

/** How long a unary call may take before the app treats the network as gone. */
export const CALL_TIMEOUT_MS = 20_000;

/** Whether an error means "the request may not have arrived, or its answer was lost". */
export function isTransient(e: unknown): boolean {
  const err = ConnectError.from(e);
  switch (err.code) {
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.Unknown: // fetch itself failed: no HTTP answer at all
    case Code.Aborted: // the same records are being approved by a request still in flight
    case Code.Canceled:
      return true;
    default:
      return false;
  }
}

/** Whether the PIN was wrong (the signer service names the `pin` field). */
export function isWrongPin(e: unknown): boolean {
  const err = ConnectError.from(e);
  return err.code === Code.Unauthenticated && err.rawMessage.includes("pin: ");
}

/** Whether the session is no longer valid, so the person has to sign in again. */
export function isSessionEnded(e: unknown): boolean {
  return ConnectError.from(e).code === Code.Unauthenticated && !isWrongPin(e);
}

/** A refusal in the person's language where the app knows the case, else the server's words. */
export function explain(t: Words, e: unknown): string {
  const err = ConnectError.from(e);
  if (isTransient(err)) return t.offline;
  if (isWrongPin(err)) {
    const left = /(\d+) attempt/.exec(err.rawMessage)?.[1];
    return left === undefined ? t.wrongPin : t.wrongPinLeft(Number(left));
  }
  if (isSessionEnded(err)) return t.sessionEnded;
  if (err.code === Code.PermissionDenied && err.rawMessage.includes("is locked until")) return t.keyLocked;
  if (err.code === Code.ResourceExhausted) return t.tooMany;
  return err.rawMessage;
}

export { Code, ConnectError };
