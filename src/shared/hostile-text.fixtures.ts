// Test fixtures: text a hostile agent can put in a ref name, a path, a proposal field or a
// log line, and an oracle that finds any character of it that reached output raw. The oracle
// is written apart from terminal-text.ts (plain code point ranges) so it checks that module
// rather than repeating it.

export const HOSTILE_TEXT: Readonly<Record<string, string>> = {
  "CSI clear screen": "a\x1b[2J\x1b[Hb",
  "OSC window title with BEL": "x\x1b]0;pwned\x07y",
  "OSC 8 hyperlink with ST": "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
  "C1 CSI": "a\u009b31mb",
  "C1 OSC": "a\u009d0;t\u009cb",
  DEL: "a\x7fb",
  NUL: "a\x00b",
  "carriage return overwrite": "safe\rEVIL",
  backspace: "evil\b\b\b\bsafe",
  newline: "fix\nwarning: all good",
  tab: "a\tb",
  "RLO display spoof": "fix\u202Etxt.exe",
  "LRE/RLE/PDF/LRO": "\u202A\u202B\u202C\u202D",
  "isolates LRI RLI FSI PDI": "\u2066a\u2067b\u2068c\u2069",
  "LRM RLM ALM": "\u200E\u200F\u061C",
  "zero-width space/joiners": "ma\u200Bi\u200Cn\u200D\u2060",
  BOM: "\uFEFFmain",
  "line and paragraph separators": "a\u2028b\u2029c",
  "soft hyphen": "ma\u00ADin",
  "tag characters": "main\u{E0041}\u{E007F}",
  "hangul filler": "a\u3164b",
  "variation selector": "a\uFE0Fb",
  "no-break and ideographic spaces": "a\u00A0b\u3000c",
  "lone high surrogate": "a\uD800b",
  "lone low surrogate": "a\uDC00b",
  "private use": "a\uE000b",
};

/** Every hostile string at once, for one line of output that must come out clean. */
export const ALL_HOSTILE = Object.values(HOSTILE_TEXT).join("|");

const RAW_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x00, 0x08],
  [0x0b, 0x1f], // \n (0x0a) and \t (0x09) are the caller's: see rawControlsIn's `allow`
  [0x7f, 0x9f],
  [0xa0, 0xa0],
  [0xad, 0xad],
  [0x061c, 0x061c],
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0x2060, 0x2069],
  [0x3000, 0x3000],
  [0x3164, 0x3164],
  [0xfe0f, 0xfe0f],
  [0xfeff, 0xfeff],
  [0xe000, 0xe000],
  [0xe0000, 0xe007f],
  [0xd800, 0xdfff],
];

/**
 * The characters of `output` a terminal would act on or hide, as `U+XXXX` strings: empty when
 * it is clean. `\n` and `\t` count unless `allow` says the output is several lines.
 */
export function rawControlsIn(
  output: string,
  allow: { newline?: boolean; tab?: boolean } = {},
): string[] {
  const found: string[] = [];
  for (const ch of output) {
    const cp = ch.codePointAt(0) ?? 0;
    const bad =
      (cp === 0x0a && allow.newline !== true) ||
      (cp === 0x09 && allow.tab !== true) ||
      RAW_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi);
    if (bad) found.push(`U+${cp.toString(16).toUpperCase().padStart(4, "0")}`);
  }
  return found;
}
