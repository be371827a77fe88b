// PEM armour for DER bytes: certificates and PKCS#8 private keys.
import type { webcrypto } from "node:crypto";
import { subtle } from "./x509-setup.js";

export function toPem(der: ArrayBuffer | Uint8Array, label: string): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER bytes of the first `label` block in `pem`; throws when there is none. */
export function fromPem(pem: string, label: string): Uint8Array {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`);
  const body = re.exec(pem)?.[1];
  if (body === undefined) throw new Error(`no "${label}" PEM block found`);
  return new Uint8Array(Buffer.from(body.replace(/\s+/g, ""), "base64"));
}

export async function exportPkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  return toPem(await subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}
