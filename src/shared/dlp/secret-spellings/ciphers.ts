// Substitution ciphers a leak may pass a secret through: Caesar shifts over letters (every
// N, rot13 among them), over digits (every N, rot5 among them), both (rot18), over the 94
// printable ASCII characters (rot47), and Atbash. Each maps a character to one character, so a form is as
// long as the secret; characters outside the cipher's alphabet stay as they are.

/** Letters shifted by `letters` (0..25), digits by `digits` (0..9). */
export function rot(text: string, letters: number, digits: number): string {
  return text.replace(/[A-Za-z0-9]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code <= 0x39) return String.fromCharCode(0x30 + ((code - 0x30 + digits) % 10));
    const base = code >= 0x61 ? 0x61 : 0x41;
    return String.fromCharCode(base + ((code - base + letters) % 26));
  });
}

/** Printable ASCII ("!".."~") shifted by `shift` (1..93); rot47 is 47. */
export function rotPrintable(text: string, shift: number): string {
  return text.replace(/[!-~]/g, (c) =>
    String.fromCharCode(0x21 + ((c.charCodeAt(0) - 0x21 + shift) % 94)),
  );
}

/** Atbash: a↔z, b↔y, ...; with `digits`, also 0↔9, 1↔8, .... */
export function atbash(text: string, digits: boolean): string {
  return text.replace(/[A-Za-z0-9]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code <= 0x39) return digits ? String.fromCharCode(0x39 - (code - 0x30)) : c;
    const base = code >= 0x61 ? 0x61 : 0x41;
    return String.fromCharCode(base + 25 - (code - base));
  });
}

/**
 * Every cipher form of `text`, with the name of its cipher; the identity is left out. Shifts
 * move letters or digits, not both at once, apart from rot18 (rot13 with rot5): each form
 * costs automaton states, and a product of all shifts (259 forms) made the automaton of a
 * bottle with many secrets take seconds to build.
 */
export function cipherForms(text: string): [name: string, form: string][] {
  const forms: [string, string][] = [];
  for (let letters = 1; letters < 26; letters++)
    forms.push([`rot${letters}`, rot(text, letters, 0)]);
  for (let digits = 1; digits < 10; digits++)
    forms.push([`rot${digits}-digits`, rot(text, 0, digits)]);
  forms.push(["rot18", rot(text, 13, 5)]);
  forms.push(["rot47-printable", rotPrintable(text, 47)]);
  forms.push(["atbash", atbash(text, false)], ["atbash-digits", atbash(text, true)]);
  return forms;
}
