// How much a name may say where the bottle does not choose the words: the labels a "*.domain"
// rule matched, and every label of a name asked of a DNS-over-HTTPS server. Each label the
// agent makes up there reaches whoever runs the domain's name server, so a label that is too
// long, or reads like encoded data rather than a name, is refused. Pure.

export interface WildcardLabelBound {
  /** The longest label allowed. */
  maxLength: number;
  /**
   * Names whose letters and digits (separators dropped) number at least this many are judged
   * for randomness; shorter ones carry too little to matter.
   */
  randomMinLength: number;
}

export type LabelProblem =
  | { kind: "too-long"; length: number; limit: number }
  | { kind: "random"; length: number; limit: number; reason: string };

/** Consonant pairs common in English and in names made of English words. */
const COMMON_CONSONANT_PAIRS = new Set(
  (
    "bl br by ch ck cl cr ct dr fl fr ft gh gl gr gs hn ht kn ks ld lf lk ll lm lp ls lt ly " +
    "mb mm mp ms my nc nd ng nk nn ns nt ny ph pl pp pr ps pt rb rc rd rf rg rk rl rm rn rp " +
    "rr rs rt ry sc sh sk sl sm sn sp ss st sy th tl tr ts tt tw ty wh wn wr ws xt"
  ).split(" "),
);
const VOWEL = /[aeiouy]/;
const DIGIT = /[0-9]/;
/** Share of letter pairs that are digit/letter switches or rare consonant pairs. */
const ODD_PAIR_SHARE = 0.2;
/** This many one- or two-letter pieces: a blob cut small so no piece looks like anything. */
const SHORT_PIECES = 4;

/** Why `labels` say too much, or undefined when they read like a name. */
export function labelProblem(
  labels: readonly string[],
  bound: WildcardLabelBound,
): LabelProblem | undefined {
  for (const label of labels) {
    if (label.length > bound.maxLength) {
      return { kind: "too-long", length: label.length, limit: bound.maxLength };
    }
  }
  const reason = randomness(labels.join("."), bound.randomMinLength);
  if (reason === undefined) return undefined;
  const length = labels.join("").replace(/[^a-z0-9]/gi, "").length;
  return { kind: "random", length, limit: bound.randomMinLength, reason };
}

/**
 * Why `text` reads like encoded data: hex (or decimal) throughout; cut into many tiny pieces;
 * or, counting letter pairs inside each piece, one in five or more a switch between letters
 * and digits or a consonant pair English names rarely have ("xq", "zk", "vj"). Base32 and hex
 * blobs of 16 characters fail it; names like "us-east-1", "my-bucket-name" and
 * "objects-origin" pass.
 */
export function randomness(text: string, minLength: number): string | undefined {
  const pieces = text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const payload = pieces.join("");
  if (payload.length < minLength) return undefined;
  if (/^[0-9a-f]+$/.test(payload)) return "it is all hexadecimal digits";
  if (pieces.filter((p) => p.length <= 2 && /[a-z]/.test(p)).length >= SHORT_PIECES) {
    return "it is cut into many one- or two-letter pieces";
  }
  let pairs = 0;
  let odd = 0;
  for (const piece of pieces) {
    for (let i = 1; i < piece.length; i++) {
      pairs++;
      const a = piece[i - 1] as string;
      const b = piece[i] as string;
      const digitA = DIGIT.test(a);
      if (digitA !== DIGIT.test(b)) odd++;
      else if (!digitA && !VOWEL.test(a) && !VOWEL.test(b) && !COMMON_CONSONANT_PAIRS.has(a + b)) {
        odd++;
      }
    }
  }
  if (pairs > 0 && odd / pairs >= ODD_PAIR_SHARE) {
    return "it mixes letters and digits, or consonants, the way encoded data does";
  }
  return undefined;
}
