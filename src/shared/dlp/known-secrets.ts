// The bottle's own secret values, expanded into the literal forms they may take on the wire,
// so the prefilter finds every one in the same single pass as the rule anchors, whatever their
// number. Case is not a spelling: the prefilter folds ASCII case, so each form stands for all
// of its case changes (hex digits, escapes, base32 in lowercase or unpadded, ...).
//
// secretVariants: the forms the wire itself uses: verbatim, base64 and base64url at each of the
// three byte alignments, hex and URL-encoded. (egress scrubs these; git-gate's rules are them.)
//
// secretSpellings: the closed set of reversible transforms a leak picks instead, each applied
// to the secret once unless said otherwise:
//   - reversed; UTF-16LE and UTF-16BE; hex with the separators of common dumps;
//   - ciphers (secret-spellings/ciphers.ts): rot-N over letters (N = 1..25), rot-N over digits
//     (N = 1..9), rot18 (both), rot47 over printable ASCII, Atbash over letters and over
//     letters and digits;
//   - alphabets (secret-spellings/radix.ts): base32 and base32hex at each of the 5 alignments;
//     Ascii85 (with or without "<~": the literal is found inside either), Z85 and RFC 1924
//     base85 at each of the 4 alignments (whole groups only, so secrets under ~13 bytes may
//     have fewer);
//   - per character (secret-spellings/per-character.ts): decimal and hex code points and bytes
//     joined by ",", ", ", " ", ";", "; " or newlines (arrays hold these), binary bytes, the
//     escapes \uXXXX, \u{X}, \x{X}, \NNN, %uXXXX, &#N;, &#xH;, \UXXXXXXXX (and \xHH among the
//     hex joins), one-character strings joined by ",", ", ", "+", " + " in either quote, each
//     character twice or three times, fullwidth forms as UTF-8;
//   - nesting (secret-spellings/nesting.ts): every chain of base64 (3 alignments each step) and
//     hex (either case inside), 1..NESTING_DEPTH steps deep (= the scanner's MAX_NESTING),
//     the outermost base64 also url-safe; and base64 of UTF-16LE.
// Compositions beyond these (a cipher inside base64, base32 inside hex, ...) are not
// precomputed. Every form is at least MIN_FRAGMENT_LENGTH bytes (shorter ones would match by
// chance) and a secret has at most MAX_FORMS_PER_SECRET forms in all (about 230 in practice).

import { base64Fragment } from "./secret-spellings/base64-fragment.js";
import { cipherForms } from "./secret-spellings/ciphers.js";
import { nestedForms } from "./secret-spellings/nesting.js";
import { perCharacterForms } from "./secret-spellings/per-character.js";
import { BASE32HEX_ALPHABET, base32Fragment, base85Fragment } from "./secret-spellings/radix.js";

export { NESTING_DEPTH } from "./secret-spellings/nesting.js";
export { base64Fragment };

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
  | "rot"
  | "rot-printable"
  | "atbash"
  | "base32"
  | "base32hex"
  | "ascii85"
  | "z85"
  | "base85-rfc1924"
  | "code-points"
  | "character-escapes"
  | "character-strings"
  | "repeated-characters"
  | "fullwidth"
  /** base64 and hex applied to each other, up to NESTING_DEPTH steps. */
  | "nested"
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
/** Forms shorter than this are dropped for the same reason. */
export const MIN_FRAGMENT_LENGTH = 8;
/** The most forms secretVariants and secretSpellings give one secret together. */
export const MAX_FORMS_PER_SECRET = 300;

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
  return distinctForms(secret.name, forms);
}

/** Each text once, in the order first found, as forms of the named secret. */
export function distinctForms<E extends string>(
  secretName: string,
  forms: Iterable<readonly [E, string]>,
): { secretName: string; encoding: E; text: string }[] {
  const byText = new Map<string, { secretName: string; encoding: E; text: string }>();
  for (const [encoding, text] of forms) {
    if (!byText.has(text)) byText.set(text, { secretName, encoding, text });
  }
  return [...byText.values()];
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
  const utf8 = (text: string) => Buffer.from(text, "utf8").toString("latin1");
  const forms: [SecretEncoding, string][] = [
    ["reversed", utf8([...secret.value].reverse().join(""))],
    ["utf-16le", Buffer.from(secret.value, "utf16le").toString("latin1")],
    ["utf-16be", Buffer.from(secret.value, "utf16le").swap16().toString("latin1")],
  ];
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0"));
  for (const { before, between } of HEX_JOINS) {
    // Case is folded by the prefilter: one spelling stands for both.
    forms.push(["hex-separated", hex.map((h) => before + h).join(between)]);
  }
  for (const offset of [0, 1, 2]) {
    const fragment = base64Fragment(Buffer.from(secret.value, "utf16le"), offset);
    forms.push(["base64-utf-16le", fragment]);
  }
  for (const [name, form] of cipherForms(secret.value)) {
    const encoding = name.startsWith("atbash")
      ? "atbash"
      : name.endsWith("printable")
        ? "rot-printable"
        : "rot";
    forms.push([encoding, utf8(form)]);
  }
  for (let offset = 0; offset < 5; offset++) {
    forms.push(["base32", base32Fragment(bytes, offset)]);
    forms.push(["base32hex", base32Fragment(bytes, offset, BASE32HEX_ALPHABET)]);
  }
  for (let offset = 0; offset < 4; offset++) {
    forms.push(["ascii85", base85Fragment(bytes, offset, "ascii85")]);
    forms.push(["z85", base85Fragment(bytes, offset, "z85")]);
    forms.push(["base85-rfc1924", base85Fragment(bytes, offset, "rfc1924")]);
  }
  for (const [name, form] of perCharacterForms(secret.value)) {
    forms.push([PER_CHARACTER_ENCODING[name.split(" ")[0] as string] ?? "code-points", form]);
  }
  for (const [name, form] of nestedForms(bytes)) {
    forms.push([/^base64\(base64\(S\)\)$/.test(name) ? "base64-twice" : "nested", form]);
  }
  const known = new Set(secretVariants(secret).map((v) => v.text.toLowerCase()));
  const variants: SecretVariant[] = [];
  for (const [encoding, text] of forms) {
    const key = text.toLowerCase();
    if (text.length < MIN_FRAGMENT_LENGTH || known.has(key)) continue;
    known.add(key);
    variants.push({ secretName: secret.name, encoding, text });
  }
  return variants;
}

const PER_CHARACTER_ENCODING: Record<string, SecretEncoding> = {
  escape: "character-escapes",
  "character-strings": "character-strings",
  repeated: "repeated-characters",
  fullwidth: "fullwidth",
};
