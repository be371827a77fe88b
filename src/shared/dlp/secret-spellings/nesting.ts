// Chains of base64 and hex applied to a secret, up to NESTING_DEPTH encodings deep, with every
// byte alignment of every base64 step: the forms a secret takes when it is encoded again and
// again, which no generic decoder reads past its bound.
import { base64Fragment } from "./base64-fragment.js";

/**
 * How many encodings deep a known secret's chains are precomputed. Equal to the scanner's
 * MAX_NESTING (a unit test holds them together): what the decoders refuse past, the literals
 * reach up to.
 */
export const NESTING_DEPTH = 3;
const MIN_FRAGMENT_LENGTH = 8;

interface Chain {
  name: string;
  bytes: Buffer;
}

/**
 * Every chain of 1..depth steps, each step base64 (at its 3 alignments, standard alphabet) or
 * hex (lowercase; uppercase too where another step follows, since case is folded only on the
 * outside). The outermost base64 is also given in its url-safe alphabet. Per secret this is at
 * most 5 + 25 + 125 chains for depth 3, plus the url-safe ones.
 */
export function nestedForms(
  bytes: Uint8Array,
  depth = NESTING_DEPTH,
): [name: string, form: string][] {
  const forms: [string, string][] = [];
  let level: Chain[] = [{ name: "", bytes: Buffer.from(bytes) }];
  for (let step = 1; step <= depth; step++) {
    const next: Chain[] = [];
    for (const chain of level) {
      const inner = chain.name === "" ? "S" : chain.name;
      for (const offset of [0, 1, 2]) {
        const fragment = base64Fragment(chain.bytes, offset);
        if (fragment.length < MIN_FRAGMENT_LENGTH) continue;
        next.push({ name: `base64(${inner})`, bytes: Buffer.from(fragment, "latin1") });
        forms.push([`base64(${inner})`, fragment]);
        forms.push([`base64url(${inner})`, fragment.replace(/\+/g, "-").replace(/\//g, "_")]);
      }
      const hex = chain.bytes.toString("hex");
      next.push({ name: `hex(${inner})`, bytes: Buffer.from(hex, "latin1") });
      forms.push([`hex(${inner})`, hex]);
      if (step < depth)
        next.push({ name: `HEX(${inner})`, bytes: Buffer.from(hex.toUpperCase(), "latin1") });
    }
    level = next;
  }
  return forms;
}
