// What an agent may ask for, checked on both sides of the queue: the sidecar refuses a
// malformed request before it reaches a human, and the host checks again before it writes
// the value into pipelock's policy or the gate's allowlist. Exact hosts only: a wildcard is
// a policy decision for the bottle's manifest, not for a one-off approval.
import { isIP } from "node:net";

export type Normalized<T> = { ok: true; value: T } | { ok: false; message: string };

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;

/** Lowercases, drops a trailing dot and IPv6 brackets, canonicalises addresses. */
export function normalizeEgressHost(raw: string): Normalized<string> {
  const text = raw.trim();
  if (text === "") return { ok: false, message: "host must not be empty" };
  if (text.includes("*")) {
    return {
      ok: false,
      message: `"${text}": ask for one exact host; wildcards belong in the bottle's manifest`,
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return { ok: false, message: `"${text}": give the host name alone, not a URL` };
  }
  const unbracketed = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const lower = unbracketed.toLowerCase();
  if (isIP(lower) === 6) {
    return { ok: true, value: new URL(`http://[${lower}]/`).hostname.slice(1, -1) };
  }
  if (isIP(lower) === 4) return { ok: true, value: lower };
  if (/^[^:]+:\d+$/.test(text)) {
    return { ok: false, message: `"${text}": give the port in the port argument` };
  }
  const name = lower.endsWith(".") ? lower.slice(0, -1) : lower;
  const labels = name.split(".");
  if (name.length === 0 || name.length > 253 || !labels.every((l) => LABEL.test(l))) {
    return { ok: false, message: `"${text}" is not a host name or an IP address` };
  }
  // "127.1" or "2130706433": resolvers read these as addresses; ask for the address itself.
  if (/^(?:0x[0-9a-f]*|[0-9]+)$/.test(labels[labels.length - 1] ?? "")) {
    return { ok: false, message: `"${text}" looks like an address; give it in dotted form` };
  }
  return { ok: true, value: name };
}

/** Null when `host` is a normalized host name or address (as stored in a proposal). */
export function validateEgressHost(host: string): string | null {
  const normalized = normalizeEgressHost(host);
  if (!normalized.ok) return normalized.message;
  return normalized.value === host ? null : `"${host}" is not in normal form`;
}

/** gitleaks' fingerprint of a finding in a commit: "<commit>:<file>:<rule id>:<line>". */
const FINGERPRINT = /^[0-9a-f]{7,64}:.+:[A-Za-z0-9_.-]+:[0-9]+$/;

/** Null when `fingerprint` is one line as gitleaks prints it. */
export function validateFingerprint(fingerprint: string): string | null {
  if (fingerprint.length > 4096) return "fingerprint is too long";
  // One allowlist line per approval: a newline would smuggle in a second one.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f]/.test(fingerprint)) {
    return "fingerprint must be one line without control characters";
  }
  if (!FINGERPRINT.test(fingerprint)) {
    return `"${fingerprint}" is not a gitleaks fingerprint (<commit>:<file>:<rule id>:<line>, as the refused push printed it)`;
  }
  return null;
}

/** The egress port: null for the default web ports. */
export function validatePort(port: number | undefined | null): Normalized<number | null> {
  if (port === undefined || port === null) return { ok: true, value: null };
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, message: `port ${port} is not between 1 and 65535` };
  }
  return { ok: true, value: port };
}
