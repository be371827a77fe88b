// The bottle's own secret values, expanded into the literal forms they may take on the wire:
// verbatim, base64 and base64url at each of the three byte alignments, hex and URL-encoded.
// Every form is a literal, so the prefilter finds them in the same single pass as the anchors.

export type SecretEncoding = "verbatim" | "base64" | "base64url" | "hex" | "url-encoded";

export interface KnownSecret {
  /** Where the value came from, e.g. the env var name; shown in findings instead of the value. */
  name: string;
  value: string;
}

export interface SecretVariant {
  secretName: string;
  encoding: SecretEncoding;
  /** The form as a latin1 string of its bytes. */
  text: string;
}

/** Shorter values would match by chance; they are left out (and reported by the scanner). */
export const MIN_SECRET_LENGTH = 8;
/** base64 fragments shorter than this are dropped for the same reason. */
const MIN_FRAGMENT_LENGTH = 8;

export function secretVariants(secret: KnownSecret): SecretVariant[] {
  const bytes = Buffer.from(secret.value, "utf8");
  const forms: [SecretEncoding, string][] = [
    ["verbatim", bytes.toString("latin1")],
    ["hex", bytes.toString("hex")],
    ["hex", bytes.toString("hex").toUpperCase()],
    ["url-encoded", encodeURIComponent(secret.value)],
    [
      "url-encoded",
      encodeURIComponent(secret.value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    ],
    ["url-encoded", encodeURIComponent(secret.value).replace(/%20/g, "+")],
  ];
  for (const offset of [0, 1, 2]) {
    const fragment = base64Fragment(bytes, offset);
    if (fragment.length >= MIN_FRAGMENT_LENGTH) {
      forms.push(["base64", fragment]);
      forms.push(["base64url", fragment.replace(/\+/g, "-").replace(/\//g, "_")]);
    }
  }
  const seen = new Set<string>();
  const variants: SecretVariant[] = [];
  for (const [encoding, text] of forms) {
    if (seen.has(text)) continue;
    seen.add(text);
    variants.push({ secretName: secret.name, encoding, text });
  }
  return variants;
}

/**
 * The base64 characters that depend only on the secret when it starts `offset` bytes into a
 * 3-byte group: characters shared with unknown neighbouring bytes are cut off at both ends.
 */
export function base64Fragment(bytes: Uint8Array, offset: number): string {
  const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
  const encoded = padded.toString("base64");
  const start = [0, 2, 3][offset] ?? 0;
  const end = Math.floor((8 * padded.length) / 6);
  return encoded.slice(start, end);
}
