// Recognises values that look like credentials, so that a manifest which holds one is
// rejected before it is ever used. Manifests name host variables; they never carry
// secrets. Errors built from these checks must never echo the value itself.

const KNOWN_SECRETS: readonly { kind: string; pattern: RegExp }[] = [
  { kind: "a private key", pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/ },
  { kind: "an AWS access key", pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b/ },
  { kind: "a GitHub token", pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})/ },
  { kind: "an Anthropic API key", pattern: /\bsk-ant-[A-Za-z0-9_-]{16,}/ },
  { kind: "an OpenAI API key", pattern: /\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}/ },
  { kind: "a Slack token", pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { kind: "a Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { kind: "a Stripe key", pattern: /\b[rs]k_live_[0-9A-Za-z]{16,}/ },
  { kind: "a GitLab token", pattern: /\bglpat-[0-9A-Za-z_-]{20,}/ },
];

/** "a GitHub token" when `value` contains a credential of a known kind. */
export function knownSecretKind(value: string): string | undefined {
  return KNOWN_SECRETS.find(({ pattern }) => pattern.test(value))?.kind;
}

/** `text` with every credential of a known kind replaced by "[secret]", for messages. */
export function redactSecrets(text: string): string {
  return KNOWN_SECRETS.reduce(
    (out, { pattern }) => out.replace(new RegExp(pattern.source, "g"), "[secret]"),
    text,
  );
}

/** Whether a variable of this name is meant to hold a credential. */
export function nameSuggestsSecret(name: string): boolean {
  return /TOKEN|SECRET|KEY|PASSWORD|PASSWD|CREDENTIAL/i.test(name);
}

/**
 * A long random-looking string: one run of at least 20 token characters (no spaces, no
 * "://", not a path), letters mixed with digits, and more than 3.5 bits of entropy per
 * character (English words stay well below that).
 */
export function looksRandom(value: string): boolean {
  if (value.length < 20 || !/^[A-Za-z0-9+/=_.~-]+$/.test(value) || /^[/.~]/.test(value)) {
    return false;
  }
  if (!/[A-Za-z]/.test(value) || !/[0-9]/.test(value)) return false;
  return shannonEntropy(value) > 3.5;
}

/**
 * Why a literal env value must not be in a manifest, or undefined when it may be: a known
 * credential anywhere, or a random-looking string in a variable whose name says secret.
 */
export function literalSecretKind(name: string, value: string): string | undefined {
  const known = knownSecretKind(value);
  if (known !== undefined) return known;
  return nameSuggestsSecret(name) && looksRandom(value) ? "a secret" : undefined;
}

function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}
