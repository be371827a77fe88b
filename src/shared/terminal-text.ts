// The one printer for text that came out of a bottle (ref and branch names, paths, hostnames,
// proposal fields, log lines): a terminal shows every character of it and acts on none.
// Also the one way to print a command the user may paste: built from an argv array and quoted
// so that pasting it runs that command and nothing else. This module must never pass a
// character through that a terminal interprets (controls, escape sequences) or hides
// (bidi overrides, zero-width and other invisible format characters).

export interface TerminalSafeOptions {
  /**
   * Keep `\n` and `\t` as they are, for text that is printed as several lines (a proposal's
   * justification, a log). By default the text is one line and they are shown escaped.
   */
  multiline?: boolean;
  /**
   * At most this many characters of output (a table column): the rest is cut at a whole
   * character or escape, never inside one, and `…` marks the cut.
   */
  max?: number;
}

// Invisible or blank-looking characters outside the Unicode "C" and "Z" categories: Hangul
// fillers, the combining grapheme joiner, variation selectors, Mongolian free variation
// selectors, Khmer inherent vowels, the braille blank.
const INVISIBLE_EXTRA: ReadonlyArray<readonly [number, number]> = [
  [0x034f, 0x034f],
  [0x115f, 0x1160],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x2800, 0x2800],
  [0x3164, 0x3164],
  [0xfe00, 0xfe0f],
  [0xffa0, 0xffa0],
  [0xe0100, 0xe01ef],
];

// Cc: C0, DEL and C1 controls. Cf: format characters (bidi marks, overrides and isolates,
// zero-width space/joiners, soft hyphen, tags, U+061C). Zl/Zp: U+2028/U+2029. Cs: a lone
// surrogate. Co/Cn: private-use and unassigned code points, which render as anything a font
// likes. Zs except the ASCII space: spaces that look like a space but are not one.
const ESCAPED_CATEGORY = /^[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}\p{Zs}]$/u;

/** True when `terminalSafe` would show this one code point escaped (a backslash aside). */
export function isUnsafeCodePoint(ch: string): boolean {
  if (ch === " ") return false;
  if (ESCAPED_CATEGORY.test(ch)) return true;
  const cp = ch.codePointAt(0) ?? 0;
  return INVISIBLE_EXTRA.some(([lo, hi]) => cp >= lo && cp <= hi);
}

function escapeCodePoint(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  if (ch === "\n") return "\\n";
  if (ch === "\t") return "\\t";
  if (ch === "\r") return "\\r";
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\u{${cp.toString(16)}}`;
}

/**
 * Bottle-derived text made safe to write to a terminal. Every control (C0, DEL, C1), bidi
 * mark, override or isolate, line or paragraph separator, invisible format character, lone
 * surrogate, private-use or unassigned code point and non-ASCII space is shown as an escape
 * in JavaScript notation (`\x1b`, `\u202e`, `\u{e0041}`, `\n`). A backslash is shown doubled
 * (`\\`), so every backslash in the output starts an escape and `\x1b` in the output can
 * only mean the character ESC was in the input, never the four characters `\x1b`.
 */
export function terminalSafe(text: string, options: TerminalSafeOptions = {}): string {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const pieces: string[] = [];
  let length = 0;
  // for..of walks code points; a lone surrogate comes out as one unpaired code unit.
  for (const ch of text) {
    let piece = ch;
    if (ch === "\\") piece = "\\\\";
    else if (options.multiline === true && (ch === "\n" || ch === "\t")) piece = ch;
    else if (isUnsafeCodePoint(ch)) piece = escapeCodePoint(ch);
    if (length + piece.length > max) {
      // Cut at a whole piece (a character or an escape) so that the rest and `…` fit.
      while (length > max - 1 && pieces.length > 0) length -= pieces.pop()?.length ?? 0;
      return max < 1 ? "" : `${pieces.join("")}…`;
    }
    pieces.push(piece);
    length += piece.length;
  }
  return pieces.join("");
}

/**
 * The safety net under everything the CLI writes: each character `terminalSafe` would escape
 * written as `\uXXXX` (per UTF-16 unit), except `\n` and `\t` unless `multiline` is false;
 * backslashes left as they are.
 * So it changes nothing in text already made safe, and in JSON it only replaces raw
 * characters inside strings with escapes that parse to the same value. Not unambiguous like
 * `terminalSafe` (a backslash is not doubled): the printer for bottle-derived text is
 * `terminalSafe`; this is for whatever reached the output without it.
 */
export function defuseControls(text: string, options: { multiline?: boolean } = {}): string {
  const lines = options.multiline !== false;
  let out = "";
  for (const ch of text) {
    if (!(lines && (ch === "\n" || ch === "\t")) && isUnsafeCodePoint(ch)) {
      for (let i = 0; i < ch.length; i++) {
        out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
      }
    } else out += ch;
  }
  return out;
}

/** True when the text holds nothing `terminalSafe` would change. */
export function isTerminalSafe(text: string): boolean {
  return terminalSafe(text) === text;
}

// Words that mean the same bare as quoted in every POSIX shell, in any position: no
// expansion, globbing, assignment (`=`), tilde or brace character.
const BARE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

/**
 * One word quoted for a POSIX shell: bare when it is plainly safe, else in single quotes
 * (`'it'\''s'`). A backslash is written outside the quotes as `\\` so the result also reads
 * the same in fish, whose single quotes treat a backslash specially. A word holding a
 * character `terminalSafe` would escape is written in ANSI-C quotes with those characters as
 * UTF-8 `\xHH` escapes (`$'a\x1bb'`): shown safely, pasted into bash, zsh, ksh or a POSIX 2024
 * sh it is that exact word; an older sh reads it as a literal string, never as an expansion
 * or a second command. A lone surrogate is written as U+FFFD, which is what Node passes to the
 * system in its place.
 */
export function shellQuote(word: string): string {
  if (word !== "" && BARE_WORD.test(word)) return word;
  if (!hasUnsafe(word)) {
    const parts = word.split(/(['\\])/);
    let out = "";
    for (const part of parts) {
      if (part === "'") out += "\\'";
      else if (part === "\\") out += "\\\\";
      else if (part !== "") out += `'${part}'`;
    }
    return out === "" ? "''" : out;
  }
  // Inside $'…' a quote and a backslash are written as \x27 and \x5c, never as \' and \\:
  // a shell without $'…' reads the whole as $ and one single-quoted literal, which a \'
  // would end early. A hex digit right after an escape is escaped too: POSIX leaves
  // \x with more than two hex digits unspecified.
  let out = "$'";
  let afterEscape = false;
  for (const ch of word) {
    const escaped: boolean =
      ch === "'" || ch === "\\" || isUnsafeCodePoint(ch) || (afterEscape && /^[0-9a-f]$/i.test(ch));
    if (escaped) {
      for (const b of Buffer.from(ch, "utf8")) out += `\\x${b.toString(16).padStart(2, "0")}`;
    } else out += ch;
    afterEscape = escaped;
  }
  return `${out}'`;
}

function hasUnsafe(word: string): boolean {
  for (const ch of word) if (isUnsafeCodePoint(ch)) return true;
  return false;
}

/**
 * A command the user may paste, from its argv: each word quoted by `shellQuote`. Pasting it
 * runs that command with those arguments and nothing else. Quoting cannot stop a word that
 * starts with `-` from being read as an option by the program: callers put `--` (or
 * `--end-of-options`) before words that may start with one.
 */
export function shellCommandLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/**
 * JSON for a terminal: valid JSON that parses to the same value, with every character
 * `terminalSafe` would escape written as a `\uXXXX` escape. JSON.stringify already escapes
 * C0 controls and lone surrogates; this adds DEL, C1, bidi and format characters, U+2028/9
 * and the rest, which it leaves raw.
 */
export function terminalSafeJson(value: unknown, space?: number): string {
  return defuseControls(JSON.stringify(value, null, space) ?? "null");
}
