// Tiếng Việt / English, on every screen.

import { setLang, useWords, type Lang } from "../i18n";

const LANGS: [Lang, string][] = [
  ["vi", "Tiếng Việt"],
  ["en", "English"],
];

export function LanguageSwitch() {
  const { lang, t } = useWords();
  return (
    <div class="lang" role="group" aria-label={t.language}>
      {LANGS.map(([code, name]) => (
        <button
          key={code}
          type="button"
          lang={code}
          aria-pressed={lang === code}
          data-testid={`lang-${code}`}
          onClick={() => setLang(code)}
        >
          {name}
        </button>
      ))}
    </div>
  );
}
