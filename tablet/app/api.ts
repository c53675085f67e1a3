// The scheduler's Inbox and Admin services over gRPC-web, with clients generated from proto/
// (buf + protoc-gen-es). The session token rides on every call; errors are sorted here into
// "the network failed, try again" and "the server said no", because the app treats them differently.

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { Admin } from "./gen/signq/v1/admin_pb";
import { Inbox } from "./gen/signq/v1/inbox_pb";

let token: string | null = null;

/** Sets (or clears) the bearer token sent with every call. */
export function setToken(value: string | null): void {
  token = value;
}

const bearer: Interceptor = (next) => (req) => {
  if (token) req.header.set("authorization", `Bearer ${token}`);
  return next(req);
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

/** Whether the session is no longer valid, so the person has to sign in again. */
export function isUnauthenticated(e: unknown): boolean {
  return ConnectError.from(e).code === Code.Unauthenticated;
}

/** The server's own words about a refused request (gRPC status message). */
export function message(e: unknown): string {
  return ConnectError.from(e).rawMessage;
}

export { Code, ConnectError };
