// The ward's procedures (code → name), fetched once and shared by every screen that names them.

import { useEffect, useState } from "preact/hooks";
import { admin, CALL_TIMEOUT_MS } from "./api";
import type { Procedure } from "./gen/signq/v1/admin_pb";

let cached: Promise<Procedure[]> | null = null;

function load(): Promise<Procedure[]> {
  cached ??= admin
    .listProcedures({}, { timeoutMs: CALL_TIMEOUT_MS })
    .then((r) => r.procedures)
    .catch((e: unknown) => {
      cached = null; // offline at first use: ask again next time
      throw e;
    });
  return cached;
}

/** The procedures, empty until loaded (names then fill in). */
export function useProcedures(): Procedure[] {
  const [procedures, setProcedures] = useState<Procedure[]>([]);
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

/** A procedure's name by code, or the code while the catalogue is not loaded. */
export function procedureName(procedures: Procedure[], code: string): string {
  return procedures.find((p) => p.code === code)?.name ?? code;
}
