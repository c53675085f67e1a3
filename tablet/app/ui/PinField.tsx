// The PIN as every screen asks for it: masked, a number pad on tablets, never remembered by the
// browser except at sign-in (where password managers expect it).

import { useWords } from "../i18n";

export function PinField(props: { value: string; onInput: (pin: string) => void; signIn?: boolean }) {
  const { t } = useWords();
  return (
    <label>
      {t.pin}
      <input
        name="pin"
        type="password"
        inputMode="numeric"
        autoComplete={props.signIn ? "current-password" : "off"}
        autoFocus={!props.signIn}
        required
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </label>
  );
}
