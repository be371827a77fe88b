// Takes route tokens back out of what egress relays to the agent. An upstream that echoes a
// request (debug endpoints, error pages, redirects, cookies) would otherwise hand the agent
// the token egress added, in the clear or encoded. Every form the DLP knows (verbatim, hex,
// URL-encoded, base64 and base64url at each alignment) and the JSON-escaped one is replaced
// by the same form of a placeholder of the token's own length, so the replacement keeps
// Content-Length, byte offsets and base64/hex alignment: an echoed token decodes to the
// placeholder and the bytes around it decode as before. Where a form's length is not the
// placeholder's (URL- or JSON-escaped tokens), a placeholder of that form's length is used.
// Never log or return what this module is given.
import { secretVariants } from "../../shared/dlp/index.js";
import { base64Fragment } from "../../shared/dlp/known-secrets.js";
import type { ResolvedRoute } from "./routes-config.js";

export interface TokenForm {
  from: Buffer;
  to: Buffer;
}

const PLACEHOLDER_PATTERN = "egress-placeholder-";

/** What the agent sees instead of a `length`-byte token: only [a-z-], so no form escapes it. */
export function placeholderOf(length: number): string {
  return PLACEHOLDER_PATTERN.repeat(Math.ceil(length / PLACEHOLDER_PATTERN.length)).slice(
    0,
    length,
  );
}

/** The token values behind each route's header: the credential, and for Basic "user:pass". */
export function routeSecrets(routes: readonly ResolvedRoute[]): string[] {
  const secrets = new Set<string>();
  for (const r of routes) {
    const value = r.header.value;
    // Only Authorization carries "<scheme> <credential>"; other headers carry it whole.
    const credential =
      r.header.name === "authorization" ? value.slice(value.indexOf(" ") + 1) : value;
    secrets.add(credential);
    if (r.scheme === "Basic") {
      const decoded = Buffer.from(credential, "base64");
      if (decoded.toString("base64") === credential) secrets.add(decoded.toString("utf8"));
    }
  }
  return [...secrets].filter((s) => s.length > 0);
}

/** Every form of every secret with its replacement, longest first. */
export function tokenForms(secrets: readonly string[]): TokenForm[] {
  const forms = new Map<string, Buffer>();
  const add = (from: string, to: string) => {
    if (from.length > 0 && from !== to && !forms.has(from))
      forms.set(from, Buffer.from(to, "latin1"));
  };
  for (const secret of secrets) {
    const bytes = Buffer.from(secret, "utf8");
    const placeholder = Buffer.from(placeholderOf(bytes.length), "latin1");
    for (const variant of secretVariants({ name: "route token", value: secret })) {
      add(variant.text, replacementFor(variant.encoding, variant.text, bytes, placeholder));
    }
    const json = JSON.stringify(secret).slice(1, -1);
    add(json, placeholderOf(json.length));
    const jsonSlashes = json.replace(/\//g, "\\/");
    add(jsonSlashes, placeholderOf(jsonSlashes.length));
  }
  return [...forms]
    .map(([from, to]) => ({ from: Buffer.from(from, "latin1"), to }))
    .sort((a, b) => b.from.length - a.from.length);
}

function replacementFor(
  encoding: string,
  text: string,
  bytes: Buffer,
  placeholder: Buffer,
): string {
  switch (encoding) {
    case "verbatim":
      return placeholder.toString("latin1");
    case "hex":
      return text === text.toLowerCase()
        ? placeholder.toString("hex")
        : placeholder.toString("hex").toUpperCase();
    case "base64":
    case "base64url":
      for (const offset of [0, 1, 2]) {
        const plain = base64Fragment(bytes, offset);
        const url = plain.replace(/\+/g, "-").replace(/\//g, "_");
        if (text !== (encoding === "base64" ? plain : url)) continue;
        const mine = base64Fragment(placeholder, offset);
        return encoding === "base64" ? mine : mine.replace(/\+/g, "-").replace(/\//g, "_");
      }
      return placeholderOf(text.length);
    default:
      return placeholderOf(text.length);
  }
}

/** Replaces every form in a whole text (a header value): nothing is held back. */
export function scrubText(forms: readonly TokenForm[], text: string): string {
  if (forms.length === 0) return text;
  const out = new TokenScrubber(forms).finish(Buffer.from(text, "latin1"));
  return out.toString("latin1");
}

/**
 * Replaces forms in a stream. A form split across chunks is still found: only the bytes at
 * the end of a chunk that could begin a form are held back until the next one, so a stream
 * whose chunks end in anything else (an event's blank line) is passed on at once.
 */
export class TokenScrubber {
  readonly #forms: readonly TokenForm[];
  #pending: Buffer = Buffer.alloc(0);

  constructor(forms: readonly TokenForm[]) {
    this.#forms = forms;
  }

  push(chunk: Buffer): Buffer {
    return this.#scan(
      this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]),
      false,
    );
  }

  /** The rest of the stream, with `last` (if any) appended first. */
  finish(last: Buffer = Buffer.alloc(0)): Buffer {
    return this.#scan(
      this.#pending.length === 0 ? last : Buffer.concat([this.#pending, last]),
      true,
    );
  }

  #scan(data: Buffer, final: boolean): Buffer {
    const parts: Buffer[] = [];
    let pos = 0;
    for (;;) {
      let at = -1;
      let found: TokenForm | undefined;
      for (const form of this.#forms) {
        const i = data.indexOf(form.from, pos);
        // Forms are longest first: at the same offset the longer one wins.
        if (i !== -1 && (at === -1 || i < at)) {
          at = i;
          found = form;
        }
      }
      if (found === undefined) break;
      parts.push(data.subarray(pos, at), found.to);
      pos = at + found.from.length;
    }
    const keep = final ? 0 : this.#heldBack(data, pos);
    parts.push(data.subarray(pos, data.length - keep));
    this.#pending = Buffer.from(data.subarray(data.length - keep));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** The length of the longest tail of data[pos..] that is a proper prefix of some form. */
  #heldBack(data: Buffer, pos: number): number {
    let longest = 0;
    const available = data.length - pos;
    for (const form of this.#forms) {
      const max = Math.min(form.from.length - 1, available);
      for (let k = max; k > longest; k--) {
        if (data.compare(form.from, 0, k, data.length - k, data.length) === 0) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  }
}
