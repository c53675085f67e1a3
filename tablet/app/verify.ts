// Checks a signature on the tablet itself, so that a signer can see that what they signed is what
// the record holds: the CMS signature verifies over what it covers (the document, or for a PDF
// the signed PDF's byte ranges) with the key of the certificate it names, that certificate was
// issued by the ward's certificate authority (the last certificate of the record's chain) and is
// valid now, and the document's SHA-256 is the one recorded at submission. pkijs does the CMS and
// X.509 work over the browser's WebCrypto; it is loaded only when a signature is checked.

import { millis } from "./format";
import type { Record } from "./gen/signq/v1/record_pb";

export type Verdict =
  | { ok: true; signer: string; issuer: string; signedAt: Date }
  | { ok: false; why: "changed" | "untrusted" | "unreadable" };

const COMMON_NAME = "2.5.4.3";
const SIGNING_TIME = "1.2.840.113549.1.9.5";

/** Verifies `record`'s signature over `record.document` (both must be present). */
export async function verifySignature(record: Record): Promise<Verdict> {
  const pkijs = await import("pkijs");
  let signed;
  let chain;
  try {
    const info = pkijs.ContentInfo.fromBER(copy(record.signature));
    signed = new pkijs.SignedData({ schema: info.content });
    chain = record.certificateChain.map((der) => pkijs.Certificate.fromBER(copy(der)));
  } catch {
    return { ok: false, why: "unreadable" };
  }
  const authority = chain[chain.length - 1];
  if (!authority || signed.signerInfos.length !== 1) return { ok: false, why: "unreadable" };
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", copy(record.document)));
  if (hex(digest) !== record.documentSha256.toLowerCase()) return { ok: false, why: "changed" };
  const content = signedContent(record);
  if (!content) return { ok: false, why: "changed" };
  let result;
  try {
    result = await signed.verify({
      signer: 0,
      data: content,
      trustedCerts: [authority],
      checkChain: true,
      extendedMode: true,
    });
  } catch (e) {
    // pkijs reports a failed check by throwing a result whose flags say which part failed.
    const failed = e as { signatureVerified?: boolean | null };
    return { ok: false, why: failed.signatureVerified === false ? "changed" : "untrusted" };
  }
  if (!result.signatureVerified) return { ok: false, why: "changed" };
  if (!result.signerCertificateVerified) return { ok: false, why: "untrusted" };
  // The signature's own signing time when it has one; a PDF signature keeps its time in the PDF
  // instead (PAdES), and the scheduler recorded when it was made.
  const time = signed.signerInfos[0].signedAttrs?.attributes.find((a) => a.type === SIGNING_TIME);
  const signedAt: Date = time?.values[0]?.toDate?.() ?? new Date(millis(record.signedAt));
  return {
    ok: true,
    signer: commonName(result.signerCertificate?.subject ?? chain[0].subject),
    issuer: commonName(authority.subject),
    signedAt,
  };
}

/**
 * What the signature covers. A PDF is signed in itself: the signed PDF keeps the document's bytes
 * and adds the signature as an incremental update, whose byte ranges (all of the file but the
 * signature) are what the CMS signature covers; the person's is the first signature added after
 * the document. Anything else is signed as it is. Null when the signed PDF is not the document
 * with a signature added.
 */
function signedContent(record: Record): ArrayBuffer | null {
  const pdf = record.signedDocument;
  if (pdf.length === 0) return copy(record.document);
  const original = record.document;
  if (pdf.length <= original.length || original.some((b, i) => pdf[i] !== b)) return null;
  const text = new TextDecoder("latin1").decode(pdf);
  const ranges = [...text.matchAll(/\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g)].map((m) =>
    m.slice(1).map(Number),
  );
  const added = ranges.find(([, , c, d]) => c + d > original.length);
  if (!added) return null;
  const [a, b, c, d] = added;
  if (a !== 0 || a + b > c || c + d > pdf.length) return null;
  const covered = new Uint8Array(b + d);
  covered.set(pdf.subarray(a, a + b), 0);
  covered.set(pdf.subarray(c, c + d), b);
  return covered.buffer;
}

/** The common name of an X.509 name, as people read it. */
function commonName(name: { typesAndValues: { type: string; value: { valueBlock: { value: unknown } } }[] }) {
  const cn = name.typesAndValues.find((tv) => tv.type === COMMON_NAME);
  return String(cn?.value.valueBlock.value ?? "");
}

/** The bytes as an ArrayBuffer of their own (pkijs and WebCrypto want one, not a view). */
function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
