// Substitution ciphers a leak may pass a secret through: Caesar shifts over letters and
// digits (rot13, rot5, rot18 and every other shift), over the 94 printable ASCII characters
// (rot47 and the rest), and Atbash. Each maps a character to one character, so a form is as
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

/** Every cipher form of `text`, with the name of its cipher; the identity is left out. */
export function cipherForms(text: string): [name: string, form: string][] {
  const forms: [string, string][] = [];
  for (let letters = 0; letters < 26; letters++) {
    for (let digits = 0; digits < 10; digits++) {
      if (letters + digits > 0)
        forms.push([`rot${letters}/digits${digits}`, rot(text, letters, digits)]);
    }
  }
  for (let shift = 1; shift < 94; shift++)
    forms.push([`rot${shift}-printable`, rotPrintable(text, shift)]);
  forms.push(["atbash", atbash(text, false)], ["atbash-digits", atbash(text, true)]);
  return forms;
}
