// Per-character spellings of a secret: each character written as a number or an escape in the
// syntax of a common language, as a one-character string in a list, repeated, or as its
// fullwidth compatibility form. Arrays need no forms of their own: "[115, 101, ...]" holds
// "115, 101, ..." and the literal is found inside it.

/** Separators between numbers in a list or a dump. */
const NUMBER_JOINS = [",", ", ", " ", ";", "; ", "\n"] as const;

export function perCharacterForms(value: string): [name: string, form: string][] {
  const chars = [...value];
  const points = chars.map((c) => c.codePointAt(0) as number);
  const bytes = [...Buffer.from(value, "utf8")];
  const units = Array.from({ length: value.length }, (_, i) => value.charCodeAt(i));
  const hex = (n: number, width = 2) => n.toString(16).padStart(width, "0");
  const forms: [string, string][] = [];
  for (const between of NUMBER_JOINS) {
    forms.push(["decimal-code-points", points.join(between)]);
    forms.push(["decimal-bytes", bytes.join(between)]);
    forms.push(["hex-code-points", points.map((n) => hex(n)).join(between)]);
    forms.push(["hex-code-points", points.map((n) => `0x${hex(n)}`).join(between)]);
  }
  forms.push(["binary-bytes", bytes.map((b) => b.toString(2).padStart(8, "0")).join(" ")]);
  forms.push(["binary-bytes", bytes.map((b) => b.toString(2).padStart(8, "0")).join("")]);
  const escapes: [string, (string | number)[]][] = [
    // JS, JSON, Java, Python, C#: UTF-16 code units.
    ["\\u", units.map((n) => `\\u${hex(n, 4)}`)],
    // ES2015 and Rust, Perl, PCRE: code points.
    ["\\u{}", points.map((n) => `\\u{${hex(n, 1)}}`)],
    ["\\x{}", points.map((n) => `\\x{${hex(n, 1)}}`)],
    // C, Python, shell printf: octal bytes.
    ["\\octal", bytes.map((b) => `\\${b.toString(8).padStart(3, "0")}`)],
    // JavaScript's escape().
    ["%u", units.map((n) => `%u${hex(n, 4)}`)],
    ["&#decimal;", points.map((n) => `&#${n};`)],
    ["&#xhex;", points.map((n) => `&#x${hex(n, 1)};`)],
    // Python, C: eight-digit code points.
    ["\\U", points.map((n) => `\\U${hex(n, 8)}`)],
  ];
  for (const [name, parts] of escapes) forms.push([`escape ${name}`, parts.join("")]);
  const single = chars.map((c) => `'${c.replace(/[\\']/g, "\\$&")}'`);
  const double = chars.map((c) => JSON.stringify(c));
  for (const between of [",", ", ", "+", " + "]) {
    forms.push(["character-strings", single.join(between)]);
    forms.push(["character-strings", double.join(between)]);
  }
  forms.push(["repeated", chars.map((c) => c.repeat(2)).join("")]);
  forms.push(["repeated", chars.map((c) => c.repeat(3)).join("")]);
  forms.push(["fullwidth", fullwidth(value)]);
  // The engine matches bytes: a form is the latin1 string of its UTF-8 bytes.
  return forms.map(([name, form]) => [name, Buffer.from(form, "utf8").toString("latin1")]);
}

/** ASCII "!".."~" as U+FF01..U+FF5E and the space as U+3000, the fullwidth forms NFKC undoes. */
export function fullwidth(value: string): string {
  return value.replace(/[ -~]/g, (c) =>
    c === " " ? "\u3000" : String.fromCharCode(c.charCodeAt(0) + 0xfee0),
  );
}
