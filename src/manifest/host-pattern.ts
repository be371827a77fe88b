// Parses the entries of a bottle's egress allowlist: hostnames, "*.domain" wildcards and
// (in their own list, so that one is never allowed by accident) IP addresses, each with
// an optional port. Rejects patterns that would open more than a person means to.
import { isIP } from "node:net";
import { type ParseResult, parsed, refused } from "./parse-result.js";

export type AllowRuleKind = "host" | "wildcard" | "ip";

export interface ParsedAllowRule {
  kind: AllowRuleKind;
  /** The entry as written, lowercased: "api.example.test", "*.example.test:8443", "[::1]:443". */
  pattern: string;
  /** The host, the domain under a wildcard ("example.test"), or the address. */
  host: string;
  /** Null when no port is given. */
  port: number | null;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const EXAMPLE = "api.example.test or *.example.test";

/** An entry of `egress.allow`: a hostname or a "*.domain" wildcard, with an optional port. */
export function parseAllowHost(text: string): ParseResult<ParsedAllowRule> {
  const shape = checkShape(text);
  if (shape !== undefined) return refused(shape);
  const split = splitPort(text.toLowerCase());
  if (!split.ok) return split;
  const { host, port } = split.value;
  if (isIpLiteral(host)) {
    return refused(
      `"${text}" is an IP address; list IP addresses under egress.allow_ips so that each one is allowed on purpose`,
    );
  }
  if (host === "*") {
    return refused(`"*" would allow every host; list the hosts the agent needs, e.g. ${EXAMPLE}`);
  }
  if (host.startsWith("*.")) {
    const domain = host.slice(2);
    if (domain.includes("*")) return refused(wildcardPlacement(text));
    if (!isHostname(domain)) return refused(`"${text}": "${domain}" is not a valid domain name`);
    if (domain.split(".").length < 2) {
      return refused(
        `"${text}" is too broad: a wildcard needs at least two labels after "*.", e.g. *.example.com`,
      );
    }
    return parsed({ kind: "wildcard", pattern: withPort(host, port), host: domain, port });
  }
  if (host.includes("*")) return refused(wildcardPlacement(text));
  if (!isHostname(host)) return refused(`"${text}" is not a valid hostname, e.g. ${EXAMPLE}`);
  return parsed({ kind: "host", pattern: withPort(host, port), host, port });
}

/** An entry of `egress.allow_ips`: "203.0.113.7", "203.0.113.7:443", "2001:db8::1", "[2001:db8::1]:443". */
export function parseAllowIp(text: string): ParseResult<ParsedAllowRule> {
  const shape = checkShape(text);
  if (shape !== undefined) return refused(shape);
  const lower = text.toLowerCase();
  let host = lower;
  let port: number | null = null;
  if (isIP(lower) === 0) {
    const split = splitPort(lower);
    if (!split.ok) return split;
    host = split.value.host.replace(/^\[(.*)\]$/, "$1");
    port = split.value.port;
  }
  if (isIP(host) === 0) {
    return refused(
      `"${text}" is not an IP address; hostnames and wildcards belong in egress.allow, addresses here look like 203.0.113.7 or [2001:db8::1]:443`,
    );
  }
  if (/^0+(\.0+){3}$/.test(host) || /^[0:]+$/.test(host)) {
    return refused(`"${text}" is the unspecified address; give the address of the server`);
  }
  const bracketed = isIP(host) === 6 && port !== null ? `[${host}]` : host;
  return parsed({ kind: "ip", pattern: withPort(bracketed, port), host, port });
}

/** A route's host: one hostname, without wildcard, port or address. */
export function parseRouteHost(text: string): ParseResult<string> {
  const rule = parseAllowHost(text);
  if (!rule.ok) return rule;
  if (rule.value.kind !== "host" || rule.value.port !== null) {
    return refused(
      `"${text}": a route names one hostname, without wildcard or port, e.g. api.example.test`,
    );
  }
  return parsed(rule.value.host);
}

export function isHostname(host: string): boolean {
  return host.length <= 253 && host.split(".").every((label) => LABEL.test(label));
}

function checkShape(text: string): string | undefined {
  if (text === "") return "must not be empty";
  if (/\s/.test(text)) return `"${text}" contains a space; write one host per entry`;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  if (scheme !== null) {
    const rest = text.slice(scheme[0].length).split("/")[0] ?? "";
    return `"${text}" is a URL; write the host only, without "${scheme[0]}": ${rest}`;
  }
  if (text.includes("/")) {
    return `"${text}" has a path; write the host only: ${text.split("/")[0]}`;
  }
  return undefined;
}

function splitPort(text: string): ParseResult<{ host: string; port: number | null }> {
  const match = /^(\[[^\]]*\]|[^:]*):([^:]*)$/.exec(text);
  if (match === null) {
    if (isIpLiteral(text)) return parsed({ host: text, port: null });
    return text.includes(":") ? refused(badPort(text)) : parsed({ host: text, port: null });
  }
  const [, host = "", portText = ""] = match;
  const port = Number(portText);
  if (!/^[0-9]{1,5}$/.test(portText) || port < 1 || port > 65535) return refused(badPort(text));
  return parsed({ host, port });
}

function isIpLiteral(host: string): boolean {
  return isIP(host.replace(/^\[(.*)\]$/, "$1")) !== 0;
}

function withPort(host: string, port: number | null): string {
  return port === null ? host : `${host}:${port}`;
}

function badPort(text: string): string {
  return `"${text}" has a bad port; a port is a number from 1 to 65535, as in api.example.test:8443`;
}

function wildcardPlacement(text: string): string {
  return `"${text}": "*" may only stand for the whole first label, as in *.example.com`;
}
