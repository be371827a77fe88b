// Binary-to-text encoders for the known-secret spellings (base32, the base85 family), and the
// fragment of an encoding that depends only on the secret when unknown bytes surround it.
// Written here rather than taken from npm: each is a few lines, none of the base85 packages
// covers all three alphabets, and a fragment needs the raw alphabets, not a whole-message API.
// Encoders only: the engine never decodes with these (the tests use independent decoders).

export const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
export const BASE32HEX_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

/** RFC 4648 base32 (or base32hex by alphabet), without padding. */
export function base32(bytes: Uint8Array, alphabet = BASE32_ALPHABET): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The base32 characters that depend only on `bytes` when they start `offset` bytes (0..4) into
 * a 5-byte group: characters sharing bits with unknown neighbours are cut off at both ends.
 */
export function base32Fragment(bytes: Uint8Array, offset: number, alphabet?: string): string {
  const padded = Buffer.concat([Buffer.alloc(offset), bytes]);
  return base32(padded, alphabet).slice(
    Math.ceil((8 * offset) / 5),
    Math.floor((8 * padded.length) / 5),
  );
}

export type Base85Flavour = "ascii85" | "z85" | "rfc1924";

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const RFC1924 =
  "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
const ASCII85 = Array.from({ length: 85 }, (_, d) => String.fromCharCode(33 + d)).join("");
const ALPHABET85: Record<Base85Flavour, string> = { ascii85: ASCII85, z85: Z85, rfc1924: RFC1924 };

/**
 * The whole 4-byte groups of `bytes` in base85, big-endian, five characters a group (Ascii85
 * writes an all-zero group as "z"). A trailing partial group is left out: its characters
 * depend on what follows.
 */
export function base85Groups(bytes: Uint8Array, flavour: Base85Flavour): string {
  const alphabet = ALPHABET85[flavour];
  let out = "";
  for (let i = 0; i + 4 <= bytes.length; i += 4) {
    let n = (((bytes[i] as number) << 24) >>> 0) + ((bytes[i + 1] as number) << 16);
    n += ((bytes[i + 2] as number) << 8) + (bytes[i + 3] as number);
    if (n === 0 && flavour === "ascii85") {
      out += "z";
      continue;
    }
    const group: string[] = new Array(5);
    for (let k = 4; k >= 0; k--) {
      group[k] = alphabet[n % 85] as string;
      n = Math.floor(n / 85);
    }
    out += group.join("");
  }
  return out;
}

/**
 * The base85 characters that depend only on `bytes` when they start `offset` bytes (0..3) into
 * a 4-byte group: every character of a group depends on all its bytes, so the groups shared
 * with unknown neighbours are cut off whole.
 */
export function base85Fragment(bytes: Uint8Array, offset: number, flavour: Base85Flavour): string {
  const skip = offset === 0 ? 0 : 4 - offset;
  return base85Groups(bytes.subarray(skip), flavour);
}
