// The PIN as every screen asks for it: masked, a number pad on tablets, never remembered by the
// browser except at sign-in (where password managers expect it), and focused as it appears, so the
// person can type at once (at sign-in it appears only once the tablet knows whose it is).

import { useEffect, useRef } from "preact/hooks";
import { useWords } from "../i18n";

export function PinField(props: { value: string; onInput: (pin: string) => void; signIn?: boolean }) {
  const { t } = useWords();
  const input = useRef<HTMLInputElement>(null);
  // Both ways on purpose: the effect focuses the field on a page (sign-in, where it appears once
  // the device is known), and `autoFocus` is what a dialog's showModal(), which runs after this
  // effect, gives the focus to.
  useEffect(() => input.current?.focus(), []);
  return (
    <label>
      {t.pin}
      <input
        ref={input}
        name="pin"
        type="password"
        inputMode="numeric"
        autoComplete={props.signIn ? "current-password" : "off"}
        autoFocus
        required
        value={props.value}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
    </label>
  );
}
