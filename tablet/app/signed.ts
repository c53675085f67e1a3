// What this tablet has told its person was signed. A signature is announced once ("Đã ký N hồ
// sơ."), whichever way the tablet learns of it (the approval's answer, the answer to the same batch
// sent again after a lost answer, a remote confirmation, the inbox stream), and a record known to
// be signed is never shown as signable again, even by a stream snapshot made a moment before it
// was signed. Kept in sessionStorage, so a reload keeps it; forgotten at sign out.

const KEY = "signq.signed";
/** Ids kept, at most: far more than a day's records of one signer. */
const LIMIT = 5_000;

let known: string[] = load();
let lookup = new Set(known);

function load(): string[] {
  try {
    const kept: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? "[]");
    return Array.isArray(kept) ? kept.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
}

/** Records `ids` as signed; returns those not announced before (the ones to announce now). */
export function newlySigned(ids: string[]): string[] {
  const fresh = [...new Set(ids)].filter((id) => !lookup.has(id));
  if (fresh.length === 0) return fresh;
  known = [...known, ...fresh].slice(-LIMIT);
  lookup = new Set(known);
  sessionStorage.setItem(KEY, JSON.stringify(known));
  return fresh;
}

/** Whether the record `id` is known to be signed. */
export function isKnownSigned(id: string): boolean {
  return lookup.has(id);
}

/** Forgets what was signed (sign out). */
export function forgetSigned(): void {
  known = [];
  lookup = new Set();
  sessionStorage.removeItem(KEY);
}
