// gitleaks rules for the bottle's own secrets, so the gate refuses a push that carries one
// (plain, hex, base64 or URL-encoded, as pipelock's DLP does for requests). The text holds
// secret values: it travels only in the gate's environment (GIT_GATE_SECRET_RULES, filled
// by `compose up` from its own environment) and is written only inside the gate container.
import { secretVariants } from "../../shared/dlp/index.js";

/** One [[rules]] table per secret; empty when there are none. */
export function renderSecretRules(secrets: ReadonlyArray<{ name: string; value: string }>): string {
  return secrets
    .filter((s) => s.value !== "")
    .map((secret, i) => {
      const forms = new Set([
        secret.value,
        ...secretVariants(secret)
          .filter((v) => v.encoding !== "verbatim")
          .map((v) => v.text),
      ]);
      const regex = [...forms].map(escapeForRe2).join("|");
      return [
        "[[rules]]",
        `id = "bottle-secret-${i}"`,
        `description = "a secret this bottle holds (${secret.name})"`,
        `regex = '''${regex}'''`,
        "",
      ].join("\n");
    })
    .join("\n");
}

/** Letters and digits as they are, everything else as \x{…}: no quote or metacharacter survives. */
function escapeForRe2(text: string): string {
  let out = "";
  for (const ch of text) {
    out += /[A-Za-z0-9]/.test(ch) ? ch : `\\x{${(ch.codePointAt(0) ?? 0).toString(16)}}`;
  }
  return out;
}

/**
 * The secrets back out of the rules renderSecretRules wrote (the gate's only copy of them):
 * each rule's first alternative is the value itself. A bottle-secret rule that does not
 * read back is an error, never a secret quietly dropped.
 */
export function parseSecretRules(text: string): { name: string; value: string }[] {
  const secrets: { name: string; value: string }[] = [];
  for (const block of text.split(/^\[\[rules\]\]$/m).slice(1)) {
    if (!/^id = "bottle-secret-\d+"$/m.test(block)) continue;
    const name = /^description = "a secret this bottle holds \((.*)\)"$/m.exec(block)?.[1];
    const regex = /^regex = '''(.*)'''$/m.exec(block)?.[1];
    const first = regex?.split("|")[0];
    if (
      name === undefined ||
      first === undefined ||
      !/^(?:[A-Za-z0-9]|\\x\{[0-9a-f]+\})+$/.test(first)
    ) {
      throw new Error("a bottle-secret rule does not read back as a secret");
    }
    const value = first.replace(/\\x\{([0-9a-f]+)\}/g, (_, hex: string) =>
      String.fromCodePoint(Number.parseInt(hex, 16)),
    );
    secrets.push({ name, value });
  }
  return secrets;
}
