// The bottle's own secret values, expanded into the literal forms they may take on the wire:
// verbatim, base64 and base64url at each of the three byte alignments, hex and URL-encoded;
// and the spellings a leak picks to slip past those: reversed, UTF-16, hex with separators,
// base64 twice. Every form is a literal, so the prefilter finds them in the same single pass
// as the anchors, whatever their number. (Case is not a spelling: the prefilter folds it.)

export type SecretEncoding =
  | "verbatim"
  | "base64"
  | "base64url"
  | "hex"
  | "url-encoded"
  | "reversed"
  | "utf-16le"
  | "utf-16be"
  | "hex-separated"
  | "base64-twice"
  | "base64-utf-16le"
  /** A form above with its letters in another case (lowercased, uppercased, mixed). */
  | "case-changed";

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

/** Separators and prefixes hex dumps put between bytes: "a1:b2", "\\xa1\\xb2", "0xa1, 0xb2". */
const HEX_JOINS: readonly { before: string; between: string }[] = [
  { before: "", between: ":" },
  { before: "", between: " " },
  { before: "", between: "-" },
  { before: "", between: "," },
  { before: "", between: ", " },
  { before: "", between: "\n" },
  { before: "\\x", between: "" },
  { before: "%", between: "" },
  { before: "0x", between: "," },
  { before: "0x", between: ", " },
  { before: "0x", between: " " },
];

/**
 * The forms secretVariants() leaves out: spellings only a leak uses. Kept apart so the
 * git gate's rule text (built from secretVariants) stays as it is unless it asks for these.
 */
export function secretSpellings(secret: KnownSecret): SecretVariant[] {
  const bytes = Buffer.from(secret.value, "utf8");
  const forms: [SecretEncoding, string][] = [
    ["reversed", Buffer.from([...secret.value].reverse().join(""), "utf8").toString("latin1")],
    ["utf-16le", Buffer.from(secret.value, "utf16le").toString("latin1")],
    ["utf-16be", Buffer.from(secret.value, "utf16le").swap16().toString("latin1")],
  ];
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0"));
  for (const { before, between } of HEX_JOINS) {
    // Case is folded by the prefilter: one spelling stands for both.
    forms.push(["hex-separated", hex.map((h) => before + h).join(between)]);
  }
  const base64Forms: [SecretEncoding, Uint8Array][] = [
    ["base64-utf-16le", Buffer.from(secret.value, "utf16le")],
  ];
  for (const offset of [0, 1, 2]) {
    base64Forms.push(["base64-twice", Buffer.from(base64Fragment(bytes, offset), "latin1")]);
  }
  for (const [encoding, inner] of base64Forms) {
    for (const offset of [0, 1, 2]) {
      const fragment = base64Fragment(inner, offset);
      if (fragment.length >= MIN_FRAGMENT_LENGTH) forms.push([encoding, fragment]);
    }
  }
  const known = new Set(secretVariants(secret).map((v) => v.text.toLowerCase()));
  const variants: SecretVariant[] = [];
  for (const [encoding, text] of forms) {
    const key = text.toLowerCase();
    if (known.has(key)) continue;
    known.add(key);
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
