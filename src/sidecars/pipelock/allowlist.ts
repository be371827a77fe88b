// The egress allowlist: which host:port pairs a bottle may reach. Patterns are "host",
// "*.domain" (subdomains only, never the domain itself) and IP addresses, each with an
// optional ":port"; without one, 443 and 80. IP addresses and numeric-looking names are
// reachable only when listed as such: a wildcard never opens an address.
import { isIP } from "node:net";

export type AllowRuleKind = "host" | "wildcard" | "ip";

export interface AllowRule {
  kind: AllowRuleKind;
  /** As written, lowercased. */
  pattern: string;
  /** The host, the domain under the wildcard, or the canonical address. */
  host: string;
  port: number | null;
}

export const DEFAULT_PORTS: readonly number[] = [443, 80];

/** A target host as pipelock matches it. */
export interface NormalizedHost {
  /** Lowercased, without a trailing dot or IPv6 brackets; addresses in canonical form. */
  host: string;
  kind: "name" | "ip";
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** undefined when `raw` is neither a hostname nor an IP address. */
export function normalizeHost(raw: string): NormalizedHost | undefined {
  const unbracketed = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  const lower = unbracketed.toLowerCase();
  // A zone id ("fe80::1%eth0") names an interface of this machine, and URL cannot read it.
  if (lower.includes("%")) return undefined;
  if (isIP(lower) !== 0) return { host: canonicalIp(lower), kind: "ip" };
  if (unbracketed !== raw) return undefined;
  const name = lower.endsWith(".") ? lower.slice(0, -1) : lower;
  if (name.length === 0 || name.length > 253) return undefined;
  const labels = name.split(".");
  if (!labels.every((l) => LABEL.test(l))) return undefined;
  // "127.1", "2130706433", "0x7f.1": resolvers read these as addresses.
  if (/^(?:0x[0-9a-f]*|[0-9]+)$/.test(labels[labels.length - 1] ?? "")) {
    return { host: name, kind: "ip" };
  }
  return { host: name, kind: "name" };
}

function canonicalIp(ip: string): string {
  return isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

export type ParsedPattern = { ok: true; rule: AllowRule } | { ok: false; message: string };

export function parseAllowPattern(text: string): ParsedPattern {
  const lower = text.trim().toLowerCase();
  let hostPart = lower;
  let port: number | null = null;
  const withPort = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(lower);
  if (withPort !== null) {
    hostPart = withPort[1] as string;
    port = Number(withPort[2]);
    if (port < 1 || port > 65535) return { ok: false, message: `"${text}": bad port` };
  }
  if (hostPart === "*" || hostPart === "") {
    return { ok: false, message: `"${text}" would allow every host; list hosts one by one` };
  }
  const wildcard = hostPart.startsWith("*.");
  const target = normalizeHost(wildcard ? hostPart.slice(2) : hostPart);
  if (target === undefined || (wildcard && target.kind === "ip")) {
    return {
      ok: false,
      message: `"${text}" is not a host, *.domain or IP address (with an optional :port)`,
    };
  }
  const kind: AllowRuleKind = wildcard ? "wildcard" : target.kind === "ip" ? "ip" : "host";
  return { ok: true, rule: { kind, pattern: lower, host: target.host, port } };
}

export interface Allowlist {
  readonly rules: readonly AllowRule[];
  /** The rule that allows host:port, or undefined. */
  match(host: NormalizedHost, port: number): AllowRule | undefined;
}

/** @throws Error on a pattern parseAllowPattern rejects (the config schema checks them first) */
export function compileAllowlist(patterns: readonly string[]): Allowlist {
  const rules = patterns.map((p) => {
    const parsed = parseAllowPattern(p);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.rule;
  });
  return {
    rules,
    match(target, port) {
      return rules.find((rule) => {
        const portOk = rule.port === null ? DEFAULT_PORTS.includes(port) : rule.port === port;
        if (!portOk) return false;
        if (target.kind === "ip") return rule.kind !== "wildcard" && rule.host === target.host;
        if (rule.kind === "host") return rule.host === target.host;
        return rule.kind === "wildcard" && target.host.endsWith(`.${rule.host}`);
      });
    },
  };
}
