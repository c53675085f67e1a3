// The ward's procedures (code → name), fetched once and shared by every screen that names them.
// The names are kept on the tablet too, so records still read properly without network.

import { useEffect, useState } from "preact/hooks";
import { admin, CALL_TIMEOUT_MS } from "./api";

export type ProcedureName = { code: string; name: string };

const KEY = "signq.procedures";
let cached: Promise<ProcedureName[]> | null = null;

function kept(): ProcedureName[] {
  try {
    return JSON.parse(localStorage.getItem(KEY) ?? "[]") as ProcedureName[];
  } catch {
    return [];
  }
}

function load(): Promise<ProcedureName[]> {
  cached ??= admin
    .listProcedures({}, { timeoutMs: CALL_TIMEOUT_MS })
    .then((r) => {
      const names = r.procedures.map((p) => ({ code: p.code, name: p.name }));
      localStorage.setItem(KEY, JSON.stringify(names));
      return names;
    })
    .catch((e: unknown) => {
      cached = null; // offline at first use: ask again next time
      throw e;
    });
  return cached;
}

/** The procedures: those kept on the tablet at once, the server's when they arrive. */
export function useProcedures(): ProcedureName[] {
  const [procedures, setProcedures] = useState<ProcedureName[]>(kept);
  useEffect(() => {
    let live = true;
    load().then(
      (p) => live && setProcedures(p),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, []);
  return procedures;
}

/** A procedure's name by code, or the code while the catalogue is not known. */
export function procedureName(procedures: ProcedureName[], code: string): string {
  return procedures.find((p) => p.code === code)?.name ?? code;
}
