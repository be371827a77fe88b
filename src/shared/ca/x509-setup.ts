// Loads @peculiar/x509 with what it needs: reflect-metadata first (its ASN.1 schemas use
// decorators) and node's WebCrypto as the provider, so certificates are made the same way on
// every Node version. Every module of this folder imports x509 through here.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

type X509Crypto = ReturnType<typeof x509.cryptoProvider.get>;
x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);

export { x509 };
export const subtle = webcrypto.subtle;

export const EC_KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
export const EC_SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
