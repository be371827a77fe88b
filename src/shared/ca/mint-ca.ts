// The per-bottle certificate authority: minted once when a bottle is prepared, loaded by the
// intercepting proxies to sign leaf certificates. Must never be given a clock or randomness
// of its own: both come in as parameters so a plan can be reproduced in tests.
import { randomBytes as nodeRandomBytes, type webcrypto } from "node:crypto";
import { exportPkcs8Pem, fromPem } from "./pem.js";
import { EC_KEY_ALGORITHM, EC_SIGNING_ALGORITHM, subtle, x509 } from "./x509-setup.js";

export type RandomBytes = (size: number) => Uint8Array;

/** A CA as stored on disk: a certificate and its PKCS#8 private key, both PEM. */
export interface CaPem {
  certPem: string;
  keyPem: string;
}

export interface MintedCa extends CaPem {
  notBefore: Date;
  notAfter: Date;
}

export interface MintCaOptions {
  commonName: string;
  now: Date;
  /** Defaults to 365. */
  validityDays?: number;
  randomBytes?: RandomBytes;
}

/** A CA ready to sign: parsed certificate plus its imported private key. */
export interface SigningCa {
  certPem: string;
  certificate: x509.X509Certificate;
  signingKey: webcrypto.CryptoKey;
  notBefore: Date;
  notAfter: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdating absorbs small clock differences between the host and the containers. */
export const BACKDATE_MS = 60 * 60 * 1000;

export async function mintCa(options: MintCaOptions): Promise<MintedCa> {
  const { commonName, now } = options;
  const validityDays = options.validityDays ?? 365;
  const random = options.randomBytes ?? nodeRandomBytes;
  const keys = await subtle.generateKey(EC_KEY_ALGORITHM, true, ["sign", "verify"]);
  const notBefore = wholeSeconds(now.getTime() - BACKDATE_MS);
  const notAfter = wholeSeconds(now.getTime() + validityDays * DAY_MS);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumberHex(random),
    name: [{ CN: [commonName] }, { O: ["claude-bottle"] }],
    notBefore,
    notAfter,
    signingAlgorithm: EC_SIGNING_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: certificate.toString("pem"),
    keyPem: await exportPkcs8Pem(keys.privateKey),
    notBefore,
    notAfter,
  };
}

/** Parses a CA and imports its key; throws when the key does not belong to the certificate. */
export async function loadCa(pem: CaPem): Promise<SigningCa> {
  const certificate = new x509.X509Certificate(pem.certPem);
  const keyDer = fromPem(pem.keyPem, "PRIVATE KEY");
  // Imported extractable once, to compare its public point with the certificate's.
  const extractable = await subtle.importKey("pkcs8", keyDer, EC_KEY_ALGORITHM, true, ["sign"]);
  const privateJwk = await subtle.exportKey("jwk", extractable);
  const certPublicKey = await certificate.publicKey.export(EC_KEY_ALGORITHM, ["verify"]);
  const publicJwk = await subtle.exportKey("jwk", certPublicKey);
  if (privateJwk.x !== publicJwk.x || privateJwk.y !== publicJwk.y) {
    throw new Error("the CA private key does not match the CA certificate");
  }
  const signingKey = await subtle.importKey("pkcs8", keyDer, EC_KEY_ALGORITHM, false, ["sign"]);
  return {
    certPem: certificate.toString("pem"),
    certificate,
    signingKey,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
  };
}

/** Certificates keep whole seconds: round down so the returned dates match the encoded ones. */
export function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

/** 16 random bytes, top bit cleared so the DER integer stays positive. */
export function serialNumberHex(random: RandomBytes): string {
  const bytes = Buffer.from(random(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  if (bytes[0] === 0) bytes[0] = 0x01;
  return bytes.toString("hex");
}
