// What a reader makes of a response body that the byte-level engine does not undo by itself:
// percent-escapes in any case and on any subset of characters, HTML character references
// (numeric and the common named ones), and backslash escapes in the syntax of common languages
// (\uXXXX, \u{X}, \UXXXXXXXX, \xXX, octal \NNN). Each escape kind is undone only where its
// marker occurs, and the undone text is undone again (an entity hiding a percent-escape) up to
// MAX_ROUNDS times. Text is a latin1 string of bytes throughout, as in the DLP engine; a code
// point is written as its UTF-8 bytes.

export interface ReaderView {
  /** "unescaped", "unescaped-2", ...: appended to a finding's place. */
  name: string;
  text: string;
}

const MAX_ROUNDS = 3;

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  sol: "/",
  bsol: "\\",
  colon: ":",
  semi: ";",
  period: ".",
  comma: ",",
  hyphen: "-",
  dash: "-",
  lowbar: "_",
  equals: "=",
  plus: "+",
  num: "#",
  percnt: "%",
  excl: "!",
  quest: "?",
  commat: "@",
  dollar: "$",
  ast: "*",
  tilde: "~",
  grave: "`",
  lpar: "(",
  rpar: ")",
  lsqb: "[",
  rsqb: "]",
  lcub: "{",
  rcub: "}",
  verbar: "|",
  Hat: "^",
  NewLine: "\n",
  Tab: "\t",
};

const ESCAPES =
  /%([0-9a-f]{2})|&#x([0-9a-f]{1,8});?|&#([0-9]{1,10});?|&([a-z]{2,8});|\\u\{([0-9a-f]{1,8})\}|\\u([0-9a-f]{4})|\\U([0-9a-f]{8})|\\x([0-9a-f]{2})|\\([0-7]{1,3})/gi;
const MARKER = /[%&\\]/;

/** The views of `input` that differ from it; none when it has no escape marker. */
export function readerViews(input: Uint8Array | string): ReaderView[] {
  let text =
    typeof input === "string"
      ? input
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("latin1");
  const views: ReaderView[] = [];
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    if (!MARKER.test(text)) break;
    const next = unescapeText(text);
    if (next === text) break;
    views.push({ name: round === 1 ? "unescaped" : `unescaped-${round}`, text: next });
    text = next;
  }
  return views;
}

/** Undoes every escape above once, left to right. */
export function unescapeText(text: string): string {
  return text.replace(ESCAPES, (whole, pct, hexRef, decRef, named, brace, u4, u8, x2, octal) => {
    if (pct !== undefined) return String.fromCharCode(Number.parseInt(pct, 16));
    if (x2 !== undefined) return String.fromCharCode(Number.parseInt(x2, 16));
    if (octal !== undefined) return String.fromCharCode(Number.parseInt(octal, 8) & 0xff);
    if (named !== undefined) {
      const value = NAMED_ENTITIES[named] ?? NAMED_ENTITIES[named.toLowerCase()];
      return value === undefined ? whole : utf8Latin1(value.codePointAt(0) ?? 0);
    }
    const hex = hexRef ?? brace ?? u4 ?? u8;
    const codePoint = hex !== undefined ? Number.parseInt(hex, 16) : Number(decRef);
    return utf8Latin1(codePoint);
  });
}

/** A code point as its UTF-8 bytes in a latin1 string; out of range, U+FFFD. */
function utf8Latin1(codePoint: number): string {
  const valid = Number.isInteger(codePoint) && codePoint >= 0 && codePoint <= 0x10ffff;
  const cp = valid && !(codePoint >= 0xd800 && codePoint <= 0xdfff) ? codePoint : 0xfffd;
  if (cp < 0x80) return String.fromCharCode(cp);
  return Buffer.from(String.fromCodePoint(cp), "utf8").toString("latin1");
}
