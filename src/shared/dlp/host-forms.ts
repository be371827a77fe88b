// The forms a known secret can take inside a host name (a CONNECT target, a TLS server name,
// a Host header, a DNS question): names are case-insensitive and hold only letters, digits,
// '-' and '.', so a secret shows up lowercased, as hex, or as base32 (RFC 4648 or its "hex"
// alphabet, lower case, unpadded), and may be cut into labels anywhere. A separate small
// matcher: host names are short, so a substring search per form costs less than an automaton.
// It must never return or log a matched value.
import { distinctForms, type KnownSecret, MIN_SECRET_LENGTH } from "./known-secrets.js";

export type HostSecretEncoding = "lowercase" | "hex" | "base32" | "base32hex";

export interface HostSecretForm {
  secretName: string;
  encoding: HostSecretEncoding;
  /** Lower case, without separators. */
  text: string;
}

export interface HostSecretMatch {
  secretName: string;
  encoding: HostSecretEncoding;
}

export interface HostSecretMatcher {
  /** The secrets `name` carries, in any host form and however it is cut into labels. */
  find(name: string): HostSecretMatch[];
}

/** base32 fragments shorter than this would match by chance. */
const MIN_FRAGMENT_LENGTH = 8;
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
const BASE32HEX = "0123456789abcdefghijklmnopqrstuv";

export function hostSecretForms(secret: KnownSecret): HostSecretForm[] {
  const bytes = Buffer.from(secret.value, "utf8");
  const forms: [HostSecretEncoding, string][] = [
    ["lowercase", secret.value.toLowerCase()],
    ["hex", bytes.toString("hex")],
  ];
  // What is left of it when the characters a name cannot hold are dropped.
  const alnum = secret.value.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (alnum.length >= MIN_FRAGMENT_LENGTH) forms.push(["lowercase", alnum]);
  for (const offset of [0, 1, 2, 3, 4]) {
    for (const [encoding, alphabet] of [
      ["base32", BASE32],
      ["base32hex", BASE32HEX],
    ] as const) {
      const fragment = base32Fragment(bytes, offset, alphabet);
      if (fragment.length >= MIN_FRAGMENT_LENGTH) forms.push([encoding, fragment]);
    }
  }
  return distinctForms(secret.name, forms);
}

/** base32 of `bytes` (no padding, `alphabet` in lower case). */
export function base32(bytes: Uint8Array, alphabet: string = BASE32): string {
  let out = "";
  let value = 0;
  let bits = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The base32 characters that depend only on the secret when it starts `offset` bytes into a
 * 5-byte group: characters shared with unknown neighbouring bytes are cut off at both ends.
 */
export function base32Fragment(bytes: Uint8Array, offset: number, alphabet = BASE32): string {
  const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
  const encoded = base32(padded, alphabet);
  const start = Math.ceil((8 * offset) / 5);
  const end = Math.floor((8 * padded.length) / 5);
  return encoded.slice(start, end);
}

/** The host as written (lowercased), without dots, and without any separator at all. */
export function hostViews(name: string): string[] {
  const lower = name.toLowerCase();
  const views = [lower, lower.replace(/\./g, ""), lower.replace(/[^a-z0-9]/g, "")];
  return [...new Set(views)];
}

export function createHostSecretMatcher(secrets: readonly KnownSecret[]): HostSecretMatcher {
  const forms = secrets
    .filter((s) => s.value.length >= MIN_SECRET_LENGTH)
    .flatMap((s) => hostSecretForms(s));
  return {
    find(name) {
      if (forms.length === 0) return [];
      const views = hostViews(name);
      const found = new Map<string, HostSecretMatch>();
      for (const form of forms) {
        if (!views.some((v) => v.includes(form.text))) continue;
        const key = `${form.secretName}\0${form.encoding}`;
        if (!found.has(key)) {
          found.set(key, { secretName: form.secretName, encoding: form.encoding });
        }
      }
      return [...found.values()];
    },
  };
}
