// Per-host server certificates signed by a bottle CA, for TLS interception. One key pair may
// be shared by every leaf of a CA (as mitmproxy does): signing is then the only per-host cost.

import { randomBytes as nodeRandomBytes, type webcrypto } from "node:crypto";
import { isIP } from "node:net";
import {
  BACKDATE_MS,
  type CaPem,
  loadCa,
  type RandomBytes,
  type SigningCa,
  serialNumberHex,
  wholeSeconds,
} from "./mint-ca.js";
import { exportPkcs8Pem } from "./pem.js";
import { EC_KEY_ALGORITHM, EC_SIGNING_ALGORITHM, subtle, x509 } from "./x509-setup.js";

export interface LeafKey {
  keys: webcrypto.CryptoKeyPair;
  keyPem: string;
}

export interface MintLeafOptions {
  now: Date;
  /** Defaults to 30, and never past the CA's own expiry. */
  validityDays?: number;
  /** Reuse a key pair (see createLeafKey); a fresh one is generated otherwise. */
  key?: LeafKey;
  randomBytes?: RandomBytes;
}

export interface LeafCertificate {
  /** The leaf alone. */
  certPem: string;
  /** Leaf then CA: what a TLS server presents. */
  chainPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

export async function createLeafKey(): Promise<LeafKey> {
  const keys = await subtle.generateKey(EC_KEY_ALGORITHM, true, ["sign", "verify"]);
  return { keys, keyPem: await exportPkcs8Pem(keys.privateKey) };
}

/**
 * @param host a DNS name ("api.github.com") or an IP literal ("10.0.0.1", "::1", "[::1]")
 */
export async function mintLeafCertificate(
  ca: SigningCa | CaPem,
  host: string,
  options: MintLeafOptions,
): Promise<LeafCertificate> {
  const signer = "signingKey" in ca ? ca : await loadCa(ca);
  const san = subjectAltName(host);
  const key = options.key ?? (await createLeafKey());
  const random = options.randomBytes ?? nodeRandomBytes;
  const now = options.now.getTime();
  const notBefore = wholeSeconds(Math.max(now - BACKDATE_MS, signer.notBefore.getTime()));
  const wanted = now + (options.validityDays ?? 30) * DAY_MS;
  const notAfter = wholeSeconds(Math.min(wanted, signer.notAfter.getTime()));
  if (notAfter.getTime() <= now) throw new Error("the CA has expired: mint a new one");
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumberHex(random),
    // A common name is optional with a SAN and limited to 64 characters.
    subject: san.value.length <= 64 ? [{ CN: [san.value] }] : [],
    issuer: signer.certificate.subject,
    notBefore,
    notAfter,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
    publicKey: key.keys.publicKey,
    signingKey: signer.signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([san], san.value.length > 64),
      await x509.SubjectKeyIdentifierExtension.create(key.keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(signer.certificate.publicKey),
    ],
  });
  const certPem = certificate.toString("pem");
  return {
    certPem,
    chainPem: `${certPem.trimEnd()}\n${signer.certPem.trimEnd()}\n`,
    keyPem: key.keyPem,
    notBefore,
    notAfter,
  };
}

function subjectAltName(host: string): { type: "dns" | "ip"; value: string } {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (isIP(bare) !== 0) return { type: "ip", value: bare };
  const name = bare.toLowerCase().replace(/\.$/, "");
  if (!HOSTNAME.test(name))
    throw new Error(`not a hostname or IP address: ${JSON.stringify(host)}`);
  return { type: "dns", value: name };
}
