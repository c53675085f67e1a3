// The scheduler's Inbox and Admin services over gRPC-web, with clients generated from proto/
// (buf + protoc-gen-es). The session token rides on every call. Errors are sorted here, in one
// place: "the network failed, try again", "the session ended", "the PIN was wrong", and the
// server's other refusals, each shown in the person's language from the reason code of its
// ErrorInfo detail (with the facts beside it: attempts left, locked until when), never as the
// server's English message.

import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
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

/** Why the server refused, as its ErrorInfo detail says: a stable reason code and its facts. */
export type Refusal = { reason: string; metadata: Map<string, string> };

/** The ErrorInfo (google.rpc.ErrorInfo: reason = 1, domain = 2, metadata = 3) of a refusal. */
export function refusalOf(e: unknown): Refusal | null {
  for (const detail of ConnectError.from(e).details) {
    if ("desc" in detail || detail.type !== "google.rpc.ErrorInfo") continue;
    try {
      return decodeErrorInfo(detail.value);
    } catch {
      return null;
    }
  }
  return null;
}

function decodeErrorInfo(bytes: Uint8Array): Refusal {
  const refusal: Refusal = { reason: "", metadata: new Map() };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === WireType.LengthDelimited) refusal.reason = reader.string();
    else if (field === 3 && wire === WireType.LengthDelimited) {
      // A map entry: key = 1, value = 2.
      const entry = new BinaryReader(reader.bytes());
      let [key, value] = ["", ""];
      while (entry.pos < entry.len) {
        const [f, w] = entry.tag();
        if (f === 1 && w === WireType.LengthDelimited) key = entry.string();
        else if (f === 2 && w === WireType.LengthDelimited) value = entry.string();
        else entry.skip(w);
      }
      refusal.metadata.set(key, value);
    } else reader.skip(wire);
  }
  return refusal;
}

/** Whether the PIN was wrong. */
export function isWrongPin(e: unknown): boolean {
  return refusalOf(e)?.reason === "WRONG_PIN";
}

/** Whether the session is no longer valid, so the person has to sign in again. */
export function isSessionEnded(e: unknown): boolean {
  return ConnectError.from(e).code === Code.Unauthenticated && !isWrongPin(e);
}

/**
 * A refusal in the person's language: what happened and what to do, chosen by the reason code
 * the server gave (never its English message, which is for operators' logs).
 */
export function explain(t: Words, e: unknown): string {
  const err = ConnectError.from(e);
  const refusal = refusalOf(err);
  const reason = refusal?.reason ?? "";
  switch (reason) {
    case "WRONG_PIN": {
      const left = refusal?.metadata.get("attempts_left");
      return left === undefined ? t.wrongPin : t.wrongPinLeft(Number(left));
    }
    case "LOCKED": {
      const until = Date.parse(refusal?.metadata.get("until") ?? "");
      return Number.isNaN(until) ? t.keyLocked : t.keyLockedUntil(lockedUntil(until));
    }
    case "TOKEN_LOCKED":
      return t.tokenLocked;
    case "KEY_UNAVAILABLE":
      return t.keyUnavailable;
    case "CERTIFICATE_UNUSABLE":
      return t.certificateUnusable;
    case "DELEGATION_EXPIRED":
    case "DELEGATION_REVOKED":
    case "DELEGATION_MISSING":
    case "DELEGATION_OTHER_HOLDER":
    case "DELEGATION_UNVERIFIED":
    case "DELEGATION_MALFORMED":
      return t.delegationEnded;
    case "DELEGATION_OUT_OF_SCOPE":
      return t.delegationOutOfScope;
    case "DELEGATION_DAILY_CAP":
      return t.delegationDailyCap;
    case "UNCONFIRMED":
      return t.unconfirmed;
    case "RATE_LIMITED":
      return t.tooMany;
    case "NOT_SIGNED_IN":
      return t.sessionEnded;
    case "NOT_IN_THIS_STATE":
      return t.notInThisState;
    case "NOT_FOUND":
      return t.notFound;
    case "NOT_PERMITTED":
      return t.notPermitted;
    case "ALREADY_EXISTS":
      return t.alreadyDone;
    case "INVALID_FIELD":
    case "INVALID_ARGUMENT":
      return t.invalidInput;
    case "SIGNING_SERVICE_UNAVAILABLE":
    case "TIMESTAMP_UNAVAILABLE":
    case "PROVIDER_UNAVAILABLE":
    case "DISK_FULL":
    case "STORE_FULL":
    case "STORE_UNAVAILABLE":
    case "UNAVAILABLE":
      return t.serviceUnavailable;
  }
  // No reason (the network, a proxy) or one this app does not know: by the status code.
  if (isTransient(err)) return t.offline;
  if (err.code === Code.Unauthenticated) return t.sessionEnded;
  if (err.code === Code.ResourceExhausted) return t.tooMany;
  if (err.code === Code.FailedPrecondition) return t.notInThisState;
  if (err.code === Code.PermissionDenied) return t.notPermitted;
  if (err.code === Code.NotFound) return t.notFound;
  if (err.code === Code.InvalidArgument) return t.invalidInput;
  return t.systemError(reason || Code[err.code]);
}

/** A lockout's end as the person reads it: the time, and the date when it is not today. */
function lockedUntil(at: number): string {
  const when = new Date(at);
  const time = when.toLocaleTimeString("vi-VN", {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Asia/Ho_Chi_Minh",
  });
  const day = (d: Date) => d.toLocaleDateString("vi-VN", { timeZone: "Asia/Ho_Chi_Minh" });
  return day(when) === day(new Date()) ? time : `${time} ${day(when)}`;
}

export { Code, ConnectError };
