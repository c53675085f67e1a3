// Sign in with the signer id and PIN; the signer service checks the PIN under its lockout.

import { useState } from "preact/hooks";
import { explain } from "../api";
import { useWords } from "../i18n";
import { signIn } from "../session";
import { LanguageSwitch } from "../ui/LanguageSwitch";
import { PinField } from "../ui/PinField";

export function SignIn() {
  const { t } = useWords();
  const [signerId, setSignerId] = useState(localStorage.getItem("signq.lastSigner") ?? "");
  const [pin, setPin] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(signerId.trim(), pin);
      localStorage.setItem("signq.lastSigner", signerId.trim());
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
        <label>
          {t.signerId}
          <input
            name="signer"
            autoComplete="username"
            autoCapitalize="none"
            spellcheck={false}
            placeholder={t.signerIdHint}
            value={signerId}
            onInput={(e) => setSignerId(e.currentTarget.value)}
            required
          />
        </label>
        <PinField value={pin} onInput={setPin} signIn />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t.signingIn : t.signIn}
        </button>
      </form>
    </main>
  );
}
