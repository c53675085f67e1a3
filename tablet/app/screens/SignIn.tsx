// Sign in with the PIN on a tablet enrolled for one signer: the device certificate says whose it
// is (GetDevice), and the signer service checks the PIN under its lockout.

import { useEffect, useState } from "preact/hooks";
import { Code, ConnectError, explain, isTransient } from "../api";
import type { GetDeviceResponse } from "../gen/signq/v1/inbox_pb";
import { useWords } from "../i18n";
import { pageTitle, signIn, whoseDevice } from "../session";
import { LanguageSwitch } from "../ui/LanguageSwitch";
import { PinField } from "../ui/PinField";

type Device =
  { kind: "finding" } | { kind: "known"; device: GetDeviceResponse } | { kind: "error"; err: unknown };

export function SignIn() {
  const { t } = useWords();
  const [device, setDevice] = useState<Device>({ kind: "finding" });
  const [pin, setPin] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    whoseDevice().then(
      (d) => live && setDevice({ kind: "known", device: d }),
      (err) => live && setDevice({ kind: "error", err }),
    );
    return () => {
      live = false;
    };
  }, []);
  const wardName = device.kind === "known" ? device.device.wardName : undefined;
  useEffect(() => {
    document.title = pageTitle(wardName);
  }, [wardName]);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(pin, device.kind === "known" ? device.device.wardName : "");
    } catch (err) {
      setError(explain(t, err));
    } finally {
      setPin("");
      setBusy(false);
    }
  }

  return (
    <main class="sign-in">
      <header class="sign-in-head">
        <h1>{t.appName}</h1>
        <LanguageSwitch />
      </header>
      <form onSubmit={submit} class="card" data-testid="sign-in">
        <h2>{t.signInTitle}</h2>
        {device.kind === "finding" && <p>{t.findingDevice}</p>}
        {device.kind === "error" && (
          <p class="error" role="alert" data-testid="device-error">
            {notEnrolled(device.err) ? t.notEnrolled : explain(t, device.err)}
          </p>
        )}
        {device.kind === "known" && (
          <>
            <p data-testid="device">
              {t.signingInAs} <strong>{device.device.displayName}</strong>
              {device.device.wardName && ` — ${device.device.wardName}`}
            </p>
            <PinField value={pin} onInput={setPin} signIn />
            {error && (
              <p class="error" role="alert">
                {error}
              </p>
            )}
            <button type="submit" class="primary" disabled={busy}>
              {busy ? t.signingIn : t.signIn}
            </button>
          </>
        )}
      </form>
    </main>
  );
}

/** Whether the scheduler refused because this browser presents no enrolled device. */
function notEnrolled(err: unknown): boolean {
  if (isTransient(err)) return false;
  const code = ConnectError.from(err).code;
  return code === Code.Unauthenticated || code === Code.PermissionDenied || code === Code.FailedPrecondition;
}
